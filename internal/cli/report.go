package cli

import (
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/bulwark-sec/bulwark/internal/nist"
	"github.com/bulwark-sec/bulwark/internal/output"
	"github.com/bulwark-sec/bulwark/internal/pipeline"
)

func newReportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Turn a run's results into compliance reports",
	}
	cmd.AddCommand(newReportNISTCmd())
	return cmd
}

func newReportNISTCmd() *cobra.Command {
	var from string
	format := newFormatFlag(output.NIST.Names()...)
	cmd := &cobra.Command{
		Use:   "nist-800-190",
		Short: "Map a pipeline run to the image and registry risks of NIST SP 800-190",
		Long: `Map a pipeline run to the image risks (3.1: vulnerabilities, configuration
defects, embedded malware, embedded clear-text secrets, untrusted images) and
registry risks (3.2: insecure connections, stale images, insufficient
authentication) of NIST SP 800-190, saying for each which stage covered it,
with what result, and what this pipeline does not cover.

--from is the report.json of a run; run.json next to it adds what the
pipeline did (sign, verify, push).`,
		Example: `  bulwark report nist-800-190
  bulwark report nist-800-190 --from bulwark-artifacts/report.json --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, run, err := nist.Load(from)
			if err != nil {
				return err
			}
			w, err := output.NIST.Lookup(format.value)
			if err != nil {
				return usageError{err}
			}
			return w(cmd.OutOrStdout(), nist.Assess(r, run, time.Now()))
		},
	}
	cmd.Flags().StringVar(&from, "from", filepath.Join(pipeline.DefaultArtifacts, pipeline.ReportJSON), "report.json of a pipeline run")
	format.register(cmd)
	return cmd
}
