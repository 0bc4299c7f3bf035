package pipeline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/htmlreport"
	"github.com/bulwark-sec/bulwark/internal/inventory"
	"github.com/bulwark-sec/bulwark/internal/inventory/sbom"
	"github.com/bulwark-sec/bulwark/internal/report"
)

// Artifact file names.
const (
	ReportJSON  = "report.json"
	ReportSARIF = "report.sarif"
	ReportHTML  = "report.html"
	JUnitXML    = "junit.xml"
	SBOMFile    = "sbom.cdx.json"
	DigestFile  = "digest"
	RunJSON     = "run.json"
)

// PrintSummary writes the one summary table of a run.
func PrintSummary(w io.Writer, run *Run) {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tVERDICT\tTIME\tDETAILS")
	for _, s := range run.Stages {
		d := s.Summary
		if s.Error != "" {
			d = s.Error
		}
		if len(d) > 110 {
			d = d[:107] + "..."
		}
		t := "-"
		if s.Verdict != NotRun {
			t = s.Duration.Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, strings.ToUpper(s.Verdict), t, d)
	}
	tw.Flush()
	fmt.Fprintf(w, "pipeline %s: %s", run.Pipeline, strings.ToUpper(run.Verdict))
	if run.Digest != "" && run.Pushed {
		fmt.Fprintf(w, " — %s@%s (signed: %v, verified: %v, tagged: %v)", run.Repository, run.Digest, run.Signed, run.Verified, run.Tagged)
	}
	fmt.Fprintln(w)
}

// WriteArtifacts writes report.json, report.sarif, report.html, junit.xml, run.json,
// sbom.cdx.json (when the image was scanned) and digest (only once the
// image is pushed, signed and verified as the file asks, and tagged). Each file is
// written to a temporary name and renamed, so a reader never sees half of
// one.
func WriteArtifacts(dir string, run *Run, r *finding.Report, sb *inventory.SBOM) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	r.Sort()
	if r.Findings == nil {
		r.Findings = []finding.Finding{}
	}
	files := map[string]func(io.Writer) error{
		ReportJSON:  func(w io.Writer) error { return report.JSON(w, r) },
		ReportSARIF: func(w io.Writer) error { return report.SARIF(w, r) },
		ReportHTML:  func(w io.Writer) error { return HTML(w, run, r) },
		JUnitXML:    func(w io.Writer) error { return JUnit(w, run, r) },
		RunJSON: func(w io.Writer) error {
			e := json.NewEncoder(w)
			e.SetIndent("", "  ")
			return e.Encode(run)
		},
	}
	if sb != nil {
		files[SBOMFile] = func(w io.Writer) error { return sbom.CycloneDX(w, sb) }
	} else {
		os.Remove(filepath.Join(dir, SBOMFile))
	}
	if run.Tagged {
		files[DigestFile] = func(w io.Writer) error {
			_, err := fmt.Fprintf(w, "%s@%s\n", run.Repository, run.Digest)
			return err
		}
	} else {
		// A digest file from an earlier run must not vouch for this one.
		os.Remove(filepath.Join(dir, DigestFile))
	}
	for n, fn := range files {
		var buf bytes.Buffer
		if err := fn(&buf); err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
		tmp := filepath.Join(dir, "."+n+".tmp")
		if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, filepath.Join(dir, n)); err != nil {
			return err
		}
	}
	return nil
}

// JUnit writes the run as JUnit XML: one test case per stage, and one per
// gate with a failure for each finding that fails it, so that any CI's
// test view shows the verdict.
func JUnit(w io.Writer, run *Run, r *finding.Report) error {
	stages := report.JUnitSuite{Name: "bulwark pipeline " + run.Pipeline}
	for _, s := range run.Stages {
		c := report.JUnitCase{Name: s.Name, Classname: "bulwark.stage", Time: s.Duration.Seconds()}
		stages.Time += c.Time
		switch s.Verdict {
		case Failed:
			c.Failure = &report.JUnitProblem{Message: s.Summary, Type: "gate", Text: s.Summary}
			stages.Failures++
		case Errored, Interrupted:
			c.Error = &report.JUnitProblem{Message: s.Error, Type: s.Verdict, Text: s.Error}
			stages.Errors++
		case NotRun:
			c.Skipped = &struct{}{}
			stages.Skipped++
		}
		stages.Cases = append(stages.Cases, c)
	}
	stages.Tests = len(stages.Cases)
	doc := report.JUnitSuites{Name: "bulwark", Suites: []report.JUnitSuite{stages}}
	for _, g := range run.Gates {
		doc.Suites = append(doc.Suites, report.GateSuite(fmt.Sprintf("bulwark %s gate (%s)", g.Gate, g.Stage), g.Gate, g.FailOn, g.Failures()))
	}
	return report.WriteJUnit(w, doc)
}

