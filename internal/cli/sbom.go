package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/bulwark-sec/bulwark/internal/buildinfo"
	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/inventory"
	"github.com/bulwark-sec/bulwark/internal/inventory/analyzers"
	"github.com/bulwark-sec/bulwark/internal/output"
	"github.com/bulwark-sec/bulwark/internal/policy"
)

// cacheFlags choose the inventory layer cache.
type cacheFlags struct {
	dir     string
	noCache bool
}

func (c *cacheFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&c.dir, "cache-dir", "", "layer cache directory (default: the user cache directory, bulwark/inventory)")
	cmd.Flags().BoolVar(&c.noCache, "no-cache", false, "neither read nor write the layer cache")
}

// cache returns the cache to use, nil with --no-cache.
func (c *cacheFlags) cache(warn io.Writer) (*inventory.Cache, error) {
	if c.noCache {
		return nil, nil
	}
	dir := c.dir
	if dir == "" {
		d, err := inventory.DefaultCacheDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	return &inventory.Cache{Dir: dir, Warn: func(m string) { fmt.Fprintln(warn, "bulwark: warning:", m) }}, nil
}

func newSBOMCmd() *cobra.Command {
	var (
		img   imageFlags
		out   outputFlags[*inventory.SBOM]
		cache cacheFlags
		trivy trivyFormats
	)
	cmd := &cobra.Command{
		Use:   "sbom IMAGE|DIR",
		Short: "List every package in an image or source tree (table, json, cyclonedx, spdx-json, html, github, template)",
		Long: `sbom lists the packages of an image (OS packages from dpkg, apk and rpm;
Go and Rust binaries; npm, Python, Java, Ruby, PHP and .NET packages) with
their versions, package URLs, licences, the files they were found in and
the layer that added them, and the image's OS.

A directory that is not an OCI layout is scanned as a source tree, where
lockfiles (package-lock.json, yarn.lock, poetry.lock, Cargo.lock, ...) count
too; use rootfs:DIR to scan a directory as an image root filesystem.

Results are cached per layer (--cache-dir, --no-cache; 'bulwark cache clean').`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := trivy.prepare(cmd, out.format.value); err != nil {
				return err
			}
			opts := inventory.Options{Analyzers: analyzers.All(), Mode: inventory.ModeImage,
				Tool: "bulwark", ToolVersion: buildinfo.Version}
			c, err := cache.cache(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			opts.Cache = c
			im, err := img.open(cmd.Context(), args)
			if err != nil {
				return err
			}
			defer im.Close()
			if im.Kind == image.KindDir {
				opts.Mode = inventory.ModeTree
			}
			bar := readProgress(cmd, im)
			opts.Progress = bar
			s, err := inventory.Scan(cmd.Context(), im, opts)
			bar.Close()
			if err != nil {
				return err
			}
			if err := out.write(cmd, s); err != nil {
				return err
			}
			return escapesErr(cmd, s.Escapes)
		},
	}
	img.register(cmd)
	img.trees = true
	out.register(cmd, output.SBOMWith(&trivy.Extras))
	trivy.register(cmd)
	out.format.alias("spdx", "spdx-json") // Trivy's and syft's name for SPDX JSON here
	cache.register(cmd)
	return cmd
}

// escapesErr fails the command (exit 1, the report already written) when
// the image has entries that leave its root, naming each on stderr.
func escapesErr(cmd *cobra.Command, escapes []finding.Finding) error {
	if len(escapes) == 0 {
		return nil
	}
	for _, f := range escapes {
		fmt.Fprintf(cmd.ErrOrStderr(), "bulwark: %s %s: %s\n", f.Severity, f.ID, f.Message)
	}
	return &policy.GateError{Code: policy.ExitFailed, Msg: fmt.Sprintf("the image is hostile: layer entries that leave the image root: %d (skipped; listed above)", len(escapes))}
}
