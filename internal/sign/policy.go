package sign

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/policy"
)

// Policy is what verify-attestation --policy requires of the newest
// verified vulnerability-scan attestation. The file format is YAML
// (PolicyRules):
//
//	maxAge: 24h              # the scan finished less than this long ago
//	deny:
//	  severities: [CRITICAL] # no finding at these severities
//	  ids: [CVE-2021-44228]  # none of these vulnerability IDs
//	failOn: high,kev         # no finding the --fail-on grammar fails
type Policy struct {
	// MaxAge is the longest time since the scan finished.
	MaxAge time.Duration
	// DenySeverities fail the policy when a finding has one of them.
	DenySeverities []string
	// DenyIDs fail the policy when a finding has one of these IDs.
	DenyIDs []string
	// FailOn fails the policy when a finding meets it (policy.FailOn:
	// the one --fail-on grammar); the zero value fails nothing.
	FailOn policy.FailOn
}

// PolicyRules are the policy's YAML keys, for files that embed them
// (the admission policy's attestation rules).
type PolicyRules struct {
	MaxAge string `yaml:"maxAge"`
	Deny   struct {
		Severities []string `yaml:"severities"`
		IDs        []string `yaml:"ids"`
	} `yaml:"deny"`
	FailOn string `yaml:"failOn"`
}

var knownSeverities = []string{"UNKNOWN", "NEGLIGIBLE", "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"}

// LoadPolicy reads a policy file.
func LoadPolicy(path string) (*Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	p, err := ParsePolicy(b)
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", path, err)
	}
	return p, nil
}

// ParsePolicy parses the policy file format (see Policy).
func ParsePolicy(b []byte) (*Policy, error) {
	var pf PolicyRules
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&pf); err != nil {
		return nil, fmt.Errorf("not a valid policy (keys: maxAge, deny.severities, deny.ids, failOn): %w", err)
	}
	p, err := pf.Build()
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, errors.New("the policy has no rules (maxAge, deny.severities, deny.ids, failOn)")
	}
	return p, nil
}

// Build checks the rules and returns the Policy they make, or nil when
// they hold no rule.
func (pf PolicyRules) Build() (*Policy, error) {
	p := &Policy{DenyIDs: pf.Deny.IDs}
	if pf.MaxAge != "" {
		d, err := parseAge(pf.MaxAge)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("maxAge %q: give a positive duration such as 24h, 90m or 7d", pf.MaxAge)
		}
		p.MaxAge = d
	}
	for _, s := range pf.Deny.Severities {
		u := strings.ToUpper(strings.TrimSpace(s))
		found := false
		for _, k := range knownSeverities {
			found = found || k == u
		}
		if !found {
			return nil, fmt.Errorf("deny.severities: unknown severity %q (use %s)", s, strings.Join(knownSeverities, ", "))
		}
		p.DenySeverities = append(p.DenySeverities, u)
	}
	if pf.FailOn != "" {
		f, err := policy.ParseFailOn(pf.FailOn)
		if err != nil {
			return nil, fmt.Errorf("failOn: %w", err)
		}
		p.FailOn = f
	}
	if p.MaxAge == 0 && len(p.DenySeverities) == 0 && len(p.DenyIDs) == 0 && p.FailOn.IsNever() {
		return nil, nil
	}
	return p, nil
}

