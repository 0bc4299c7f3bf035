package match

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/policy"
)

// Gate decides which findings of a scan fail the build: the terms of
// --fail-on (any one is enough), limited to the application's layers
// with IgnoreBase.
type Gate struct {
	// Severities fail when a finding has one of them.
	Severities map[finding.Severity]bool
	// KEV fails on a vulnerability in the CISA KEV catalogue.
	KEV bool
	// EPSS fails on a vulnerability whose EPSS score is above it (when
	// EPSSSet).
	EPSS    float64
	EPSSSet bool
	// IgnoreBase gates only on findings in layers Index >= BaseLayers.
	IgnoreBase bool
	BaseLayers int
	// ExitCode is returned when the gate fails.
	ExitCode int
}

// ParseSeverities reads a comma-separated severity list
// ("CRITICAL,HIGH").
func ParseSeverities(list []string) (map[finding.Severity]bool, error) {
	out := map[finding.Severity]bool{}
	for _, s := range list {
		for _, part := range strings.Split(s, ",") {
			if part = strings.TrimSpace(part); part == "" {
				continue
			}
			sev, err := finding.ParseSeverity(part)
			if err != nil {
				return nil, err
			}
			out[sev] = true
		}
	}
	return out, nil
}

// ParseFailOn reads --fail-on terms: severity names, "kev", "epss>X"
// (X between 0 and 1), comma-separated.
func ParseFailOn(list []string) (Gate, error) {
	g := Gate{Severities: map[finding.Severity]bool{}}
	for _, s := range list {
		for _, part := range strings.Split(s, ",") {
			part = strings.TrimSpace(part)
			low := strings.ToLower(part)
			switch {
			case part == "":
			case low == "kev":
				g.KEV = true
			case strings.HasPrefix(low, "epss>"):
				x, err := strconv.ParseFloat(strings.TrimSpace(low[len("epss>"):]), 64)
				if err != nil || x < 0 || x > 1 {
					return g, fmt.Errorf("%q: want epss>X with X between 0 and 1", part)
				}
				g.EPSS, g.EPSSSet = x, true
			default:
				sev, err := finding.ParseSeverity(part)
				if err != nil {
					return g, fmt.Errorf("%q: want a severity, kev or epss>X", part)
				}
				g.Severities[sev] = true
			}
		}
	}
	return g, nil
}

// Fails reports whether one finding fails the gate.
func (g Gate) Fails(f *finding.Finding) bool {
	if f.Suppressed != nil {
		return false
	}
	if g.IgnoreBase && FromBase(f, g.BaseLayers) {
		return false
	}
	if g.Severities[f.Severity] {
		return true
	}
	if f.Vuln != nil {
		if g.KEV && f.Vuln.KEV {
			return true
		}
		if g.EPSSSet && f.Vuln.EPSS > g.EPSS {
			return true
		}
	}
	return false
}

// FromBase reports whether a finding comes from the base image's layers.
func FromBase(f *finding.Finding, baseLayers int) bool {
	if f.Vuln != nil && f.Vuln.FromBase {
		return true
	}
	return f.Location.Layer != nil && f.Location.Layer.Index < baseLayers
}

// Evaluate returns nil when no finding fails the gate, or a
// *policy.GateError naming the failing IDs.
func (g Gate) Evaluate(findings []finding.Finding) error {
	var ids []string
	seen := map[string]bool{}
	n := 0
	for i := range findings {
		f := &findings[i]
		if !g.Fails(f) {
			continue
		}
		n++
		if !seen[f.ID] {
			seen[f.ID] = true
			ids = append(ids, f.ID)
		}
	}
	if n == 0 {
		return nil
	}
	if len(ids) > 10 {
		ids = append(ids[:10], fmt.Sprintf("and %d more", len(ids)-10))
	}
	return &policy.GateError{Code: g.ExitCode, Msg: fmt.Sprintf("gate failed: %d finding(s) match --fail-on: %s", n, strings.Join(ids, ", "))}
}
