package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The flags below let a command line written for cosign, Trivy or Dockle
// run with only the binary name changed (docs/migrating.md has the tables).
// An alias whose meaning is the same is accepted quietly; one whose meaning
// differs prints a one-line note on stderr when it is used.

// noteAnnotation marks a flag whose use prints a note on stderr.
const noteAnnotation = "bulwark/note"

// timeoutAnnotation marks the flag that limits the whole run.
const timeoutAnnotation = "bulwark/run-timeout"

// alias registers name (and short, if not "") as another tool's name for
// the existing flag of. A note, when not "", is printed when it is used.
func alias(cmd *cobra.Command, of, name, short, note string) {
	fl := cmd.Flags()
	orig := fl.Lookup(of)
	if orig == nil {
		panic("cli: alias of a missing flag --" + of)
	}
	f := fl.VarPF(orig.Value, name, short, "same as --"+of)
	f.NoOptDefVal, f.DefValue = orig.NoOptDefVal, orig.DefValue
	hide(f, note)
}

// accept registers a boolean flag of another tool that bulwark needs no
// value for: what it asks for is what bulwark does anyway (note "") or
// has no counterpart here (the note says so).
func accept(cmd *cobra.Command, name, short, note string) {
	fl := cmd.Flags()
	fl.BoolP(name, short, false, "accepted for compatibility; see docs/migrating.md")
	hide(fl.Lookup(name), note)
}

func hide(f *pflag.Flag, note string) {
	f.Hidden = true
	if note != "" {
		if f.Annotations == nil {
			f.Annotations = map[string][]string{}
		}
		f.Annotations[noteAnnotation] = []string{note}
	}
}

// printNotes says on stderr, once per flag used, where a flag of another
// tool means something else here.
func printNotes(cmd *cobra.Command) {
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if n := f.Annotations[noteAnnotation]; len(n) > 0 && !quiet(cmd) {
			name := "--" + f.Name
			if f.Shorthand != "" && strings.HasSuffix(f.Name, "-"+f.Shorthand) {
				name = "-" + f.Shorthand // a placeholder name for a shorthand alone
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "bulwark: note: %s: %s\n", name, n[0])
		}
	})
}

// registerQuiet adds -q/--quiet (Trivy's and Dockle's flag) to every
// command.
func registerQuiet(root *cobra.Command) {
	root.PersistentFlags().BoolP("quiet", "q", false, "print no progress, warnings or notes on stderr (errors and the gate's verdict still are)")
}

// quiet reports whether -q was given.
func quiet(cmd *cobra.Command) bool {
	q, _ := cmd.Flags().GetBool("quiet")
	return q
}

// registerTimeout adds --timeout (and -t, as Dockle has it), the limit of
// the whole run, as Trivy's and Dockle's --timeout are.
func registerTimeout(cmd *cobra.Command, short string) {
	cmd.Flags().DurationP("timeout", short, 0, "stop with an error (exit 2) when the whole run takes longer than this, e.g. 5m (default: no limit)")
	cmd.Flags().Lookup("timeout").Annotations = map[string][]string{timeoutAnnotation: {"yes"}}
}

// applyTimeout limits the command's context to --timeout, when given.
func applyTimeout(cmd *cobra.Command) {
	f := cmd.Flags().Lookup("timeout")
	if f == nil || f.Annotations[timeoutAnnotation] == nil {
		return
	}
	d, _ := cmd.Flags().GetDuration("timeout")
	if d <= 0 {
		return
	}
	ctx, cancel := context.WithTimeoutCause(cmd.Context(), d, fmt.Errorf("--timeout %s reached", d))
	// The parent is cancelled when Execute returns; that ends the timer.
	context.AfterFunc(cmd.Context(), cancel)
	cmd.SetContext(ctx)
}

// timedOut says so when err comes from --timeout.
func timedOut(cmd *cobra.Command, err error) error {
	if c := cmd.Context(); c != nil && c.Err() == context.DeadlineExceeded {
		if cause := context.Cause(c); cause != nil && cause != c.Err() {
			return fmt.Errorf("%w: %w", cause, err)
		}
	}
	return err
}
