// Package policy owns the verdict: one --fail-on grammar (FailOn), one rule
// per gate, and one function (Policy.Apply) that applies suppressions, VEX,
// ignore-unfixed, base-image filtering and the gate to a report. Every
// command and the pipeline call it, so the same findings give the same
// verdict wherever they are gated. The exit codes: 0 when every gate
// passed, the configured code (default 1) when a gate failed, and 2 when
// bulwark could not do its job.
package policy

import (
	"errors"
)

// Exit codes shared by every command.
const (
	ExitOK     = 0
	ExitFailed = 1
	ExitError  = 2
)

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
