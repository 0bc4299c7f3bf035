// Package trivyfmt writes bulwark's reports in the shapes Trivy users'
// tooling reads: the GitHub dependency snapshot of `trivy -f github`, and
// the data `trivy -f template` hands a template (a list of results, each
// with its Vulnerabilities, Misconfigurations, Secrets and Packages), with
// the template functions those templates call.
package trivyfmt

import (
	"strings"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/inventory"
)

// Result is one target of a report, as Trivy's templates range over it:
// the OS packages of an image, one language package file, or the image's
// configuration and files.
type Result struct {
	Target            string
	Class             string
	Type              string
	Vulnerabilities   []DetectedVulnerability
	Misconfigurations []Misconfiguration
	Secrets           []Secret
	Packages          []Package
}

// Layer names the image layer a finding or package comes from.
type Layer struct {
	Digest    string
	DiffID    string
	CreatedBy string
}

// Vulnerability is the advisory's side of a vulnerability finding; it is
// embedded in DetectedVulnerability, so templates may write .Severity or
// .Vulnerability.Severity.
type Vulnerability struct {
	Title          string
	Description    string
	Severity       string
	References     []string
	CweIDs         []string
	VendorSeverity map[string]int
}

// DetectedVulnerability is one vulnerability in one installed package.
type DetectedVulnerability struct {
	VulnerabilityID  string
	VendorIDs        []string
	PkgID            string
	PkgName          string
	PkgPath          string
	PkgIdentifier    PkgIdentifier
	InstalledVersion string
	FixedVersion     string
	Status           string
	Layer            Layer
	SeveritySource   string
	PrimaryURL       string
	Vulnerability
}

// PkgIdentifier identifies a package by its package URL.
type PkgIdentifier struct {
	PURL string
}

// Misconfiguration is a lint, host or image-integrity finding.
type Misconfiguration struct {
	Type        string
	ID          string
	AVDID       string
	Title       string
	Description string
	Message     string
	Resolution  string
	Severity    string
	PrimaryURL  string
	References  []string
	Status      string
	Layer       Layer
}

// Secret is a secrets finding; Match is the redacted secret.
type Secret struct {
	RuleID    string
	Category  string
	Severity  string
	Title     string
	StartLine int
	EndLine   int
	Match     string
	Layer     Layer
}

// Package is an installed or locked package.
type Package struct {
	ID         string
	Name       string
	Version    string
	Release    string
	Epoch      int
	Arch       string
	SrcName    string
	SrcVersion string
	Licenses   []string
	Identifier PkgIdentifier
	FilePath   string
	Layer      Layer
}

