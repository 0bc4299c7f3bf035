package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/bulwark-sec/bulwark/internal/pipeline"
)

func newPipelineCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pipeline",
		Short: "Run the delivery pipeline of a bulwark.yaml",
	}
	cmd.AddCommand(newPipelineRunCmd(), newPipelineValidateCmd())
	return cmd
}

type pipelineFlags struct {
	file      string
	input     string
	artifacts string
	dryRun    bool
	insecure  bool
}

func loadPipeline(f *pipelineFlags) (*pipeline.File, error) {
	fh, err := os.Open(f.file)
	if err != nil {
		return nil, usageError{fmt.Errorf("pipeline file: %w (give one with -f FILE)", err)}
	}
	defer fh.Close()
	return pipeline.Parse(fh, f.file, pipeline.ValidateOptions{HasInput: f.input != ""})
}

func newPipelineRunCmd() *cobra.Command {
	var f pipelineFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the pipeline: source → secrets → build → scan → push → sign → verify → deploy",
		Long: `Run the stages the pipeline file configures, in order. Each stage prints its
start, duration and verdict; the run ends with one summary table and writes
the artifacts directory (report.json, report.sarif, junit.xml, sbom.cdx.json,
run.json, and digest once the image is pushed and verified).

A failed gate stops the pipeline before push; a failed verify stops it before
deploy. Exit codes: 0 passed, 1 a gate failed, 2 a stage could not run.
See docs/pipeline.md for the file format.`,
		Example: `  bulwark pipeline run
  bulwark pipeline run -f ci/bulwark.yaml --input app.tar
  bulwark pipeline run --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pf, err := loadPipeline(&f)
			if err != nil {
				return err
			}
			if f.dryRun {
				pipeline.Plan(cmd.OutOrStdout(), pf, f.input)
				return nil
			}
			o := pipeline.Options{File: pf, Input: f.input, Artifacts: f.artifacts, Out: cmd.OutOrStdout(), Log: cmd.ErrOrStderr()}
			o.Registry.Insecure = f.insecure
			_, err = pipeline.Execute(cmd.Context(), o)
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.file, "file", "f", "bulwark.yaml", "pipeline file")
	fl.StringVar(&f.input, "input", "", "use this already-built image (archive, OCI layout, reference) instead of the build stage")
	fl.StringVar(&f.artifacts, "artifacts", "", "artifacts directory (default: the file's artifacts, or bulwark-artifacts)")
	fl.BoolVar(&f.dryRun, "dry-run", false, "validate the file and show the plan; run nothing")
	fl.BoolVar(&f.insecure, "insecure", false, "allow plain HTTP and unverified TLS to registries")
	return cmd
}

func newPipelineValidateCmd() *cobra.Command {
	var f pipelineFlags
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check a pipeline file and show the plan (same as run --dry-run)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pf, err := loadPipeline(&f)
			if err != nil {
				return err
			}
			pipeline.Plan(cmd.OutOrStdout(), pf, f.input)
			return nil
		},
	}
	cmd.Flags().StringVarP(&f.file, "file", "f", "bulwark.yaml", "pipeline file")
	cmd.Flags().StringVar(&f.input, "input", "", "the image will be given with --input")
	return cmd
}
