package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/finding"
)

func sample() *finding.Report {
	return &finding.Report{
		Tool: "bulwark", Version: "test", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Target: finding.Target{Name: "app.tar", Kind: "image", Digest: "sha256:abc"},
		Gates:  []finding.Gate{finding.GateLint},
		Findings: []finding.Finding{
			{Gate: finding.GateLint, ID: "CIS-DI-0008", Title: "Confirm safety of setuid/setgid files", Severity: finding.Info,
				Message: "setuid file: urwxr-xr-x /bin/su", Location: finding.Location{Path: "bin/su", Layer: &finding.LayerRef{Index: 0, Digest: "sha256:0123456789abcdef0123"}}},
			{Gate: finding.GateLint, ID: "CIS-DI-0009", Title: "Use COPY instead of ADD in Dockerfile", Severity: finding.Critical,
				Message: "Use COPY : ADD a /b", Location: finding.Location{Field: "history[3]", Layer: &finding.LayerRef{Index: 2, DiffID: "sha256:feed"}}},
			{Gate: finding.GateLint, ID: "CIS-DI-0006", Title: "Add HEALTHCHECK instruction to the container image", Severity: finding.Info,
				Message: "not found HEALTHCHECK statement", Suppressed: &finding.Suppression{Kind: "ignore", Reason: "sidecar probes it"}},
		},
		Warnings: []string{"/etc/passwd:3: malformed line"},
	}
}

// sorted is the sample in the order policy.Apply leaves a report in.
func sorted() *finding.Report {
	r := sample()
	r.Sort()
	return r
}

// TestTable checks the layout a person reads, written out by hand.
func TestTable(t *testing.T) {
	var b bytes.Buffer
	if err := Table(&b, sorted()); err != nil {
		t.Fatal(err)
	}
	want := `app.tar (image, sha256:abc)
FATAL - CIS-DI-0009: Use COPY instead of ADD in Dockerfile
	* Use COPY : ADD a /b (history[3], layer 2 sha256:feed)
INFO  - CIS-DI-0006: Add HEALTHCHECK instruction to the container image
	* not found HEALTHCHECK statement [suppressed: ignore: sidecar probes it]
INFO  - CIS-DI-0008: Confirm safety of setuid/setgid files
	* setuid file: urwxr-xr-x /bin/su (bin/su, layer 0 sha256:0123456789ab)

2 finding(s) (FATAL: 1, INFO: 1), 1 suppressed
`
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, sorted()); err != nil {
		t.Fatal(err)
	}
	var back finding.Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Findings) != 3 || back.Findings[0].Severity != finding.Critical || back.Findings[1].Suppressed == nil {
		t.Errorf("round trip lost data: %+v", back.Findings)
	}
	var empty bytes.Buffer
	if err := JSON(&empty, &finding.Report{}); err != nil || !strings.Contains(empty.String(), `"findings": []`) {
		t.Errorf("an empty report must list findings as [], got %s", empty.String())
	}
}

func TestSARIFSuppressions(t *testing.T) {
	var b bytes.Buffer
	if err := SARIF(&b, sorted()); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Runs []struct {
			Results []struct {
				RuleID       string `json:"ruleId"`
				Level        string `json:"level"`
				Suppressions []struct {
					Kind, Status, Justification string
				}
			}
		}
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range doc.Runs[0].Results {
		got[r.RuleID] = r.Level
		if len(r.Suppressions) > 0 {
			s := r.Suppressions[0]
			got[r.RuleID] += "/" + s.Kind + "/" + s.Status + "/" + s.Justification
		}
	}
	want := map[string]string{
		"CIS-DI-0009": "error",
		"CIS-DI-0008": "note",
		"CIS-DI-0006": "note/external/accepted/ignore: sidecar probes it",
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: %q, want %q", id, got[id], w)
		}
	}
}

// TestSARIFValidatesAgainstSchema checks the document against the OASIS
// SARIF 2.1.0 JSON schema (the copy go-sarif ships), for findings with a
// file location, a config field only, and a suppressed one.
func TestSARIFValidatesAgainstSchema(t *testing.T) {
	r := sample()
	r.Findings = append(r.Findings, finding.Finding{Gate: finding.GateVuln, ID: "CVE-2021-44228", Title: "log4j", Severity: finding.Critical,
		References: []string{"https://nvd.nist.gov/vuln/detail/CVE-2021-44228"}, Location: finding.Location{Path: "app/lib/log4j-core-2.14.1.jar"}})
	r.Sort()
	if err := sarifDocument(r).Validate(); err != nil {
		t.Fatalf("SARIF does not validate: %v", err)
	}
	if err := sarifDocument(&finding.Report{Target: finding.Target{Name: "x"}}).Validate(); err != nil {
		t.Fatalf("empty SARIF does not validate: %v", err)
	}
}

// TestTableGitCommit checks that a finding from git history names its
// commit, author and date in the table.
func TestTableGitCommit(t *testing.T) {
	r := &finding.Report{
		Target: finding.Target{Name: "repo", Kind: "git"},
		Findings: []finding.Finding{{
			Gate: finding.GateSecrets, ID: "aws-access-key-id", Title: "AWS access key ID", Severity: finding.Critical,
			Message:  "AKIA****************",
			Location: finding.Location{Path: "config/app.env", Line: 3},
			Secret: &finding.SecretDetail{Redacted: "AKIA****", Commit: "1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d",
				Author: "Ann Example <ann@example.com>", Date: "2024-05-01T10:00:00+02:00"},
		}},
	}
	var b bytes.Buffer
	if err := Table(&b, r); err != nil {
		t.Fatal(err)
	}
	want := "\t* AKIA**************** (config/app.env:3) [commit 1a2b3c4d5e6f by Ann Example <ann@example.com>, 2024-05-01T10:00:00+02:00]\n"
	if !strings.Contains(b.String(), want) {
		t.Errorf("table:\n%s\nwant a line:\n%s", b.String(), want)
	}
}
