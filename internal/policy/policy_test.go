package policy

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/finding"
)

func report(fs ...finding.Finding) *finding.Report { return &finding.Report{Findings: fs} }

func TestGateEvaluate(t *testing.T) {
	crit := finding.Finding{Gate: finding.GateVuln, ID: "CVE-1", Severity: finding.Critical}
	high := finding.Finding{Gate: finding.GateVuln, ID: "CVE-2", Severity: finding.High}
	lintWarn := finding.Finding{Gate: finding.GateLint, ID: "CIS-DI-0001", Severity: finding.Medium}
	suppressed := crit
	suppressed.Suppressed = &finding.Suppression{Kind: "ignore"}
	cases := []struct {
		name string
		gate Gate
		r    *finding.Report
		code int
	}{
		{"empty", Gate{FailOn: finding.Low, ExitCode: 1}, report(), 0},
		{"below threshold", Gate{FailOn: finding.Critical, ExitCode: 1}, report(high, lintWarn), 0},
		{"at threshold", Gate{FailOn: finding.High, ExitCode: 1}, report(high), 1},
		{"custom code", Gate{FailOn: finding.High, ExitCode: 9}, report(crit), 9},
		{"suppressed does not count", Gate{FailOn: finding.Low, ExitCode: 1}, report(suppressed), 0},
		{"other gate not covered", Gate{FailOn: finding.Low, ExitCode: 1, Gates: []finding.Gate{finding.GateVuln}}, report(lintWarn), 0},
		{"code 0 reports without failing", Gate{FailOn: finding.Low, ExitCode: 0}, report(crit), 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.gate.Evaluate(tc.r)
			if got := ExitCode(err); got != tc.code {
				t.Errorf("exit code %d, want %d (err %v)", got, tc.code, err)
			}
		})
	}
}

func TestGateErrorNamesFindings(t *testing.T) {
	var fs []finding.Finding
	for i := 0; i < 12; i++ {
		fs = append(fs, finding.Finding{ID: fmt.Sprintf("ID-%d", i), Severity: finding.High})
	}
	err := Gate{FailOn: finding.High, ExitCode: 1}.Evaluate(report(fs...))
	if err == nil || !strings.Contains(err.Error(), "12 finding(s) at or above HIGH") || !strings.Contains(err.Error(), "and 2 more") {
		t.Errorf("error %v", err)
	}
}

func TestExitCodeNeverZeroOnError(t *testing.T) {
	if got := ExitCode(errors.New("registry unreachable")); got != ExitError {
		t.Errorf("ExitCode(plain error) = %d, want %d", got, ExitError)
	}
	wrapped := fmt.Errorf("scan: %w", &GateError{Code: 4})
	if got := ExitCode(wrapped); got != 4 {
		t.Errorf("ExitCode(wrapped gate error) = %d, want 4", got)
	}
}
