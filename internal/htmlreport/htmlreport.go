// Package htmlreport writes a report as one self-contained HTML page: inline
// CSS and an inline SVG summary chart, no script and nothing fetched when
// it is opened. Findings are grouped by gate and severity, each with its
// location and the layer (index, digest and the command that created it)
// where the finding records one. Finding text comes from the scanned image,
// so everything is written through html/template's contextual escaping.
package htmlreport

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/inventory"
)

//go:embed page.html.tmpl
var pageText string

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"short":  shortDigest,
	"vclass": verdictClass,
	"time":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
}).Parse(pageText))

// Stage is one stage of a pipeline run, as the pipeline report shows it.
type Stage struct {
	Name     string
	Verdict  string
	Duration time.Duration
	Detail   string
}

// Run is what a pipeline report adds to the findings: the pipeline's name,
// verdict and stages.
type Run struct {
	Name    string
	Verdict string
	Stages  []Stage
}

// Findings writes the report of scan, lint or secrets. The verdict is
// FAIL when a finding fails its gate (the policy marks it Failing).
func Findings(w io.Writer, r *finding.Report) error {
	return page.Execute(w, findingsView(r, "bulwark report"))
}

// Pipeline writes a pipeline run's report: its stages and verdict, then
// every finding of every gate.
func Pipeline(w io.Writer, r *finding.Report, run Run) error {
	v := findingsView(r, "bulwark pipeline "+run.Name)
	v.Verdict = strings.ToUpper(run.Verdict)
	v.Stages = run.Stages
	return page.Execute(w, v)
}

// SBOM writes an inventory: the packages by ecosystem with the file and
// layer each was found in, and the entries that leave the image root (which
// make the verdict FAIL).
func SBOM(w io.Writer, s *inventory.SBOM) error {
	v := &view{
		Title: "bulwark sbom", Target: s.Target, Tool: s.Tool, Version: s.ToolVersion,
		CreatedAt: s.CreatedAt, Warnings: s.Warnings, Verdict: "PASS",
		Summary: fmt.Sprintf("%d packages", len(s.Packages)),
	}
	if len(s.Escapes) > 0 {
		v.Verdict = "FAIL"
		var rows []chartRow
		v.Gates, rows = groupFindings(s.Escapes)
		v.Chart = layout(rows)
	}
	byEco := map[string]*ecosystem{}
	var counts []count
	for _, p := range s.Packages {
		e := byEco[p.Ecosystem]
		if e == nil {
			e = &ecosystem{Name: p.Ecosystem}
			byEco[p.Ecosystem] = e
			v.Ecosystems = append(v.Ecosystems, e)
		}
		e.Packages = append(e.Packages, p)
	}
	sort.Slice(v.Ecosystems, func(i, j int) bool { return v.Ecosystems[i].Name < v.Ecosystems[j].Name })
	for _, e := range v.Ecosystems {
		counts = append(counts, count{Label: e.Name, N: len(e.Packages), Class: "pkg"})
	}
	if len(counts) > 0 {
		v.Chart = layout(append(v.Chart, bars("packages", counts)))
	}
	return page.Execute(w, v)
}

// view is what the page template reads.
type view struct {
	Title      string
	Target     finding.Target
	Tool       string
	Version    string
	CreatedAt  time.Time
	Verdict    string
	Summary    string
	Database   *finding.Database
	Stages     []Stage
	Chart      chart
	Gates      []gateGroup
	Ecosystems []*ecosystem
	Warnings   []string
}

type ecosystem struct {
	Name     string
	Packages []inventory.Package
}

// gateGroup is one gate's findings, by severity, most serious first.
type gateGroup struct {
	Gate       finding.Gate
	Levels     []levelGroup
	Suppressed []finding.Finding
}

type levelGroup struct {
	Level    string
	Class    string
	Findings []finding.Finding
}

func findingsView(r *finding.Report, title string) *view {
	v := &view{
		Title: title, Target: r.Target, Tool: r.Tool, Version: r.Version,
		CreatedAt: r.CreatedAt, Database: r.Database, Warnings: r.Warnings, Verdict: "PASS",
	}
	active := 0
	for _, f := range r.Findings {
		if f.Suppressed == nil {
			active++
			if f.Failing {
				v.Verdict = "FAIL"
			}
		}
	}
	v.Summary = fmt.Sprintf("%d findings", active)
	if n := len(r.Findings) - active; n > 0 {
		v.Summary += fmt.Sprintf(", %d suppressed", n)
	}
	var rows []chartRow
	v.Gates, rows = groupFindings(r.Findings)
	v.Chart = layout(rows)
	// A gate that ran and found nothing is shown as such.
	for _, g := range r.Gates {
		found := false
		for _, gg := range v.Gates {
			found = found || gg.Gate == g
		}
		if !found {
			v.Gates = append(v.Gates, gateGroup{Gate: g})
		}
	}
	return v
}

// groupFindings groups findings by gate (in the order they first appear)
// and severity, and makes one chart row a gate of its active findings.
func groupFindings(fs []finding.Finding) ([]gateGroup, []chartRow) {
	var gates []gateGroup
	index := map[finding.Gate]int{}
	bySev := map[finding.Gate]map[finding.Severity][]finding.Finding{}
	for _, f := range fs {
		i, ok := index[f.Gate]
		if !ok {
			i = len(gates)
			index[f.Gate] = i
			gates = append(gates, gateGroup{Gate: f.Gate})
			bySev[f.Gate] = map[finding.Severity][]finding.Finding{}
		}
		if f.Suppressed != nil {
			gates[i].Suppressed = append(gates[i].Suppressed, f)
			continue
		}
		bySev[f.Gate][f.Severity] = append(bySev[f.Gate][f.Severity], f)
	}
	var chart []chartRow
	for i := range gates {
		g := &gates[i]
		var counts []count
		for s := finding.Critical; s >= finding.Unknown; s-- {
			list := bySev[g.Gate][s]
			if len(list) == 0 {
				continue
			}
			lvl := finding.LevelName(g.Gate, s)
			class := "sev-" + strings.ToLower(s.String())
			g.Levels = append(g.Levels, levelGroup{Level: lvl, Class: class, Findings: list})
			counts = append(counts, count{Label: lvl, N: len(list), Class: class})
		}
		if len(counts) > 0 {
			chart = append(chart, bars(string(g.Gate), counts))
		}
	}
	return gates, chart
}

func shortDigest(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}

// verdictClass is the CSS class of a verdict: pass, fail or other (a
// stage that did not run).
func verdictClass(v string) string {
	switch strings.ToLower(v) {
	case "pass", "passed":
		return "pass"
	case "fail", "failed", "error", "interrupted":
		return "fail"
	}
	return "other"
}
