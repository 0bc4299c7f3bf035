// Package release writes the SLSA v1 provenance predicate of a bulwark
// release build, which 'bulwark attest-blob --type slsaprovenance1' signs
// for each release artifact.
package release

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// BuildType is the SLSA build type of bulwark's release workflow: the
// external parameters are the workflow, its ref and the build settings.
const BuildType = "https://github.com/bulwark-sec/bulwark/blob/main/docs/release.md#provenance-v1"

// Options says what the provenance records. Empty fields are taken from
// the GitHub Actions environment (GITHUB_*) by FromEnv.
type Options struct {
	// Repository is the source repository URL (https://github.com/OWNER/NAME).
	Repository string
	// Commit is the git commit that was built.
	Commit string
	// Ref is the git ref that was built (refs/tags/v1.2.3).
	Ref string
	// Workflow is the workflow file path in the repository.
	Workflow string
	// BuilderID identifies the build platform (the workflow at its ref on
	// GitHub Actions).
	BuilderID string
	// InvocationID identifies this run (the Actions run URL).
	InvocationID string
	// Params are the build settings (toolchain, ldflags, targets, ...).
	Params map[string]string
	// StartedOn and FinishedOn bound the build (zero: omitted).
	StartedOn, FinishedOn time.Time
}

// FromEnv fills the empty fields of o from GitHub Actions' variables.
func FromEnv(o Options, getenv func(string) string) Options {
	server := getenv("GITHUB_SERVER_URL")
	if server == "" {
		server = "https://github.com"
	}
	repo := getenv("GITHUB_REPOSITORY")
	set := func(f *string, v string) {
		if *f == "" {
			*f = v
		}
	}
	if repo != "" {
		set(&o.Repository, server+"/"+repo)
	}
	set(&o.Commit, getenv("GITHUB_SHA"))
	set(&o.Ref, getenv("GITHUB_REF"))
	// GITHUB_WORKFLOW_REF is OWNER/REPO/PATH@REF.
	if wr := getenv("GITHUB_WORKFLOW_REF"); wr != "" {
		set(&o.BuilderID, server+"/"+wr)
		if p, _, ok := strings.Cut(strings.TrimPrefix(wr, repo+"/"), "@"); ok {
			set(&o.Workflow, p)
		}
	}
	if id := getenv("GITHUB_RUN_ID"); id != "" && repo != "" {
		inv := server + "/" + repo + "/actions/runs/" + id
		if a := getenv("GITHUB_RUN_ATTEMPT"); a != "" {
			inv += "/attempts/" + a
		}
		set(&o.InvocationID, inv)
	}
	return o
}

type resourceDescriptor struct {
	URI    string            `json:"uri"`
	Digest map[string]string `json:"digest,omitempty"`
}

type predicate struct {
	BuildDefinition struct {
		BuildType            string               `json:"buildType"`
		ExternalParameters   map[string]any       `json:"externalParameters"`
		ResolvedDependencies []resourceDescriptor `json:"resolvedDependencies"`
	} `json:"buildDefinition"`
	RunDetails struct {
		Builder struct {
			ID string `json:"id"`
		} `json:"builder"`
		Metadata *metadata `json:"metadata,omitempty"`
	} `json:"runDetails"`
}

type metadata struct {
	InvocationID string `json:"invocationId,omitempty"`
	StartedOn    string `json:"startedOn,omitempty"`
	FinishedOn   string `json:"finishedOn,omitempty"`
}

// Provenance returns the SLSA v1 provenance predicate (JSON) of a build.
// The repository, commit and builder are required.
func Provenance(o Options) ([]byte, error) {
	var missing []string
	for _, f := range []struct{ v, name string }{{o.Repository, "repository (--repository or GITHUB_REPOSITORY)"}, {o.Commit, "commit (--commit or GITHUB_SHA)"}, {o.BuilderID, "builder ID (--builder-id or GITHUB_WORKFLOW_REF)"}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, errors.New("provenance needs the " + strings.Join(missing, ", the "))
	}
	if len(o.Commit) != 40 || strings.Trim(strings.ToLower(o.Commit), "0123456789abcdef") != "" {
		return nil, fmt.Errorf("commit %q is not a full git SHA-1 (40 hex digits)", o.Commit)
	}
	var p predicate
	p.BuildDefinition.BuildType = BuildType
	ext := map[string]any{"repository": o.Repository}
	if o.Ref != "" {
		ext["ref"] = o.Ref
	}
	if o.Workflow != "" {
		ext["workflow"] = o.Workflow
	}
	if len(o.Params) > 0 {
		ext["build"] = o.Params
	}
	p.BuildDefinition.ExternalParameters = ext
	src := "git+" + o.Repository
	if o.Ref != "" {
		src += "@" + o.Ref
	}
	p.BuildDefinition.ResolvedDependencies = []resourceDescriptor{{URI: src, Digest: map[string]string{"gitCommit": strings.ToLower(o.Commit)}}}
	p.RunDetails.Builder.ID = o.BuilderID
	m := metadata{InvocationID: o.InvocationID}
	if !o.StartedOn.IsZero() {
		m.StartedOn = o.StartedOn.UTC().Format(time.RFC3339)
	}
	if !o.FinishedOn.IsZero() {
		m.FinishedOn = o.FinishedOn.UTC().Format(time.RFC3339)
	}
	if m != (metadata{}) {
		p.RunDetails.Metadata = &m
	}
	return json.MarshalIndent(p, "", "  ")
}