func parseAge(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		if _, err := fmt.Sscanf(n, "%d", &days); err != nil || fmt.Sprint(days) != n {
			return 0, errors.New("bad days")
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// vulnFinding is one vulnerability of a scan result.
type vulnFinding struct {
	ID, Severity string
	KEV          bool
	EPSS         float64
}

// Check applies the policy to the newest (by scan time) of the verified
// vulnerability attestations and returns a summary, or why it fails.
func (p *Policy) Check(atts []VerifiedAttestation, now time.Time) (string, error) {
	type scan struct {
		pred     VulnPredicate
		finished time.Time
	}
	var scans []scan
	for _, a := range atts {
		if a.Statement.PredicateType != PredicateVuln {
			return "", fmt.Errorf("the policy rules apply to vulnerability scans (--type vuln), not %s", a.Statement.PredicateType)
		}
		var vp VulnPredicate
		if err := json.Unmarshal(a.Statement.Predicate, &vp); err != nil {
			return "", fmt.Errorf("the attested scan report is not a cosign vuln predicate: %w", err)
		}
		scans = append(scans, scan{vp, vp.Metadata.ScanFinishedOn})
	}
	sort.SliceStable(scans, func(i, j int) bool { return scans[i].finished.After(scans[j].finished) })
	s := scans[0]
	if p.MaxAge > 0 {
		if s.finished.IsZero() {
			return "", errors.New("the newest scan has no metadata.scanFinishedOn, so its age is unknown")
		}
		if s.finished.After(now.Add(5 * time.Minute)) {
			return "", fmt.Errorf("the newest scan claims to finish in the future (%s)", s.finished.Format(time.RFC3339))
		}
		if age := now.Sub(s.finished); age > p.MaxAge {
			return "", fmt.Errorf("the newest scan finished %s ago (%s), more than the %s allowed; scan the image again and attest the report", age.Round(time.Minute), s.finished.Format(time.RFC3339), p.MaxAge)
		}
	}
	if len(p.DenySeverities) == 0 && len(p.DenyIDs) == 0 && p.FailOn.IsNever() {
		return fmt.Sprintf("newest scan %s passes", s.finished.Format(time.RFC3339)), nil
	}
	vulns, err := scanFindings(s.pred.Scanner.Result)
	if err != nil {
		return "", err
	}
	var bad []string
	for _, v := range vulns {
		for _, sev := range p.DenySeverities {
			if strings.EqualFold(v.Severity, sev) {
				bad = append(bad, v.ID+" ("+strings.ToUpper(v.Severity)+")")
			}
		}
		for _, id := range p.DenyIDs {
			if strings.EqualFold(v.ID, id) {
				bad = append(bad, v.ID+" (denied ID)")
			}
		}
		if !p.FailOn.IsNever() && p.FailOn.Fails(v.finding()) {
			bad = append(bad, v.ID+" ("+strings.ToUpper(v.Severity)+", failOn "+p.FailOn.String()+")")
		}
	}
	if len(bad) > 0 {
		n := len(bad)
		if n > 10 {
			bad = append(bad[:10], fmt.Sprintf("and %d more", n-10))
		}
		return "", fmt.Errorf("the newest scan (%s) has %d denied finding(s): %s", s.finished.Format(time.RFC3339), n, strings.Join(bad, ", "))
	}
	return fmt.Sprintf("newest scan %s: %d finding(s), none denied", s.finished.Format(time.RFC3339), len(vulns)), nil
}

// scanFindings extracts vulnerabilities from a scan result in bulwark's,
// Trivy's or Grype's JSON format.
func scanFindings(raw json.RawMessage) ([]vulnFinding, error) {
	var probe struct {
		Findings *[]struct {
			ID         string          `json:"id"`
			Gate       string          `json:"gate"`
			Severity   string          `json:"severity"`
			Suppressed json.RawMessage `json:"suppressed"`
			Vuln       *struct {
				KEV  bool    `json:"kev"`
				EPSS float64 `json:"epss"`
			} `json:"vuln"`
		} `json:"findings"`
		Results *[]struct {
			Vulnerabilities []struct {
				ID       string `json:"VulnerabilityID"`
				Severity string `json:"Severity"`
			} `json:"Vulnerabilities"`
		} `json:"Results"`
		Matches *[]struct {
			Vulnerability struct {
				ID       string `json:"id"`
				Severity string `json:"severity"`
			} `json:"vulnerability"`
		} `json:"matches"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &probe) != nil {
		return nil, errors.New("the scan result is missing or not a JSON object, so the policy cannot be checked")
	}
	var out []vulnFinding
	switch {
	case probe.Findings != nil:
		for _, f := range *probe.Findings {
			if (f.Gate == "" || f.Gate == "vuln") && (len(f.Suppressed) == 0 || string(f.Suppressed) == "null") {
				v := vulnFinding{ID: f.ID, Severity: f.Severity}
				if f.Vuln != nil {
					v.KEV, v.EPSS = f.Vuln.KEV, f.Vuln.EPSS
				}
				out = append(out, v)
			}
		}
	case probe.Results != nil:
		for _, r := range *probe.Results {
			for _, v := range r.Vulnerabilities {
				out = append(out, vulnFinding{ID: v.ID, Severity: v.Severity})
			}
		}
	case probe.Matches != nil:
		for _, m := range *probe.Matches {
			out = append(out, vulnFinding{ID: m.Vulnerability.ID, Severity: m.Vulnerability.Severity})
		}
	default:
		return nil, errors.New("the scan result is in no known format (bulwark \"findings\", Trivy \"Results\", Grype \"matches\"), so the policy cannot be checked")
	}
	return out, nil
}

// finding is the vulnerability as a finding, for the --fail-on grammar. A
// severity that does not parse counts as UNKNOWN, as a scanner would.
func (v vulnFinding) finding() *finding.Finding {
	sev, err := finding.ParseSeverity(v.Severity)
	if err != nil {
		sev = finding.Unknown
	}
	return &finding.Finding{ID: v.ID, Gate: finding.GateVuln, Severity: sev, Vuln: &finding.VulnDetail{KEV: v.KEV, EPSS: v.EPSS}}
}
