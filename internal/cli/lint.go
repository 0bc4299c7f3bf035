package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/lint"
	"github.com/bulwark-sec/bulwark/internal/output"
	"github.com/bulwark-sec/bulwark/internal/sign"
)

// lintIgnoreFiles are read from the working directory when present and no
// --ignore-file is given; .dockleignore keeps Dockle users' lists working.
var lintIgnoreFiles = []string{".bulwarkignore", ".dockleignore"}

type lintFlags struct {
	img         imageFlags
	out         outputFlags[*finding.Report]
	gate        gateFlags
	exitLevel   string
	acceptKeys  []string
	acceptFiles []string
	acceptExts  []string
	verifyKey   string
	sensitive   lintSensitive
}

// lintSensitive are Dockle's --sensitive-* flags: more names CIS-DI-0010
// flags.
type lintSensitive struct {
	words, files, exts []string
}

func newLintCmd() *cobra.Command {
	var f lintFlags
	cmd := &cobra.Command{
		Use:   "lint IMAGE",
		Short: "Check an image against the CIS Docker Benchmark (Dockle-compatible)",
		Long: `Check an image's configuration, history and files against the CIS Docker
Benchmark, with Dockle's check IDs (CIS-DI-*, DKL-DI-*, DKL-LI-*) and levels
(INFO, WARN, FATAL). The image is read in one pass and never unpacked.

IMAGE is a registry reference (host/repo:tag, host/repo@sha256:...), an
archive (docker save or OCI archive; or --input FILE), an OCI layout
directory (oci:DIR[:TAG]) or a root filesystem (rootfs:DIR).

The gate fails (exit code --exit-code, default 1) when a finding that is not
ignored meets --fail-on (default fatal; --exit-level is Dockle's name for it,
and its levels map onto the scale every gate shares: INFO = info, WARN =
medium, FATAL = critical; see docs/policy.md). Exit code 2 means the image
could not be read.`,
		Example: `  bulwark lint --input app.tar
  bulwark lint --insecure 127.0.0.1:5000/team/app:1.4 --exit-level fatal
  bulwark lint rootfs:/srv/rootfs --format sarif -o lint.sarif
  bulwark lint oci:./layout:v1 --ignore CIS-DI-0005 --accept-key GPG_KEY`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runLint(cmd, args, &f) },
	}
	f.img.register(cmd)
	f.out.register(cmd, output.Findings)
	f.out.format.alias("list", "table") // Dockle's name for its table
	f.gate.shorthands = map[string]string{"exit-code": "c", "ignore": "i"}
	f.gate.register(cmd, lintIgnoreFiles...)
	fl := cmd.Flags()
	fl.StringVarP(&f.exitLevel, "exit-level", "l", "", "Dockle's name for --fail-on: info|warn|fatal (that level or above)")
	fl.StringSliceVar(&f.acceptKeys, "accept-key", nil, "ENV/LABEL key that CIS-DI-0010 accepts (repeatable)")
	fl.StringSliceVar(&f.acceptFiles, "accept-file", nil, "file name or path that CIS-DI-0010 accepts (repeatable)")
	fl.StringSliceVar(&f.acceptExts, "accept-file-extension", nil, "file extension that CIS-DI-0010 accepts (repeatable)")
	fl.StringSliceVar(&f.sensitive.words, "sensitive-word", nil, "word that, as a part of an ENV/LABEL key, CIS-DI-0010 flags too (repeatable)")
	fl.StringSliceVar(&f.sensitive.files, "sensitive-file", nil, "file name or path that CIS-DI-0010 flags too (repeatable)")
	fl.StringSliceVar(&f.sensitive.exts, "sensitive-file-extension", nil, "file extension that CIS-DI-0010 flags too (repeatable)")
	fl.StringVar(&f.verifyKey, "verify-key", "", "make CIS-DI-0005 a real check: the image must carry a signature that verifies with this key (file, env://, awskms://, ...)")
	registerTimeout(cmd, "t")
	// Dockle's names.
	alias(cmd, "accept-key", "ak", "", "")
	alias(cmd, "accept-file", "af", "", "")
	alias(cmd, "accept-file-extension", "ae", "", "")
	alias(cmd, "registry-username", "username", "", "")
	alias(cmd, "registry-password", "password", "", "")
	alias(cmd, "insecure", "nonssl", "", "bulwark's --insecure: plain HTTP and also unverified TLS")
	accept(cmd, "no-color", "", "")
	accept(cmd, "debug", "d", "bulwark has no debug log; errors already say what failed and with what input")
	return cmd
}

func runLint(cmd *cobra.Command, args []string, f *lintFlags) error {
	if f.exitLevel != "" {
		if len(f.gate.failOn) > 0 {
			return usageError{fmt.Errorf("give either --fail-on or --exit-level (Dockle's name for it), not both")}
		}
		f.gate.failOn, f.gate.failOnFlag = []string{f.exitLevel}, "--exit-level"
	}
	pol, err := f.gate.policy(cmd, finding.GateLint)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	img, err := f.img.open(ctx, args)
	if err != nil {
		return err
	}
	defer img.Close()
	opts := lint.Options{
		AcceptKeys: f.acceptKeys, AcceptFiles: f.acceptFiles, AcceptExtensions: f.acceptExts,
		SensitiveWords: f.sensitive.words, SensitiveFiles: f.sensitive.files, SensitiveExtensions: f.sensitive.exts,
		Env: os.Getenv,
	}
	if f.verifyKey != "" {
		opts.ContentTrust = f.contentTrust
	}
	bar := readProgress(cmd, img)
	opts.Progress = bar
	findings, warnings, err := lint.Run(ctx, img, opts)
	bar.Close()
	if err != nil {
		return err
	}
	r := newReport(img.Target(), finding.GateLint)
	r.Findings, r.Warnings = findings, warnings
	return finish(cmd, &f.out, pol, r)
}

// contentTrust checks the image's signature in its registry with the
// --verify-key key, for CIS-DI-0005.
func (f *lintFlags) contentTrust(ctx context.Context, img *image.Image) (string, error) {
	if img.Kind != image.KindRegistry {
		return "", fmt.Errorf("--verify-key needs an image in a registry, where its signatures are stored; %s is a %s", img.Name, img.Kind)
	}
	ref, err := name.ParseReference(img.Reference)
	if err != nil {
		return "", err
	}
	byDigest := ref.Context().Digest(img.Digest).String()
	o, err := f.img.options()
	if err != nil {
		return "", err
	}
	_, err = sign.VerifyImage(ctx, byDigest, f.verifyKey, sign.VerifyOptions{Registry: o.Registry})
	if sign.IsVerificationFailure(err) {
		return err.Error(), nil
	}
	return "", err
}