// HTML writes the run as one self-contained page: the stages and the
// verdict, then every finding of every gate.
func HTML(w io.Writer, run *Run, r *finding.Report) error {
	hr := htmlreport.Run{Name: run.Pipeline, Verdict: run.Verdict}
	for _, s := range run.Stages {
		d := s.Summary
		if s.Error != "" {
			d = s.Error
		}
		hr.Stages = append(hr.Stages, htmlreport.Stage{Name: s.Name, Verdict: strings.ToUpper(s.Verdict), Duration: s.Duration.Round(time.Millisecond), Detail: d})
	}
	return htmlreport.Pipeline(w, r, hr)
}

// Plan writes what a run would do, stage by stage, for --dry-run.
func Plan(w io.Writer, f *File, input string) {
	fmt.Fprintf(w, "pipeline %s: valid\n", f.Path)
	n := 0
	line := func(stage, format string, args ...any) {
		n++
		fmt.Fprintf(w, "  %d. %-8s %s\n", n, stage, fmt.Sprintf(format, args...))
	}
	if s := f.Source; s != nil {
		if s.Git != "" {
			line(StageSource, "clone %s at %s", s.Git, firstNonEmpty(s.Revision, "its default branch"))
		} else {
			line(StageSource, "directory %s", firstNonEmpty(s.Dir, "."))
		}
	}
	if s := f.Secrets; s != nil {
		line(StageSecrets, "scan the source tree; %s", describeRule(&s.Gate, finding.GateSecrets))
	}
	switch {
	case input != "":
		line(StageBuild, "use --input %s", input)
	case f.Build != nil && f.Build.Image != "":
		line(StageBuild, "use the prebuilt image %s", f.Build.Image)
	case f.Build != nil:
		line(StageBuild, "build %s with builder %s", firstNonEmpty(f.Build.Dockerfile, "Dockerfile"), firstNonEmpty(f.Build.Builder, "auto"))
	}
	if s := f.Scan; s != nil {
		var parts []string
		for _, g := range s.Gates() {
			parts = append(parts, g.Key+": "+describeRule(g.Config, g.Gate))
		}
		line(StageScan, "%s; SBOM", strings.Join(parts, ", "))
	}
	if p := f.Push; p != nil {
		line(StagePush, "%s by digest, no tag yet", p.Repository)
	}
	if s := f.Sign; s != nil {
		line(StageSign, "sign with %s; attest %s", s.Key, firstNonEmpty(strings.Join(s.Attest, ", "), "sbom, scan"))
	}
	if v := f.Verify; v != nil {
		line(StageVerify, "verify with %s", v.Key)
	}
	if p := f.Push; p != nil {
		tags := p.Tags
		if len(tags) == 0 {
			tags = []string{DefaultTag}
		}
		imm := ""
		if p.Immutable {
			imm = " (immutable: never over an existing tag)"
		}
		line(StageTag, "%s:%s → the pushed digest, once every stage before passed%s", p.Repository, strings.Join(tags, ", "), imm)
	}
	if d := f.Deploy; d != nil {
		line(StageDeploy, "run %q with $BULWARK_IMAGE set to the verified digest", d.Command.String())
	}
	if d := f.Publish; d != nil {
		line(StagePublish, "run %q with $BULWARK_IMAGE_PATH set to the image, once every gate passed", d.Command.String())
	}
}

// describeRule says what fails a configured gate, for the plan.
func describeRule(g *Gate, kind finding.Gate) string {
	rule, err := g.Rule(kind)
	switch {
	case err != nil:
		return err.Error()
	case rule.IsNever():
		return "report only, never fails"
	}
	return "findings " + rule.Describe(kind) + " fail"
}
