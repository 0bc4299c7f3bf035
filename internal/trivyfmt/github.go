package trivyfmt

import (
	"encoding/json"
	"io"
	"time"

	"github.com/bulwark-sec/bulwark/internal/inventory"
)

// Snapshot is a GitHub dependency snapshot, the body of the dependency
// submission API (POST /repos/OWNER/REPO/dependency-graph/snapshots).
type Snapshot struct {
	Version   int                 `json:"version"`
	Detector  Detector            `json:"detector"`
	Metadata  map[string]string   `json:"metadata,omitempty"`
	Ref       string              `json:"ref,omitempty"`
	Sha       string              `json:"sha,omitempty"`
	Job       *Job                `json:"job,omitempty"`
	Scanned   string              `json:"scanned,omitempty"`
	Manifests map[string]Manifest `json:"manifests,omitempty"`
}

// Detector names the tool that made the snapshot.
type Detector struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	URL     string `json:"url"`
}

// Job identifies the CI job: correlator is GITHUB_WORKFLOW_GITHUB_JOB, id
// is GITHUB_RUN_ID.
type Job struct {
	Correlator string `json:"correlator"`
	ID         string `json:"id"`
}

// Manifest is one target's packages.
type Manifest struct {
	Name     string                     `json:"name,omitempty"`
	File     *ManifestFile              `json:"file,omitempty"`
	Resolved map[string]ResolvedPackage `json:"resolved,omitempty"`
}

// ManifestFile is where a manifest's packages were read.
type ManifestFile struct {
	SourceLocation string `json:"source_location,omitempty"`
}

// ResolvedPackage is one package: its package URL, "direct" (bulwark does
// not tell direct from transitive dependencies, so every package is
// direct) and "runtime" or "development".
type ResolvedPackage struct {
	PackageURL   string   `json:"package_url"`
	Relationship string   `json:"relationship"`
	Scope        string   `json:"scope"`
	Dependencies []string `json:"dependencies,omitempty"`
}

// detectorURL is where the detector is documented.
const detectorURL = "https://github.com/bulwark-sec/bulwark"

// GitHub writes the inventory as a GitHub dependency snapshot, as
// `trivy -f github` does: one manifest a target of Results (the OS
// packages, each language package file), packages keyed by name (by
// name@version where one name has several versions), the ref, sha and job
// from the GITHUB_* variables env returns.
func GitHub(w io.Writer, s *inventory.SBOM, env func(string) string, now time.Time) error {
	snap := Snapshot{
		Detector:  Detector{Name: s.Tool, Version: s.ToolVersion, URL: detectorURL},
		Ref:       env("GITHUB_REF"),
		Sha:       env("GITHUB_SHA"),
		Job:       &Job{Correlator: env("GITHUB_WORKFLOW") + "_" + env("GITHUB_JOB"), ID: env("GITHUB_RUN_ID")},
		Scanned:   now.UTC().Format(time.RFC3339),
		Manifests: map[string]Manifest{},
	}
	if s.Target.Digest != "" {
		snap.Metadata = map[string]string{"bulwark:digest": s.Target.Digest}
	}
	dev := map[string]bool{}
	for _, p := range s.Packages {
		dev[p.PURL] = p.Dev
	}
	for _, res := range Results(nil, s) {
		m := Manifest{Name: res.Type, Resolved: map[string]ResolvedPackage{}}
		if res.Class == "lang-pkgs" {
			m.File = &ManifestFile{SourceLocation: res.Target}
		}
		versions := map[string]int{}
		for _, p := range res.Packages {
			versions[p.Name]++
		}
		for _, p := range res.Packages {
			key := p.Name
			if versions[p.Name] > 1 {
				key += "@" + p.Version
			}
			scope := "runtime"
			if dev[p.Identifier.PURL] {
				scope = "development"
			}
			m.Resolved[key] = ResolvedPackage{PackageURL: p.Identifier.PURL, Relationship: "direct", Scope: scope}
		}
		snap.Manifests[res.Target] = m
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(&snap)
}
