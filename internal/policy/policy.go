// Package policy turns a report into a verdict and an exit code: 0 when
// every gate passed, the configured code (default 1) when a gate failed,
// and 2 when bulwark could not do its job.
package policy

import (
	"errors"
	"fmt"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/finding"
)

// Exit codes shared by every command.
const (
	ExitOK     = 0
	ExitFailed = 1
	ExitError  = 2
)

// Gate decides which findings fail a run.
type Gate struct {
	// FailOn is the least severity that fails the gate.
	FailOn finding.Severity
	// ExitCode is returned when the gate fails (commands default it to
	// ExitFailed; 0 lets a failing gate report without failing the build).
	ExitCode int
	// Gates limits the gate to findings of these gates; empty means all.
	Gates []finding.Gate
}

// Failing returns the active (not suppressed) findings at or above FailOn.
func (g Gate) Failing(r *finding.Report) []finding.Finding {
	var out []finding.Finding
	for _, f := range r.Findings {
		if f.Suppressed != nil || f.Severity < g.FailOn || !g.covers(f.Gate) {
			continue
		}
		out = append(out, f)
	}
	return out
}

func (g Gate) covers(name finding.Gate) bool {
	if len(g.Gates) == 0 {
		return true
	}
	for _, n := range g.Gates {
		if n == name {
			return true
		}
	}
	return false
}

// Evaluate returns nil when the report passes the gate, or a *GateError
// carrying the exit code when it fails.
func (g Gate) Evaluate(r *finding.Report) error {
	failing := g.Failing(r)
	if len(failing) == 0 {
		return nil
	}
	ids := map[string]bool{}
	var list []string
	for _, f := range failing {
		if !ids[f.ID] {
			ids[f.ID] = true
			list = append(list, f.ID)
		}
	}
	if len(list) > 10 {
		list = append(list[:10], fmt.Sprintf("and %d more", len(list)-10))
	}
	return &GateError{
		Code: g.ExitCode,
		Msg: fmt.Sprintf("gate failed: %d finding(s) at or above %s: %s",
			len(failing), g.FailOn, strings.Join(list, ", ")),
	}
}

// GateError reports that a gate failed. It is not a malfunction: the tool
// did its job and the verdict is "no".
type GateError struct {
	Code int
	Msg  string
}

func (e *GateError) Error() string { return e.Msg }

// ExitCode maps an error returned by a command to the process exit code:
// 0 for nil, the gate's code for a *GateError, and ExitError for anything
// else, so that a malfunction never exits 0.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ge *GateError
	if errors.As(err, &ge) {
		return ge.Code
	}
	return ExitError
}
