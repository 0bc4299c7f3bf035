package policy

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/finding"
)

// FailOn says which findings fail a gate. It is parsed from the one
// --fail-on grammar every command and bulwark.yaml share:
//
//	SEVERITY   that severity or above (info, low, medium, high, critical,
//	           unknown; Dockle's warn and fatal name medium and critical)
//	kev        a vulnerability in CISA's Known Exploited Vulnerabilities
//	epss>X     a vulnerability whose EPSS score is above X (0 to 1)
//	level1     a failed CIS host benchmark check of level 1
//	level2     a failed CIS host benchmark check of level 1 or 2
//	any        every finding, whatever its severity
//	never      nothing: report without failing
//
// Terms are comma-separated (or given as a list) and combine with OR. The
// zero FailOn fails nothing.
type FailOn struct {
	min     finding.Severity
	hasMin  bool
	kev     bool
	epss    float64
	hasEPSS bool
	// level fails host checks of CIS level 1 up to it (0: none).
	level int
}

// Never fails nothing.
var Never = FailOn{}

// Any fails every finding.
var Any = AtLeast(finding.Unknown)

// AtLeast fails findings of severity s or above.
func AtLeast(s finding.Severity) FailOn { return FailOn{min: s, hasMin: true} }

// ParseFailOn reads --fail-on terms. Each argument may hold several
// comma-separated terms; an empty list is an error, so that a caller
// decides its default explicitly.
func ParseFailOn(terms ...string) (FailOn, error) {
	var f FailOn
	seen, never := false, false
	for _, t := range terms {
		for _, part := range strings.Split(t, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			seen = true
			low := strings.ToLower(part)
			switch {
			case low == "never" || low == "none":
				never = true
			case low == "any":
				f = f.or(Any)
			case low == "kev":
				f.kev = true
			case low == "level1" || low == "level2":
				f = f.or(FailOn{level: int(low[5] - '0')})
			case strings.HasPrefix(low, "epss>"):
				x, err := strconv.ParseFloat(strings.TrimSpace(low[len("epss>"):]), 64)
				if err != nil || x < 0 || x > 1 {
					return FailOn{}, fmt.Errorf("%q: want epss>X with X between 0 and 1", part)
				}
				if !f.hasEPSS || x < f.epss {
					f.epss, f.hasEPSS = x, true
				}
			default:
				s, err := finding.ParseSeverity(part)
				if err != nil {
					return FailOn{}, fmt.Errorf("%q: want a severity (unknown, info, low, medium, high, critical; Dockle's warn, fatal), any, never, kev, epss>X, level1 or level2", part)
				}
				f = f.or(AtLeast(s))
			}
		}
	}
	if !seen {
		return FailOn{}, fmt.Errorf("empty: want a severity, any, never, kev, epss>X, level1 or level2")
	}
	if never {
		if f != Never {
			return FailOn{}, fmt.Errorf("%q: never cannot be combined with other terms", strings.Join(terms, ","))
		}
		return Never, nil
	}
	return f, nil
}

// or combines two FailOns: a finding fails if either fails it.
func (f FailOn) or(g FailOn) FailOn {
	if g.hasMin && (!f.hasMin || g.min < f.min) {
		f.min, f.hasMin = g.min, true
	}
	f.kev = f.kev || g.kev
	if g.hasEPSS && (!f.hasEPSS || g.epss < f.epss) {
		f.epss, f.hasEPSS = g.epss, true
	}
	f.level = max(f.level, g.level)
	return f
}

// IsNever reports whether nothing fails.
func (f FailOn) IsNever() bool { return f == Never }

// BySeverityOnly reports whether only severities matter: then counts of
// findings by severity decide whether any fails (FailsSeverity).
func (f FailOn) BySeverityOnly() bool { return !f.kev && !f.hasEPSS && f.level == 0 }

// FailsSeverity reports whether a finding of severity s fails by its
// severity alone.
func (f FailOn) FailsSeverity(s finding.Severity) bool { return f.hasMin && s >= f.min }

// Fails reports whether a finding meets any term. Suppression and the base
// image are the Policy's business, not the FailOn's.
func (f FailOn) Fails(x *finding.Finding) bool {
	if f.hasMin && x.Severity >= f.min {
		return true
	}
	if f.level > 0 && x.Host != nil && x.Host.Status == "fail" && x.Host.Level <= f.level {
		return true
	}
	if x.Vuln != nil {
		if f.kev && x.Vuln.KEV {
			return true
		}
		if f.hasEPSS && x.Vuln.EPSS > f.epss {
			return true
		}
	}
	return false
}

// String returns the terms in the grammar ParseFailOn reads, lower case,
// so that it round-trips: "high,kev", "any", "never".
func (f FailOn) String() string {
	if f.IsNever() {
		return "never"
	}
	var parts []string
	if f.hasMin {
		if f.min == finding.Unknown {
			parts = append(parts, "any")
		} else {
			parts = append(parts, strings.ToLower(f.min.String()))
		}
	}
	if f.kev {
		parts = append(parts, "kev")
	}
	if f.hasEPSS {
		parts = append(parts, "epss>"+strconv.FormatFloat(f.epss, 'g', -1, 64))
	}
	if f.level > 0 {
		parts = append(parts, "level"+strconv.Itoa(f.level))
	}
	return strings.Join(parts, ",")
}

// Describe says in words which findings fail a gate, with the level names
// that gate's findings are shown with: "at or above FATAL" for lint, "at or
// above HIGH, or in CISA KEV" for vulnerabilities, "of any severity".
func (f FailOn) Describe(g finding.Gate) string {
	if f.IsNever() {
		return "never (report only)"
	}
	var parts []string
	if f.hasMin {
		if f.min == finding.Unknown {
			parts = append(parts, "of any severity")
		} else {
			parts = append(parts, "at or above "+finding.ThresholdName(g, f.min))
		}
	}
	if f.kev && (g == finding.GateVuln || g == "") {
		parts = append(parts, "in CISA KEV")
	}
	if f.hasEPSS && (g == finding.GateVuln || g == "") {
		parts = append(parts, "with EPSS above "+strconv.FormatFloat(f.epss, 'g', -1, 64))
	}
	if f.level > 0 && (g == finding.GateHost || g == "") {
		parts = append(parts, []string{"", "a failed CIS level 1 check", "a failed CIS level 1 or 2 check"}[f.level])
	}
	if len(parts) == 0 {
		return "never (no term applies to " + string(g) + " findings)"
	}
	return strings.Join(parts, ", or ")
}

// Lowest returns the FailOn that fails at the lowest of the given
// severities: Trivy's `--severity HIGH,CRITICAL --exit-code 1` fails on
// HIGH and above.
func Lowest(sevs []finding.Severity) (FailOn, bool) {
	if len(sevs) == 0 {
		return Never, false
	}
	low := sevs[0]
	for _, s := range sevs[1:] {
		if s < low {
			low = s
		}
	}
	return AtLeast(low), true
}

// DefaultFailOn is what fails each gate when neither a flag nor
// bulwark.yaml says: what the script bulwark replaces failed on. A
// vulnerability scanner failing on CRITICAL, an image linter failing on
// FATAL, and any secret; host benchmark checks from HIGH.
func DefaultFailOn(g finding.Gate) FailOn {
	switch g {
	case finding.GateSecrets:
		return Any
	case finding.GateHost:
		return AtLeast(finding.High)
	default:
		return AtLeast(finding.Critical)
	}
}
