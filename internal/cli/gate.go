package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/ignore"
	"github.com/bulwark-sec/bulwark/internal/policy"
	"github.com/bulwark-sec/bulwark/internal/vex"
)

// gateFlags are the flags that decide a verdict. Every gate command
// registers them, so that --fail-on, --exit-code and the ignore files mean
// the same in each; see docs/policy.md.
type gateFlags struct {
	failOn []string
	// failOnFlag names the flag failOn came from, for errors: --fail-on,
	// or an alias such as lint's --exit-level.
	failOnFlag  string
	exitCode    int
	ignores     []string
	ignoreFiles []string
	// defaultIgnoreFiles are read from the working directory when present
	// and no --ignore-file is given.
	defaultIgnoreFiles []string
	// shorthands gives flags a one-letter name another tool uses for them
	// (Dockle's -c for --exit-code, -i for --ignore); set before register.
	shorthands map[string]string

	// vulnerability-only flags, registered by withVulns.
	vexFiles      []string
	severity      []string
	ignoreUnfixed bool
	ignoreBase    bool
	baseImage     string
}

// failOnHelp is the one help text of --fail-on.
const failOnHelp = "what fails the gate: a severity (that or above; Dockle's warn/fatal too), kev, epss>X, any or never; comma-separated terms OR (default: per gate, see docs/policy.md)"

func (g *gateFlags) register(cmd *cobra.Command, defaultIgnoreFiles ...string) {
	g.defaultIgnoreFiles, g.failOnFlag = defaultIgnoreFiles, "--fail-on"
	fl := cmd.Flags()
	fl.StringSliceVar(&g.failOn, "fail-on", nil, failOnHelp)
	fl.IntVarP(&g.exitCode, "exit-code", g.shorthands["exit-code"], policy.ExitFailed, "exit code when the gate fails (0 reports without failing)")
	fl.StringSliceVarP(&g.ignores, "ignore", g.shorthands["ignore"], nil, "finding ID (or CVE alias) to suppress (repeatable, or comma-separated)")
	fl.StringSliceVar(&g.ignoreFiles, "ignore-file", nil, "file of IDs to suppress: ID [exp:YYYY-MM-DD] [# reason] per line (default: "+strings.Join(defaultIgnoreFiles, ", ")+" if present)")
}

// withVulns registers the flags that only make sense for vulnerabilities.
func (g *gateFlags) withVulns(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringArrayVar(&g.vexFiles, "vex", nil, "OpenVEX document whose not_affected and fixed statements suppress findings (repeatable)")
	fl.StringSliceVarP(&g.severity, "severity", "s", nil, "severities to show, e.g. CRITICAL,HIGH (default: all); without --fail-on the lowest of them also fails the gate, as in Trivy")
	fl.BoolVar(&g.ignoreUnfixed, "ignore-unfixed", false, "drop vulnerabilities that have no fix yet")
	fl.BoolVar(&g.ignoreBase, "ignore-base", false, "fail only on findings in the layers the application added, not the base image's")
	fl.StringVar(&g.baseImage, "base-image", "", "the base image (reference or archive), to tell its layers from the application's")
}

// policy builds the policy the flags describe for a run of these gates.
func (g *gateFlags) policy(cmd *cobra.Command, gates ...finding.Gate) (*policy.Policy, error) {
	p := &policy.Policy{ExitCode: g.exitCode, IgnoreUnfixed: g.ignoreUnfixed, IgnoreBase: g.ignoreBase}
	for _, s := range g.severity {
		for _, part := range strings.Split(s, ",") {
			if part = strings.TrimSpace(part); part == "" {
				continue
			}
			sev, err := finding.ParseSeverity(part)
			if err != nil {
				return nil, usageError{fmt.Errorf("--severity: %w", err)}
			}
			p.Show = append(p.Show, sev)
		}
	}
	switch {
	case len(g.failOn) > 0:
		f, err := policy.ParseFailOn(g.failOn...)
		if err != nil {
			return nil, usageError{fmt.Errorf("%s: %w", g.failOnFlag, err)}
		}
		p.Rules = policy.Every(f, gates...)
	case len(p.Show) > 0:
		f, _ := policy.Lowest(p.Show)
		p.Rules = policy.Every(f, gates...)
	}
	var err error
	if p.Ignores, err = loadIgnores(g.ignores, g.ignoreFiles, g.defaultIgnoreFiles); err != nil {
		return nil, err
	}
	for _, path := range g.vexFiles {
		d, err := vex.ParseFile(path)
		if err != nil {
			return nil, err
		}
		p.VEX = append(p.VEX, d)
	}
	return p, nil
}

// loadIgnores gathers --ignore IDs, the ignore files given (or those of
// defaults that exist in the working directory), and DOCKLE_IGNORES.
func loadIgnores(ids, files, defaults []string) (ignore.List, error) {
	list := ignore.FromIDs(ids, "--ignore")
	if env := os.Getenv("DOCKLE_IGNORES"); env != "" {
		list = append(list, ignore.FromIDs(strings.Split(env, ","), "DOCKLE_IGNORES")...)
	}
	if len(files) == 0 {
		for _, d := range defaults {
			if _, err := os.Stat(d); err == nil {
				files = append(files, d)
			}
		}
	}
	for _, file := range files {
		l, err := ignore.ParseFile(file)
		if err != nil {
			return nil, err
		}
		list = append(list, l...)
	}
	return list, nil
}

// finish applies the policy to the report, writes the report, prints its
// warnings on stderr (stdout carries the report only) and returns the
// verdict as an error: nil, or a *policy.GateError. An interrupted run
// writes nothing.
func finish(cmd *cobra.Command, out *outputFlags[*finding.Report], p *policy.Policy, r *finding.Report) error {
	if err := cmd.Context().Err(); err != nil {
		// Interrupted: what was read may be partial, so no report claims
		// to be complete.
		return fmt.Errorf("interrupted before the report was written: %w", err)
	}
	v := p.Apply(r)
	for _, w := range r.Warnings {
		if quiet(cmd) {
			break
		}
		fmt.Fprintln(cmd.ErrOrStderr(), "bulwark: warning:", w)
	}
	if err := out.write(cmd, r); err != nil {
		return err
	}
	return v.Err()
}
