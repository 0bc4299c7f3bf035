package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/owenrumney/go-sarif/v2/sarif"

	"github.com/bulwark-sec/bulwark/internal/buildinfo"
	"github.com/bulwark-sec/bulwark/internal/finding"
)

// SARIF writes the report as SARIF 2.1.0 in the shape GitHub code scanning
// accepts: one rule per check with a security-severity, and one result per
// active finding with a physical location and a partial fingerprint.
func SARIF(w io.Writer, r *finding.Report) error {
	doc, err := sarif.New(sarif.Version210, true)
	if err != nil {
		return err
	}
	run := sarif.NewRunWithInformationURI("bulwark", buildinfo.URL)
	run.Tool.Driver.Version = &buildinfo.Version
	seen := map[string]bool{}
	// Suppressed findings are left out: code scanning would raise them as
	// alerts, and the library writes suppression fields the schema rejects.
	for _, f := range r.Active() {
		if !seen[f.ID] {
			seen[f.ID] = true
			help := f.Title
			if f.Fix != "" {
				help += "\n\nFix: " + f.Fix
			}
			rule := run.AddRule(f.ID).
				WithName(ruleName(f.ID)).
				WithShortDescription(sarif.NewMultiformatMessageString(f.Title)).
				WithFullDescription(sarif.NewMultiformatMessageString(f.Title)).
				WithTextHelp(help).
				WithDefaultConfiguration(sarif.NewReportingConfiguration().WithLevel(sarifLevel(f.Severity))).
				WithProperties(sarif.Properties{
					"security-severity": securitySeverity(f.Severity),
					"tags":              []string{"security", string(f.Gate)},
				})
			if len(f.References) > 0 {
				rule.WithHelpURI(f.References[0])
			}
		}
		uri, line := artifact(r.Target, f.Location)
		msg := f.Title
		if f.Message != "" {
			msg += ": " + f.Message
		}
		if where := Where(f.Location); where != "" {
			msg += " (" + where + ")"
		}
		res := run.CreateResultForRule(f.ID).
			WithLevel(sarifLevel(f.Severity)).
			WithMessage(sarif.NewTextMessage(msg))
		res.AddLocation(sarif.NewLocationWithPhysicalLocation(
			sarif.NewPhysicalLocation().
				WithArtifactLocation(sarif.NewSimpleArtifactLocation(uri)).
				WithRegion(sarif.NewSimpleRegion(line, line))))
		fp := f.Fingerprint
		if fp == "" {
			fp = fmt.Sprintf("%s/%s/%s/%s", f.ID, f.Location.Path, f.Location.Field, f.Message)
		}
		res.WithPartialFingerPrints(map[string]any{"bulwark/v1": fp})
	}
	doc.AddRun(run)
	return doc.PrettyWrite(w)
}

// artifact picks the file a result points at: the finding's path, or for
// image configuration findings the image itself.
func artifact(t finding.Target, l finding.Location) (string, int) {
	line := l.Line
	if line < 1 {
		line = 1
	}
	if l.Path != "" {
		return strings.TrimPrefix(l.Path, "/"), line
	}
	name := t.Name
	for _, p := range []string{"rootfs:", "oci:", "docker-archive:", "oci-archive:"} {
		name = strings.TrimPrefix(name, p)
	}
	return strings.TrimPrefix(name, "/"), line
}

func ruleName(id string) string { return strings.NewReplacer("-", "", "_", "", ".", "").Replace(id) }

func sarifLevel(s finding.Severity) string {
	switch {
	case s >= finding.High:
		return "error"
	case s >= finding.Medium:
		return "warning"
	default:
		return "note"
	}
}

// securitySeverity is the CVSS-like score GitHub uses to rank alerts.
func securitySeverity(s finding.Severity) string {
	switch s {
	case finding.Critical:
		return "9.5"
	case finding.High:
		return "8.0"
	case finding.Medium:
		return "5.5"
	case finding.Low:
		return "2.0"
	default:
		return "0.0"
	}
}
