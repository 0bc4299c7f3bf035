package cli

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/bulwark-sec/bulwark/internal/release"
)

func newReleaseCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "release",
		Short: "Helpers of bulwark's own release workflow (see docs/release.md)",
	}
	cmd.AddCommand(newReleaseProvenanceCmd())
	return cmd
}

func newReleaseProvenanceCmd() *cobra.Command {
	var (
		o       release.Options
		params  []string
		started string
		out     string
	)
	cmd := &cobra.Command{
		Use:   "provenance [-o FILE] [--param k=v]...",
		Short: "Write the SLSA v1 provenance predicate of a release build",
		Long: `Write the SLSA v1 provenance predicate (JSON) of a build, to sign with
'bulwark attest-blob FILE --type slsaprovenance1 --predicate provenance.json'.
On GitHub Actions the repository, commit, ref, workflow, builder and run come
from the GITHUB_* variables; elsewhere give --repository, --commit and
--builder-id. --param records build settings (toolchain, ldflags, ...).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := parseKV("--param", params)
			if err != nil {
				return err
			}
			o.Params = p
			if started != "" {
				if o.StartedOn, err = time.Parse(time.RFC3339, started); err != nil {
					return usageError{fmt.Errorf("--started-on %q: want RFC 3339 (2026-01-02T15:04:05Z)", started)}
				}
				o.FinishedOn = time.Now()
			}
			b, err := release.Provenance(release.FromEnv(o, os.Getenv))
			if err != nil {
				return usageError{err}
			}
			b = append(b, '\n')
			if out != "" {
				return writeOut(cmd, "provenance", out, b)
			}
			_, err = cmd.OutOrStdout().Write(b)
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Repository, "repository", "", "source repository URL (default: from GITHUB_SERVER_URL/GITHUB_REPOSITORY)")
	fl.StringVar(&o.Commit, "commit", "", "git commit built (default: GITHUB_SHA)")
	fl.StringVar(&o.Ref, "ref", "", "git ref built (default: GITHUB_REF)")
	fl.StringVar(&o.BuilderID, "builder-id", "", "build platform ID (default: the workflow at its ref, from GITHUB_WORKFLOW_REF)")
	fl.StringArrayVar(&params, "param", nil, "build setting key=value (repeatable)")
	fl.StringVar(&started, "started-on", "", "when the build started (RFC 3339); the finish time is now")
	fl.StringVarP(&out, "output", "o", "", "write to this file instead of stdout")
	return cmd
}
