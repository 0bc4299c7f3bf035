package report

import (
	"fmt"
	"io"
	"strings"

	sarifreport "github.com/owenrumney/go-sarif/v3/pkg/report"
	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"

	"github.com/bulwark-sec/bulwark/internal/buildinfo"
	"github.com/bulwark-sec/bulwark/internal/finding"
)

// SARIF writes the report as SARIF 2.1.0 in the shape GitHub code scanning
// accepts: one rule per check with a security-severity, and one result per
// finding with a physical location and a partial fingerprint; suppressed
// findings carry an accepted external suppression with its reason.
func SARIF(w io.Writer, r *finding.Report) error {
	return sarifDocument(r).PrettyWrite(w)
}

// sarifDocument builds the SARIF document of a report.
func sarifDocument(r *finding.Report) *sarif.Report {
	doc := sarifreport.NewV210Report()
	run := sarif.NewRunWithInformationURI("bulwark", buildinfo.URL)
	run.Tool.Driver.Version = &buildinfo.Version
	// ruleIndex replaces the library's lookups (AddRule and
	// CreateResultForRule scan every rule), which made a report of n
	// distinct advisories cost n².
	ruleIndex := map[string]int{}
	for _, f := range r.Findings {
		if _, ok := ruleIndex[f.ID]; !ok {
			ruleIndex[f.ID] = len(run.Tool.Driver.Rules)
			help := f.Title
			if f.Fix != "" {
				help += "\n\nFix: " + f.Fix
			}
			rule := sarif.NewRule(f.ID)
			run.Tool.Driver.AddRule(rule)
			rule.
				WithName(ruleName(f.ID)).
				WithShortDescription(text(f.Title)).
				WithFullDescription(text(f.Title)).
				WithHelp(text(help)).
				WithDefaultConfiguration(sarif.NewReportingConfiguration().WithLevel(sarifLevel(f.Severity))).
				WithProperties(sarif.NewPropertyBag().
					Add("security-severity", securitySeverity(f.Severity)).
					Add("tags", []string{"security", string(f.Gate)}))
			if len(f.References) > 0 {
				rule.WithHelpURI(f.References[0])
			}
		}
		uri, line := artifact(r.Target, f.Location)
		msg := f.Title
		if f.Message != "" {
			msg += ": " + f.Message
		}
		if where := f.Location.String(); where != "" {
			msg += " (" + where + ")"
		}
		res := sarif.NewRuleResult(f.ID).WithRuleIndex(ruleIndex[f.ID]).
			WithLevel(sarifLevel(f.Severity)).
			WithMessage(sarif.NewTextMessage(msg))
		res.AddLocation(sarif.NewLocationWithPhysicalLocation(
			sarif.NewPhysicalLocation().
				WithArtifactLocation(sarif.NewSimpleArtifactLocation(uri)).
				WithRegion(sarif.NewSimpleRegion(line, line))))
		run.AddResult(res)
		fp := f.Fingerprint
		if fp == "" {
			fp = fmt.Sprintf("%s/%s/%s/%s", f.ID, f.Location.Path, f.Location.Field, f.Message)
		}
		res.WithPartialFingerprints(map[string]string{"bulwark/v1": fp})
		if f.Suppressed != nil {
			// An accepted suppression: code scanning shows the alert as
			// dismissed rather than open.
			why := f.Suppressed.Kind
			if f.Suppressed.Reason != "" {
				why += ": " + f.Suppressed.Reason
			}
			if f.Suppressed.Source != "" {
				why += " (" + f.Suppressed.Source + ")"
			}
			res.AddSuppression(sarif.NewSuppression().WithKind("external").WithStatus("accepted").WithJustification(why))
		}
	}
	if r.Database != nil {
		run.WithProperties(sarif.NewPropertyBag().Add("bulwarkDatabase", r.Database))
	}
	doc.AddRun(run)
	return doc
}

func text(s string) *sarif.MultiformatMessageString {
	return sarif.NewMultiformatMessageString().WithText(s)
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
