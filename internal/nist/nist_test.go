package nist

import (
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/pipeline"
	"github.com/bulwark-sec/bulwark/internal/policy"
)

func TestAssess(t *testing.T) {
	r := &finding.Report{
		Target: finding.Target{Name: "app", Digest: "sha256:1"},
		Gates:  []finding.Gate{finding.GateVuln, finding.GateLint, finding.GateSecrets},
		Findings: []finding.Finding{
			{Gate: finding.GateVuln, ID: "GHSA-1", Severity: finding.Critical},
			{Gate: finding.GateLint, ID: "CIS-DI-0005", Severity: finding.Info},
		},
	}
	run := &pipeline.Run{
		Stages: []pipeline.StageResult{{Name: "secrets", Verdict: "passed"}, {Name: "scan", Verdict: "failed"}, {Name: "push", Verdict: "not run"}},
		Gates: []pipeline.GateResult{
			{GateVerdict: policy.GateVerdict{Gate: finding.GateVuln, Failing: 1}},
			{GateVerdict: policy.GateVerdict{Gate: finding.GateLint, Passed: true}},
			{GateVerdict: policy.GateVerdict{Gate: finding.GateSecrets, Passed: true}},
		},
		DBBuilt: time.Now().Add(-2 * time.Hour),
	}
	a := Assess(r, run, time.Now())
	status := map[string]string{}
	for _, risk := range a.Risks {
		status[risk.Section] = risk.Status
	}
	want := map[string]string{"3.1.1": Found, "3.1.2": Mitigated, "3.1.3": NotCovered, "3.1.4": Mitigated, "3.1.5": NotCovered, "3.2.1": Partial, "3.2.2": NotCovered, "3.2.3": NotCovered}
	for s, w := range want {
		if status[s] != w {
			t.Errorf("%s: %s, want %s", s, status[s], w)
		}
	}
	var b strings.Builder
	if err := Table(&b, a); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Embedded malware", "NOT COVERED", "Not covered by this pipeline:", "database built 2h ago"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, b.String())
		}
	}
}

func TestAssessVerified(t *testing.T) {
	run := &pipeline.Run{Pushed: true, Signed: true, Verified: true, Immutable: true, Tags: []string{"a-1"}, Repository: "registry.example.com/app", SignKey: "k", VerifyKey: "p", BaseImage: "node:20"}
	a := Assess(&finding.Report{}, run, time.Now())
	got := map[string]Risk{}
	for _, r := range a.Risks {
		got[r.Section] = r
	}
	if got["3.1.5"].Status != Partial || !strings.Contains(got["3.1.5"].NotCovered, "node:20") {
		t.Errorf("3.1.5 = %+v", got["3.1.5"])
	}
	if got["3.2.1"].Status != Mitigated || got["3.2.3"].Status != Partial {
		t.Errorf("3.2.1 = %+v, 3.2.3 = %+v", got["3.2.1"], got["3.2.3"])
	}
}
