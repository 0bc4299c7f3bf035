// Package nist maps a pipeline run to the image and registry risks of NIST
// SP 800-190, Application Container Security Guide (sections 3.1 and 3.2):
// for each risk, which stage covered it, with what result, and what the
// pipeline does not cover.
package nist

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/pipeline"
)

// Status of a risk after a run.
const (
	// Mitigated: a stage covered the risk and passed.
	Mitigated = "mitigated"
	// Found: a stage covered the risk and found a problem.
	Found = "found"
	// Partial: part of the risk is covered, or the covering stage did not run.
	Partial = "partial"
	// NotCovered: nothing in the pipeline addresses the risk.
	NotCovered = "not covered"
)

// Risk is one risk of SP 800-190 and what the run did about it.
type Risk struct {
	// Section is the section of SP 800-190 ("3.1.1").
	Section string `json:"section"`
	// Name is the risk's title in SP 800-190.
	Name string `json:"name"`
	// Status is one of the Status constants.
	Status string `json:"status"`
	// Stages are the pipeline stages that cover it.
	Stages []string `json:"stages,omitempty"`
	// Result says what those stages found.
	Result string `json:"result"`
	// NotCovered says what this pipeline does not do about the risk.
	NotCovered string `json:"notCovered,omitempty"`
}

// Assessment is the mapping of one run.
type Assessment struct {
	Guide    string `json:"guide"`
	Pipeline string `json:"pipeline,omitempty"`
	Image    string `json:"image,omitempty"`
	Digest   string `json:"digest,omitempty"`
	Risks    []Risk `json:"risks"`
}

// Load reads report.json and, next to it, run.json (when present; a
// report from `bulwark scan` or `lint` alone has none).
func Load(reportPath string) (*finding.Report, *pipeline.Run, error) {
	b, err := os.ReadFile(reportPath)
	if err != nil {
		return nil, nil, fmt.Errorf("report %s: %w (run 'bulwark pipeline run' first, or give --from)", reportPath, err)
	}
	var r finding.Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, nil, fmt.Errorf("report %s: not a bulwark JSON report: %w", reportPath, err)
	}
	rb, err := os.ReadFile(filepath.Join(filepath.Dir(reportPath), pipeline.RunJSON))
	if errors.Is(err, fs.ErrNotExist) {
		return &r, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	var run pipeline.Run
	if err := json.Unmarshal(rb, &run); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", pipeline.RunJSON, err)
	}
	return &r, &run, nil
}

