// Package finding holds the vocabulary every gate shares: a Finding, its
// Severity, and the Report a run produces.
package finding

import (
	"fmt"
	"strings"
)

// Severity orders findings from least to most serious. Vulnerability scanners
// use UNKNOWN/LOW/MEDIUM/HIGH/CRITICAL; the image linter uses Dockle's
// INFO/WARN/FATAL, which map onto the same scale (INFO=Info, WARN=Medium,
// FATAL=Critical) so that one policy can gate every kind of finding.
type Severity int

// The severities, lowest first.
const (
	Unknown Severity = iota
	Info
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"UNKNOWN", "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"}

// String returns the upper-case name of the severity.
func (s Severity) String() string {
	if s < Unknown || s > Critical {
		return fmt.Sprintf("Severity(%d)", int(s))
	}
	return severityNames[s]
}

// Dockle's levels, as lint findings are shown. They sit on the one ordered
// scale every gate shares: INFO is Info, WARN is Medium, FATAL is Critical.
var lintLevels = []struct {
	name string
	sev  Severity
}{{"INFO", Info}, {"WARN", Medium}, {"FATAL", Critical}}

// LintLevel returns the Dockle level name for a severity: INFO, WARN or FATAL.
func (s Severity) LintLevel() string {
	name := lintLevels[0].name
	for _, l := range lintLevels {
		if s >= l.sev {
			name = l.name
		}
	}
	return name
}

// LevelName names a severity the way a gate's findings are shown: Dockle's
// INFO/WARN/FATAL for lint, the severity name otherwise.
func LevelName(g Gate, s Severity) string {
	if g == GateLint {
		return s.LintLevel()
	}
	return s.String()
}

// ThresholdName names the lowest level of a gate that a threshold at s
// lets through: for lint, "at or above HIGH" means FATAL, the lowest
// Dockle level at HIGH or above.
func ThresholdName(g Gate, s Severity) string {
	if g != GateLint {
		return s.String()
	}
	for _, l := range lintLevels {
		if l.sev >= s {
			return l.name
		}
	}
	return lintLevels[len(lintLevels)-1].name
}

// Level names the finding's severity the way its gate's users know it.
func (f *Finding) Level() string { return LevelName(f.Gate, f.Severity) }

// ParseSeverity accepts a severity name or a Dockle level name, in any case:
// unknown, info, low, medium, high, critical, warn (=medium), fatal (=critical).
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "UNKNOWN":
		return Unknown, nil
	case "INFO":
		return Info, nil
	case "LOW":
		return Low, nil
	case "MEDIUM", "WARN", "WARNING", "MODERATE":
		return Medium, nil
	case "HIGH":
		return High, nil
	case "CRITICAL", "FATAL":
		return Critical, nil
	}
	return Unknown, fmt.Errorf("unknown severity %q (want one of unknown, info, low, medium, high, critical, or warn, fatal)", s)
}

// MarshalText encodes the severity as its name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
