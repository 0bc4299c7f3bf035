package sign

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func vulnAtt(t *testing.T, finished time.Time, result string) VerifiedAttestation {
	t.Helper()
	var vp VulnPredicate
	vp.Metadata.ScanFinishedOn = finished
	vp.Scanner.Result = json.RawMessage(result)
	b, err := json.Marshal(vp)
	if err != nil {
		t.Fatal(err)
	}
	return VerifiedAttestation{Statement: &Statement{PredicateType: PredicateVuln, Predicate: b}}
}

func TestPolicyCheck(t *testing.T) {
	now := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	p, err := ParsePolicy([]byte("maxAge: 24h\ndeny:\n  severities: [critical]\n  ids: [CVE-2021-44228]\n"))
	if err != nil {
		t.Fatal(err)
	}
	clean := `{"findings":[{"gate":"vuln","id":"CVE-1","severity":"HIGH"},{"gate":"lint","id":"CIS-DI-0001","severity":"CRITICAL"},{"gate":"vuln","id":"CVE-2","severity":"CRITICAL","suppressed":{"kind":"vex"}}]}`
	tests := []struct {
		name string
		atts []VerifiedAttestation
		want string // "" passes; otherwise a substring of the error
	}{
		{"fresh clean bulwark report", []VerifiedAttestation{vulnAtt(t, now.Add(-time.Hour), clean)}, ""},
		{"too old", []VerifiedAttestation{vulnAtt(t, now.Add(-25*time.Hour), clean)}, "more than the 24h0m0s allowed"},
		{"future", []VerifiedAttestation{vulnAtt(t, now.Add(time.Hour), clean)}, "future"},
		{"no time", []VerifiedAttestation{vulnAtt(t, time.Time{}, clean)}, "age is unknown"},
		{"critical", []VerifiedAttestation{vulnAtt(t, now, `{"findings":[{"gate":"vuln","id":"CVE-9","severity":"CRITICAL"}]}`)}, "CVE-9 (CRITICAL)"},
		{"denied id in trivy", []VerifiedAttestation{vulnAtt(t, now, `{"Results":[{"Vulnerabilities":[{"VulnerabilityID":"CVE-2021-44228","Severity":"HIGH"}]}]}`)}, "denied ID"},
		{"critical in grype", []VerifiedAttestation{vulnAtt(t, now, `{"matches":[{"vulnerability":{"id":"GHSA-x","severity":"Critical"}}]}`)}, "GHSA-x"},
		{"unknown format", []VerifiedAttestation{vulnAtt(t, now, `{"something":1}`)}, "no known format"},
		{"newest scan decides", []VerifiedAttestation{
			vulnAtt(t, now.Add(-2*time.Hour), clean),
			vulnAtt(t, now.Add(-time.Hour), `{"findings":[{"gate":"vuln","id":"CVE-9","severity":"CRITICAL"}]}`),
		}, "CVE-9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Check(tc.atts, now)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("want pass, got %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("want error with %q, got %v", tc.want, err)
			}
		})
	}
	for _, bad := range []string{"", "maxAge: -1h\n", "maxAge: soon\n", "deny:\n  severities: [SEVERE]\n", "unknownKey: 1\n", "failOn: severe\n", "failOn: never\n"} {
		if _, err := ParsePolicy([]byte(bad)); err == nil {
			t.Errorf("policy %q accepted", bad)
		}
	}
}

func TestPolicyFailOn(t *testing.T) {
	now := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	p, err := ParsePolicy([]byte("failOn: high,kev\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		result string
		fails  bool
	}{
		{`{"findings":[{"gate":"vuln","id":"CVE-1","severity":"MEDIUM"}]}`, false},
		{`{"findings":[{"gate":"vuln","id":"CVE-2","severity":"HIGH"}]}`, true},
		{`{"findings":[{"gate":"vuln","id":"CVE-3","severity":"LOW","vuln":{"kev":true}}]}`, true},
		{`{"findings":[{"gate":"vuln","id":"CVE-4","severity":"CRITICAL","suppressed":{"kind":"vex"}}]}`, false},
		{`{"Results":[{"Vulnerabilities":[{"VulnerabilityID":"CVE-5","Severity":"CRITICAL"}]}]}`, true},
	} {
		_, err := p.Check([]VerifiedAttestation{vulnAtt(t, now, tc.result)}, now)
		if (err != nil) != tc.fails {
			t.Errorf("%s: fails=%v, got %v", tc.result, tc.fails, err)
		}
		if err != nil && !strings.Contains(err.Error(), "failOn high,kev") {
			t.Errorf("%s: the reason does not name the rule: %v", tc.result, err)
		}
	}
}

func TestBuildVulnPredicate(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	raw, err := BuildPredicate("vuln", PredicateVuln, []byte(`{"tool":"bulwark","version":"1.0","createdAt":"2026-01-02T03:04:05Z","findings":[]}`), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var vp VulnPredicate
	if err := json.Unmarshal(raw, &vp); err != nil {
		t.Fatal(err)
	}
	if !vp.Metadata.ScanFinishedOn.Equal(at) || vp.Scanner.URI != bulwarkScannerURI || vp.Scanner.Version != "1.0" {
		t.Fatalf("wrapped predicate %s", raw)
	}
	if _, err := BuildPredicate("cyclonedx", PredicateCycloneDX, []byte("not json"), time.Now()); err == nil {
		t.Fatal("a non-JSON CycloneDX predicate was accepted")
	}
	if raw, err := BuildPredicate("spdx", PredicateSPDX, []byte("SPDXVersion: SPDX-2.3"), time.Now()); err != nil || raw[0] != '"' {
		t.Fatalf("SPDX tag-value: %s %v", raw, err)
	}
}
