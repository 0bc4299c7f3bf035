package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/ignore"
	"github.com/bulwark-sec/bulwark/internal/vex"
)

// Policy is everything that turns a report's findings into a verdict. The
// zero Policy gates every gate on its DefaultFailOn and suppresses nothing.
type Policy struct {
	// Rules maps a gate to what fails it; a gate not in the map fails on
	// DefaultFailOn.
	Rules map[finding.Gate]FailOn
	// Ignores suppress findings by ID (ignore files, --ignore).
	Ignores ignore.List
	// VEX documents whose not_affected and fixed statements suppress
	// vulnerabilities.
	VEX []*vex.Document
	// Subjects name the scanned image for VEX statements whose product is
	// the image, besides the report target's name and digest.
	Subjects []string
	// IgnoreUnfixed drops vulnerabilities that have no fix yet.
	IgnoreUnfixed bool
	// IgnoreBase gates only on findings in the application's layers, those
	// at index BaseLayers and above; the base image's stay in the report.
	IgnoreBase bool
	BaseLayers int
	// Show keeps only findings of these severities in the report (all
	// when empty). It never changes the verdict.
	Show []finding.Severity
	// ExitCode is the exit code of a failed gate. 0 reports a failing gate
	// without failing the build.
	ExitCode int
	// Now is the clock for ignore-file expiry dates (default time.Now).
	Now func() time.Time
}

// Every returns rules that fail each of the gates on f.
func Every(f FailOn, gates ...finding.Gate) map[finding.Gate]FailOn {
	m := make(map[finding.Gate]FailOn, len(gates))
	for _, g := range gates {
		m[g] = f
	}
	return m
}

// Rule returns what fails gate g.
func (p *Policy) Rule(g finding.Gate) FailOn {
	if f, ok := p.Rules[g]; ok {
		return f
	}
	return DefaultFailOn(g)
}

// GateVerdict is what one gate decided.
type GateVerdict struct {
	Gate finding.Gate `json:"gate"`
	// FailOn is the rule, in the --fail-on grammar.
	FailOn string `json:"failOn"`
	// Findings counts the gate's findings in the report, suppressed ones
	// included.
	Findings   int `json:"findings"`
	Suppressed int `json:"suppressed"`
	// FromBase counts active findings not gated because they come from
	// the base image (with IgnoreBase).
	FromBase int  `json:"fromBase,omitempty"`
	Failing  int  `json:"failing"`
	Passed   bool `json:"passed"`

	// failing holds the failing findings, most serious first.
	failing []finding.Finding
	rule    FailOn
}

// Failures returns the failing findings, most serious first.
func (g *GateVerdict) Failures() []finding.Finding { return g.failing }

// Top returns the most serious failing finding, or nil.
func (g *GateVerdict) Top() *finding.Finding {
	if len(g.failing) == 0 {
		return nil
	}
	return &g.failing[0]
}

// Message says why the gate failed, with its rule in the gate's own level
// names, the failing IDs, and the most serious one with its location.
func (g *GateVerdict) Message() string {
	if g.Passed {
		return fmt.Sprintf("%s gate passed", g.Gate)
	}
	var ids []string
	seen := map[string]bool{}
	for _, f := range g.failing {
		if !seen[f.ID] {
			seen[f.ID] = true
			ids = append(ids, f.ID)
		}
	}
	if len(ids) > 10 {
		ids = append(ids[:10], fmt.Sprintf("and %d more", len(ids)-10))
	}
	top := g.Top()
	eg := fmt.Sprintf("%s %s: %s", top.Level(), top.ID, top.Title)
	if where := top.Location.String(); where != "" {
		eg += " in " + where
	}
	return fmt.Sprintf("%s gate: %d finding(s) %s: %s (e.g. %s)", g.Gate, g.Failing, g.rule.Describe(g.Gate), strings.Join(ids, ", "), eg)
}

// Verdict is what a policy decided over a report.
type Verdict struct {
	// Gates holds one verdict per gate that ran, in the report's order.
	Gates []GateVerdict
	// ExitCode is the exit code when a gate failed.
	ExitCode int
}

// Passed reports whether every gate passed.
func (v *Verdict) Passed() bool {
	for _, g := range v.Gates {
		if !g.Passed {
			return false
		}
	}
	return true
}

// Err returns nil when every gate passed, or a *GateError that says which
// gates failed and why, carrying the exit code.
func (v *Verdict) Err() error {
	var msgs []string
	for i := range v.Gates {
		if !v.Gates[i].Passed {
			msgs = append(msgs, v.Gates[i].Message())
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return &GateError{Code: v.ExitCode, Msg: "gate failed: " + strings.Join(msgs, "; ")}
}

// Apply decides a report, in this order: ignore lists and VEX mark findings
// suppressed; IgnoreUnfixed drops vulnerabilities with no fix; each gate
// that ran fails on its rule's active findings (those of the base image
// left out with IgnoreBase); then the report keeps the Show severities and
// is sorted. Suppressed findings stay in the report, marked.
func (p *Policy) Apply(r *finding.Report) *Verdict {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	p.Ignores.Apply(r, now())
	subjects := append([]string{r.Target.Name, r.Target.Digest}, p.Subjects...)
	vex.Apply(r, p.VEX, subjects)
	if p.IgnoreUnfixed {
		r.Findings = keep(r.Findings, func(f *finding.Finding) bool {
			return f.Vuln == nil || f.Vuln.Status != finding.StatusAffected
		})
	}
	v := &Verdict{ExitCode: p.ExitCode}
	gates := r.Gates
	for _, f := range r.Findings {
		if !slices.Contains(gates, f.Gate) {
			gates = append(slices.Clip(gates), f.Gate)
		}
	}
	for _, g := range gates {
		gv := GateVerdict{Gate: g, rule: p.Rule(g)}
		gv.FailOn = gv.rule.String()
		for i := range r.Findings {
			f := &r.Findings[i]
			if f.Gate != g {
				continue
			}
			gv.Findings++
			switch {
			case f.Suppressed != nil:
				gv.Suppressed++
			case p.IgnoreBase && finding.FromBase(f, p.BaseLayers):
				gv.FromBase++
			case gv.rule.Fails(f):
				f.Failing = true
				gv.failing = append(gv.failing, *f)
			}
		}
		slices.SortStableFunc(gv.failing, func(a, b finding.Finding) int { return int(b.Severity) - int(a.Severity) })
		gv.Failing = len(gv.failing)
		gv.Passed = gv.Failing == 0
		v.Gates = append(v.Gates, gv)
	}
	if len(p.Show) > 0 {
		r.Findings = keep(r.Findings, func(f *finding.Finding) bool { return slices.Contains(p.Show, f.Severity) })
	}
	r.Sort()
	return v
}

func keep(fs []finding.Finding, ok func(*finding.Finding) bool) []finding.Finding {
	out := fs[:0]
	for i := range fs {
		if ok(&fs[i]) {
			out = append(out, fs[i])
		}
	}
	return out
}
