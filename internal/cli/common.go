package cli

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/bulwark-sec/bulwark/internal/atomicfile"
	"github.com/bulwark-sec/bulwark/internal/buildinfo"
	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/progress"
	"github.com/bulwark-sec/bulwark/internal/report"
)

// imageFlags are the flags every command that reads an image takes.
type imageFlags struct {
	input    string
	insecure bool
	platform string
	caCert   string
}

func (f *imageFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.input, "input", "", "read the image from an archive (docker save or OCI archive) instead of a registry")
	fl.BoolVar(&f.insecure, "insecure", false, "allow plain HTTP and unverified TLS to the registry")
	fl.StringVar(&f.caCert, "registry-cacert", "", "PEM file of a CA to trust for registry TLS, in addition to the system's")
	fl.StringVar(&f.platform, "platform", "", "platform of a multi-platform image, as os/arch (default linux/"+runtime.GOARCH+")")
}

// open opens the image named by the single argument or by --input.
func (f *imageFlags) open(ctx context.Context, args []string) (*image.Image, error) {
	spec := ""
	if len(args) > 0 {
		spec = args[0]
	}
	if spec == "" && f.input == "" {
		return nil, usageError{fmt.Errorf("no image given: name one (registry reference, rootfs:DIR, oci:DIR, an archive file) or use --input FILE")}
	}
	opts := image.Options{Input: f.input, Insecure: f.insecure, CACert: f.caCert}
	if f.platform != "" {
		p, err := v1.ParsePlatform(f.platform)
		if err != nil {
			return nil, usageError{fmt.Errorf("--platform %q: %w", f.platform, err)}
		}
		opts.Platform = p
	}
	return image.Open(ctx, spec, opts)
}

// readProgress returns a progress bar for reading the image's layers, drawn
// only when stderr is a terminal and the size is known.
func readProgress(img *image.Image) progress.Bar {
	size := img.StoredSize()
	if size <= 0 {
		return progress.Bytes(nil, 0, "")
	}
	return progress.Bytes(progress.Terminal(), size, "reading "+img.Name)
}

// outputFlags choose the report format and where it goes.
type outputFlags struct {
	format string
	output string
}

func (o *outputFlags) register(cmd *cobra.Command, formats ...string) {
	cmd.Flags().StringVarP(&o.format, "format", "f", formats[0], "output format: "+strings.Join(formats, "|"))
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "write the report to this file instead of stdout")
}

// write writes the report to -o or stdout. A file is written completely or
// not at all.
func (o *outputFlags) write(cmd *cobra.Command, r *finding.Report) error {
	if o.output == "" {
		return report.Write(cmd.OutOrStdout(), r, o.format)
	}
	if _, err := atomicfile.Write(o.output, 0o644, func(w io.Writer) error { return report.Write(w, r, o.format) }); err != nil {
		return fmt.Errorf("writing the report to %s: %w", o.output, err)
	}
	return nil
}

// newReport starts a report for a target.
func newReport(t finding.Target, gates ...finding.Gate) *finding.Report {
	return &finding.Report{
		Tool:      "bulwark",
		Version:   buildinfo.Version,
		CreatedAt: time.Now().UTC(),
		Target:    t,
		Gates:     gates,
	}
}
