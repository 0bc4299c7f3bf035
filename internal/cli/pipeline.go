package cli

import (
	"fmt"
	"os"
	"path/filepath"

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
	reg       registryFlags
}

func loadPipeline(f *pipelineFlags) (*pipeline.File, error) {
	fh, err := os.Open(f.file)
	if err != nil {
		return nil, usageError{fmt.Errorf("pipeline file: %w (give one with --file FILE)", err)}
	}
	defer fh.Close()
	return pipeline.Parse(fh, f.file, pipeline.ValidateOptions{HasInput: f.input != ""})
}

// options turns the flags into run options. Paths given on the command
// line are relative to the current directory; those in the file to the
// file's folder.
func (f *pipelineFlags) options(cmd *cobra.Command, pf *pipeline.File) (pipeline.Options, error) {
	o := pipeline.Options{File: pf, Out: cmd.OutOrStdout(), Log: cmd.ErrOrStderr(), Password: keyPassword(cmd)}
	var err error
	if o.Registry, err = f.reg.settings(); err != nil {
		return o, err
	}
	if f.input != "" {
		o.Input = f.input
		if _, err := os.Stat(f.input); err == nil {
			abs, err := filepath.Abs(f.input)
			if err != nil {
				return o, err
			}
			o.Input = abs
		}
	}
	if f.artifacts != "" {
		abs, err := filepath.Abs(f.artifacts)
		if err != nil {
			return o, err
		}
		o.Artifacts = abs
	}
	return o, nil
}

// plan prints the plan and the checks a run starts with, and fails (exit
// 2) when a check fails: a file called valid must not fail at once.
func (f *pipelineFlags) plan(cmd *cobra.Command, pf *pipeline.File) error {
	pipeline.Plan(cmd.OutOrStdout(), pf, f.input)
	o, err := f.options(cmd, pf)
	if err != nil {
		return err
	}
	checks, err := pipeline.Check(cmd.Context(), o)
	if err != nil && checks == nil {
		return err
	}
	fmt.Fprintln(cmd.OutOrStdout(), "checks:")
	failed := 0
	for _, c := range checks {
		if c.Error == "" {
			fmt.Fprintf(cmd.OutOrStdout(), "  ok      %s\n", c.Check)
		} else {
			failed++
			fmt.Fprintf(cmd.OutOrStdout(), "  FAILED  %s: %s\n", c.Check, c.Error)
		}
	}
	if failed > 0 {
		return fmt.Errorf("pipeline %s: %d check(s) failed (listed above); a run would stop before its first stage", pf.Path, failed)
	}
	return nil
}

func (f *pipelineFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.file, "file", "bulwark.yaml", "pipeline file")
	// -f means --format in every other command; here it still names the
	// file, with a note.
	alias(cmd, "file", "file-f", "f", "deprecated: use --file (-f means --format in every other command)")
	fl.StringVar(&f.input, "input", "", "use this already-built image (archive, OCI layout, reference; a path is relative to the current directory) instead of the build stage")
	f.reg.register(cmd)
}

func newPipelineRunCmd() *cobra.Command {
	var f pipelineFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the pipeline: source → secrets → build → scan → push → sign → verify → tag → deploy",
		Long: `Run the stages the pipeline file configures, in order. Before the first
stage, the run checks what it needs (the files the pipeline file names, the
signing key and its password, the verification key, the registry): a
failure there stops it before anything changes. Each stage prints its
start, duration and verdict; the run ends with one summary table and writes
the artifacts directory (report.json, report.sarif, junit.xml, sbom.cdx.json,
run.json, and digest once the image is pushed, verified and tagged).

The image is pushed by digest and tagged last, after it was signed and
verified: no tag ever names an image that failed on the way. A failed gate
stops the pipeline before push; a failed verify stops it before tag and
deploy. SIGINT or SIGTERM stops it too, with run.json saying "interrupted".
Exit codes: 0 passed, 1 a gate failed, 2 a stage could not run or the run
was interrupted. See docs/pipeline.md for the file format.`,
		Example: `  bulwark pipeline run
  bulwark pipeline run --file ci/bulwark.yaml --input app.tar
  bulwark pipeline run --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pf, err := loadPipeline(&f)
			if err != nil {
				return err
			}
			if f.dryRun {
				return f.plan(cmd, pf)
			}
			o, err := f.options(cmd, pf)
			if err != nil {
				return err
			}
			_, err = pipeline.Execute(cmd.Context(), o)
			return err
		},
	}
	f.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.artifacts, "artifacts", "", "artifacts directory, relative to the current directory (default: the file's artifacts, or bulwark-artifacts beside the file)")
	fl.BoolVar(&f.dryRun, "dry-run", false, "validate the file, show the plan and run the checks a run starts with; change nothing")
	return cmd
}

func newPipelineValidateCmd() *cobra.Command {
	var f pipelineFlags
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check a pipeline file and what it needs, and show the plan (same as run --dry-run)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pf, err := loadPipeline(&f)
			if err != nil {
				return err
			}
			return f.plan(cmd, pf)
		},
	}
	f.register(cmd)
	return cmd
}