// Assess maps a report (and the run that made it, if known) to the risks.
func Assess(r *finding.Report, run *pipeline.Run, now time.Time) *Assessment {
	if run == nil {
		run = &pipeline.Run{}
	}
	a := &Assessment{Guide: "NIST SP 800-190 (Application Container Security Guide), sections 3.1 and 3.2", Pipeline: run.Pipeline, Image: r.Target.Name, Digest: firstNonEmpty(r.Target.Digest, run.Digest)}
	ran := func(g finding.Gate) bool {
		for _, x := range r.Gates {
			if x == g {
				return true
			}
		}
		return false
	}
	gate := func(g finding.Gate) (active, failing int, passed bool, known bool) {
		for _, f := range r.Active() {
			if f.Gate == g {
				active++
			}
		}
		passed = true
		for _, gr := range run.Gates {
			if gr.Gate == g {
				known = true
				failing += gr.Failing
				passed = passed && gr.Passed
			}
		}
		return
	}
	gateRisk := func(section, name string, g finding.Gate, stages []string, notCovered string) Risk {
		risk := Risk{Section: section, Name: name, Stages: stages, NotCovered: notCovered}
		if !ran(g) {
			risk.Status, risk.Stages = NotCovered, nil
			risk.Result = fmt.Sprintf("the %s gate did not run in this pipeline; add it to the scan stage", g)
			return risk
		}
		active, failing, passed, known := gate(g)
		switch {
		case known && !passed:
			risk.Status = Found
			risk.Result = fmt.Sprintf("%d active finding(s), %d at or above the gate's threshold: the gate failed and the image was stopped", active, failing)
		case active > 0:
			risk.Status = Mitigated
			risk.Result = fmt.Sprintf("gate passed; %d finding(s) below the threshold remain (see report.json)", active)
		default:
			risk.Status = Mitigated
			risk.Result = "gate passed with no active finding"
		}
		return risk
	}

	vulnStages := []string{"scan"}
	v := gateRisk("3.1.1", "Image vulnerabilities", finding.GateVuln, vulnStages,
		"vulnerabilities disclosed after this scan: rescan running images on a schedule (bulwark scan) and keep the database current (bulwark db update)")
	if !run.DBBuilt.IsZero() {
		v.Result += fmt.Sprintf("; database built %s ago", humanAge(now.Sub(run.DBBuilt)))
	}
	a.Risks = append(a.Risks, v)
	a.Risks = append(a.Risks, gateRisk("3.1.2", "Image configuration defects", finding.GateLint, []string{"scan"},
		"runtime configuration (privileged containers, capabilities, mounts) is set by the orchestrator, not the image"))
	a.Risks = append(a.Risks, Risk{Section: "3.1.3", Name: "Embedded malware", Status: NotCovered,
		Result:     "bulwark has no malware signatures or behavioural analysis",
		NotCovered: "run an anti-malware scanner over the image filesystem (for example ClamAV on an exported rootfs) as an extra CI step"})
	sec := gateRisk("3.1.4", "Embedded clear text secrets", finding.GateSecrets, nil,
		"secrets injected at run time are outside the image; keep them in a secrets manager")
	if st := run.Stage(pipeline.StageSecrets); st != nil {
		sec.Stages = append(sec.Stages, "secrets (source tree)")
	}
	if st := run.Stage(pipeline.StageScan); st != nil && ran(finding.GateSecrets) {
		sec.Stages = append(sec.Stages, "scan (image layers, deleted files included)")
	}
	a.Risks = append(a.Risks, sec)

	trust := Risk{Section: "3.1.5", Name: "Use of untrusted images", Stages: []string{}}
	switch {
	case run.Verified:
		trust.Status = Partial
		trust.Stages = []string{"sign", "verify"}
		trust.Result = fmt.Sprintf("the image was signed (%s) and its signature verified (%s) before deploy", run.SignKey, run.VerifyKey)
		trust.NotCovered = "the base image"
		if run.BaseImage != "" {
			trust.NotCovered += " (" + run.BaseImage + ")"
		}
		trust.NotCovered += " was not verified; pin it by digest and verify its signature; enforce verification at admission in the cluster"
	case run.Stage(pipeline.StageVerify) != nil && run.Stage(pipeline.StageVerify).Verdict == pipeline.Failed:
		trust.Status, trust.Stages = Found, []string{"verify"}
		trust.Result = "the signature did not verify with " + run.VerifyKey + "; deploy did not run"
	case run.Signed:
		trust.Status, trust.Stages = Partial, []string{"sign"}
		trust.Result = "the image was signed but the pipeline does not verify it"
		trust.NotCovered = "add a verify stage (or admission control) so only signed images run"
	default:
		trust.Status = NotCovered
		trust.Result = "the image was not signed or verified in this run"
		trust.NotCovered = "add sign and verify stages"
	}
	a.Risks = append(a.Risks, trust)

	conn := Risk{Section: "3.2.1", Name: "Insecure connections to registries"}
	switch {
	case !run.Pushed && run.Stage(pipeline.StagePush) == nil:
		conn.Status, conn.Result = NotCovered, "the pipeline does not push"
	case !run.Pushed:
		conn.Status, conn.Stages = Partial, []string{"push"}
		conn.Result = "the push stage did not run in this run, so no registry connection was made"
	case run.RegistryInsecure:
		conn.Status, conn.Stages = Found, []string{"push", "sign", "verify"}
		conn.Result = "registry.insecure is set: plain HTTP or unverified TLS was allowed"
		conn.NotCovered = "remove registry.insecure; give the registry's CA with registry.cacert"
	case isLoopback(run.Repository):
		conn.Status, conn.Stages = Partial, []string{"push", "sign", "verify"}
		conn.Result = "the registry is on the loopback interface, where plain HTTP is used"
		conn.NotCovered = "a production registry must serve TLS"
	default:
		conn.Status, conn.Stages = Mitigated, []string{"push", "sign", "verify"}
		conn.Result = "registry traffic used TLS with certificate verification"
	}
	a.Risks = append(a.Risks, conn)

	stale := Risk{Section: "3.2.2", Name: "Stale images in registries", Status: Partial,
		NotCovered: "old images are not removed from the registry; set a retention policy there, and deploy by digest only"}
	switch {
	case run.Pushed && run.Immutable:
		stale.Stages = []string{"push"}
		stale.Result = fmt.Sprintf("pushed under unique, immutable tags (%s); deploy used the digest", strings.Join(run.Tags, ", "))
	case run.Pushed:
		stale.Stages = []string{"push"}
		stale.Result = "pushed; tags are mutable (set push.immutable so a tag never moves)"
	default:
		stale.Status, stale.Result = NotCovered, "nothing was pushed"
	}
	if !run.ImageCreated.IsZero() && run.ImageCreated.Unix() > 0 {
		stale.Result += fmt.Sprintf("; image created %s ago", humanAge(now.Sub(run.ImageCreated)))
	}
	a.Risks = append(a.Risks, stale)

	auth := Risk{Section: "3.2.3", Name: "Insufficient authentication and authorization restrictions", Status: NotCovered,
		Result:     "registry access control is configured in the registry, not in the pipeline",
		NotCovered: "require authentication for push and pull, give CI push rights to its repository only, and audit access in the registry"}
	if run.Verified {
		auth.Status, auth.Stages = Partial, []string{"verify"}
		auth.Result = "an image changed in the registry by someone without the signing key would fail verify; access control itself is the registry's"
	}
	a.Risks = append(a.Risks, auth)
	return a
}

func isLoopback(repo string) bool {
	return strings.HasPrefix(repo, "127.") || strings.HasPrefix(repo, "localhost:") || strings.HasPrefix(repo, "localhost/") || strings.HasPrefix(repo, "[::1]")
}

func humanAge(d time.Duration) string {
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// JSON writes the assessment as indented JSON.
func JSON(w io.Writer, a *Assessment) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(a)
}

// Table writes the assessment for a person: one line a risk, then what
// the pipeline does not cover.
func Table(w io.Writer, a *Assessment) error {
	fmt.Fprintf(w, "%s\n", a.Guide)
	if a.Image != "" {
		fmt.Fprintf(w, "image: %s %s\n", a.Image, a.Digest)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SECTION\tRISK\tSTATUS\tSTAGES\tRESULT")
	for _, r := range a.Risks {
		st := strings.Join(r.Stages, ", ")
		if st == "" {
			st = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Section, r.Name, strings.ToUpper(r.Status), st, r.Result)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nNot covered by this pipeline:")
	for _, r := range a.Risks {
		if r.NotCovered != "" {
			fmt.Fprintf(w, "  %s %s: %s\n", r.Section, r.Name, r.NotCovered)
		}
	}
	return nil
}