// Results maps a report (and, when given, the inventory it was matched
// from; either may be nil) onto Trivy's results: OS vulnerabilities and packages under
// "NAME (OS VERSION)", language packages under the file they were found
// in, secrets under their file, and lint, host and image findings as
// misconfigurations of the target.
func Results(r *finding.Report, inv *inventory.SBOM) []Result {
	if r == nil {
		r = &finding.Report{}
	}
	target := r.Target
	if target.Name == "" && inv != nil {
		target = inv.Target
	}
	b := builder{index: map[string]int{}}
	osTarget := target.Name
	osType := ""
	if target.OS != nil {
		osTarget = strings.TrimSpace(target.Name + " (" + target.OS.ID + " " + target.OS.Version + ")")
		osType = target.OS.ID
	}
	if inv != nil {
		for _, p := range inv.Packages {
			path, layer := "", Layer{}
			if len(p.Locations) > 0 {
				path, layer = p.Locations[0].Path, layerOf(p.Locations[0].Layer)
			}
			pkg := Package{ID: p.Name + "@" + p.Version, Name: p.Name, Version: p.Version, Release: p.Release, Epoch: p.Epoch, Arch: p.Arch,
				SrcName: p.SourceName, SrcVersion: p.SourceVersion, Licenses: p.Licenses, Identifier: PkgIdentifier{p.PURL}, FilePath: path, Layer: layer}
			res := b.result(path, "lang-pkgs", langType(p.Ecosystem))
			if p.Kind == inventory.KindOS {
				pkg.FilePath = ""
				res = b.result(osTarget, "os-pkgs", osType)
			}
			res.Packages = append(res.Packages, pkg)
		}
	}
	for _, f := range r.Findings {
		if f.Suppressed != nil {
			continue
		}
		layer := layerOf(f.Location.Layer)
		switch {
		case f.Gate == finding.GateVuln && f.Vuln != nil:
			v := f.Vuln
			res := b.result(f.Location.Path, "lang-pkgs", langType(v.Ecosystem))
			if isOSPURL(v.PURL) {
				res = b.result(osTarget, "os-pkgs", osType)
			}
			d := DetectedVulnerability{VulnerabilityID: f.ID, VendorIDs: v.Aliases, PkgID: v.Package + "@" + v.InstalledVersion,
				PkgName: v.Package, PkgIdentifier: PkgIdentifier{v.PURL}, InstalledVersion: v.InstalledVersion, FixedVersion: v.FixedVersion,
				Status: v.Status, Layer: layer, SeveritySource: v.SeveritySource,
				Vulnerability: Vulnerability{Title: f.Title, Description: firstNonEmpty(f.Message, f.Title), Severity: f.Severity.String(), References: f.References}}
			if !isOSPURL(v.PURL) {
				d.PkgPath = f.Location.Path
			}
			if len(f.References) > 0 {
				d.PrimaryURL = f.References[0]
			}
			res.Vulnerabilities = append(res.Vulnerabilities, d)
		case f.Gate == finding.GateSecrets:
			res := b.result(f.Location.Path, "secret", "")
			s := Secret{RuleID: f.ID, Category: f.ID, Severity: f.Severity.String(), Title: f.Title,
				StartLine: f.Location.Line, EndLine: max(f.Location.Line, f.Location.EndLine), Layer: layer}
			if f.Secret != nil {
				s.Match = f.Secret.Redacted
			}
			res.Secrets = append(res.Secrets, s)
		default:
			res := b.result(target.Name, "config", string(f.Gate))
			m := Misconfiguration{Type: "bulwark " + string(f.Gate), ID: f.ID, AVDID: f.ID, Title: f.Title,
				Description: firstNonEmpty(f.Message, f.Title), Message: firstNonEmpty(f.Message, f.Title), Resolution: f.Fix,
				Severity: f.Severity.String(), References: f.References, Status: "FAIL", Layer: layer}
			if len(f.References) > 0 {
				m.PrimaryURL = f.References[0]
			}
			res.Misconfigurations = append(res.Misconfigurations, m)
		}
	}
	return b.results
}

type builder struct {
	results []Result
	index   map[string]int
}

// result returns the result of a target and class, added on first use.
func (b *builder) result(target, class, typ string) *Result {
	key := class + "\x00" + target
	i, ok := b.index[key]
	if !ok {
		i = len(b.results)
		b.index[key] = i
		b.results = append(b.results, Result{Target: target, Class: class, Type: typ})
	}
	return &b.results[i]
}

func layerOf(l *finding.LayerRef) Layer {
	if l == nil {
		return Layer{}
	}
	return Layer{Digest: l.Digest, DiffID: l.DiffID, CreatedBy: l.CreatedBy}
}

// isOSPURL reports whether a package URL names an OS package.
func isOSPURL(purl string) bool {
	for _, p := range []string{"pkg:deb/", "pkg:apk/", "pkg:rpm/"} {
		if strings.HasPrefix(purl, p) {
			return true
		}
	}
	return false
}

// langTypes are Trivy's type names of language package files.
var langTypes = map[string]string{
	inventory.Go: "gobinary", inventory.NPM: "node-pkg", inventory.PyPI: "python-pkg", inventory.Maven: "jar",
	inventory.RubyGems: "gemspec", inventory.CratesIO: "rustbinary", inventory.Packagist: "composer", inventory.NuGet: "dotnet-core",
}

func langType(eco string) string {
	if t, ok := langTypes[eco]; ok {
		return t
	}
	return strings.ToLower(eco)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
