// Package cli wires bulwark's commands: flags become options, options go to
// the packages that do the work. There is no logic here beyond that.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/bulwark-sec/bulwark/internal/policy"
)

// New returns the root command with every subcommand registered.
func New() *cobra.Command {
	root := &cobra.Command{
		Use:   "bulwark",
		Short: "The security gate for container delivery pipelines",
		Long: `bulwark finds secrets, inventories packages, matches vulnerabilities,
checks images against the CIS Docker Benchmark, and signs and verifies
images, in one binary with one report and one exit code.

Exit codes: 0 every gate passed, 1 (or --exit-code) a gate failed,
2 bulwark could not do its job (bad input, unreachable registry, ...).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentPreRun = func(cmd *cobra.Command, _ []string) {
		printNotes(cmd)
		applyTimeout(cmd)
		applyGCPercent(cmd)
	}
	registerQuiet(root)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w\nsee '%s --help'", err, c.CommandPath())}
	})
	root.AddCommand(
		newVersionCmd(),
		newLintCmd(),
		newSBOMCmd(), newCacheCmd(),
		newSecretsCmd(),
		newKeyCmd(), cosignName(newKeyGenerateCmd(), "generate-key-pair"), cosignName(newKeyPublicCmd(), "public-key"),
		newSignCmd(), newVerifyCmd(), newAttestCmd(), newVerifyAttestationCmd(),
		newSignBlobCmd(), newVerifyBlobCmd(), newAttestBlobCmd(), newVerifyBlobAttestationCmd(), newReleaseCmd(),
		newDBCmd(),
		newPipelineCmd(), newDemoCmd(), newReportCmd(),
		newScanCmd(),
		newAdmissionCmd(), newECSHookCmd(),
		newServerCmd(),
	)
	return root
}

// Execute runs the command line and returns the process exit code. Errors
// go to stderr; a failed gate is not an error of bulwark's, but is still
// said on stderr so that a CI log shows why the step failed.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := New()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return policy.ExitOK
	}
	if ctx.Err() != nil && !strings.Contains(err.Error(), "interrupted") {
		err = fmt.Errorf("interrupted: %w", err)
	}
	err = timedOut(cmd, err)
	var ge *policy.GateError
	if errors.As(err, &ge) {
		fmt.Fprintln(stderr, "bulwark:", ge.Msg)
	} else {
		fmt.Fprintln(stderr, "bulwark: error:", err)
	}
	return policy.ExitCode(err)
}

// usageError marks a mistake on the command line (exit code 2).
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

// Main is the whole of cmd/bulwark. SIGINT and SIGTERM (a CI job
// cancelled) cancel the context every command runs with: a pipeline then
// records an interrupted run, a scan writes no report. A second signal
// ends the process at once.
func Main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // the next signal is the default: exit now
	}()
	stopProfiles := startProfiles()
	code := Execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stopProfiles()
	stop()
	os.Exit(code)
}
