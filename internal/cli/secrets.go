package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/output"
	"github.com/bulwark-sec/bulwark/internal/secrets"
)

type secretsFlags struct {
	img         imageFlags
	out         outputFlags[*finding.Report]
	git         bool
	since       string
	image       bool
	noGitignore bool
	config      string
	allowlist   string
	baseline    string
	showSecrets bool
	gate        gateFlags
	maxFileSize int64
	listRules   bool
	osFiles     bool
}

func newSecretsCmd() *cobra.Command {
	var f secretsFlags
	cmd := &cobra.Command{
		Use:   "secrets [DIR | FILE | IMAGE]",
		Short: "Find secrets in a source tree, its git history, or every layer of an image",
		Long: `Find credentials (cloud keys, tokens, private keys, passwords, ...) with a
built-in set of rules, custom YAML rules or an imported gitleaks config.

  bulwark secrets DIR          files under DIR, honouring .gitignore
  bulwark secrets --git DIR    lines added by every commit reachable from HEAD
                               (or after --since REV), with commit and author
  bulwark secrets IMAGE        every file of every layer, deleted ones included,
                               with the layer digest and the history line

An argument that is an existing directory (not an OCI layout) or a text file
is scanned as a tree; anything else is opened as an image (registry
reference, archive, oci:DIR, rootfs:DIR; or --input FILE). --image forces it.

Secrets are redacted in every output format (first 4 characters, then
*****) unless --show-secrets. Findings on a line with a "bulwark:ignore"
comment, in the --allowlist, or in the --baseline are reported as
suppressed and do not fail the gate.

Exit codes: 0 no unsuppressed finding meets --fail-on (default: any
secret; the grammar every gate shares, see docs/policy.md), --exit-code
(default 1) otherwise, 2 when the target could not be scanned.`,
		Example: `  bulwark secrets .
  bulwark secrets --git --since origin/main .
  bulwark secrets --input app.tar --format sarif -o secrets.sarif
  bulwark secrets . -f json -o .bulwark-baseline.json   # record a baseline once
  bulwark secrets . --baseline .bulwark-baseline.json   # then fail on new secrets only
  bulwark secrets . --config .gitleaks.toml --allowlist .bulwark-allowlist.yaml`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runSecrets(cmd, args, &f) },
	}
	f.img.register(cmd)
	f.out.register(cmd, output.Findings)
	f.gate.register(cmd, ".bulwarkignore")
	fl := cmd.Flags()
	fl.BoolVar(&f.git, "git", false, "scan the git history of DIR instead of its files")
	fl.StringVar(&f.since, "since", "", "with --git: scan only the commits after this revision (REV..HEAD)")
	fl.BoolVar(&f.image, "image", false, "treat the argument as an image even if it is a directory or file")
	fl.BoolVar(&f.noGitignore, "no-gitignore", false, "scan files that .gitignore excludes too")
	fl.StringVar(&f.config, "config", "", "rules file: bulwark YAML, or a gitleaks TOML config (*.toml)")
	fl.StringVar(&f.allowlist, "allowlist", "", "allowlist YAML file (paths, rules, regexes, stopwords, fingerprints, commits)")
	fl.StringVar(&f.baseline, "baseline", "", "baseline file (a bulwark JSON report or a list of fingerprints): its findings do not fail the gate")
	fl.BoolVar(&f.showSecrets, "show-secrets", false, "print whole secrets instead of redacting them")
	fl.Int64Var(&f.maxFileSize, "max-file-size", 0, "skip files larger than this many bytes (0: no limit; large files are streamed)")
	fl.BoolVar(&f.listRules, "list-rules", false, "list the rules in effect and exit")
	fl.BoolVar(&f.osFiles, "include-os-files", false, "images: also report findings in files that OS packages installed (dpkg, rpm, apk file lists)")
	return cmd
}

func runSecrets(cmd *cobra.Command, args []string, f *secretsFlags) error {
	pol, err := f.gate.policy(cmd, finding.GateSecrets)
	if err != nil {
		return err
	}
	if f.since != "" && !f.git {
		return usageError{fmt.Errorf("--since needs --git")}
	}
	opts := secrets.Options{ShowSecrets: f.showSecrets, MaxFileSize: f.maxFileSize, IncludeOSFiles: f.osFiles}
	var warnings []string
	if f.config != "" {
		cfg, err := secrets.LoadConfig(f.config)
		if err != nil {
			return err
		}
		if opts.Engine, err = cfg.Engine(); err != nil {
			return fmt.Errorf("config %q: %w", f.config, err)
		}
		opts.Allowlist = cfg.Allowlist
		warnings = append(warnings, cfg.Warnings...)
	}
	if f.allowlist != "" {
		a, err := secrets.LoadAllowlist(f.allowlist)
		if err != nil {
			return err
		}
		opts.Allowlist = opts.Allowlist.Merge(a)
	}
	if f.baseline != "" {
		if opts.Baseline, err = secrets.LoadBaseline(f.baseline); err != nil {
			return err
		}
	}
	if f.listRules {
		eng := opts.Engine
		if eng == nil {
			if eng, err = secrets.DefaultEngine(); err != nil {
				return err
			}
		}
		return listRules(cmd.OutOrStdout(), eng)
	}

	ctx := cmd.Context()
	var res *secrets.Result
	var target finding.Target
	switch {
	case f.git:
		if len(args) == 0 {
			args = []string{"."}
		}
		target = finding.Target{Name: args[0], Kind: "git"}
		res, err = secrets.ScanGit(ctx, args[0], secrets.GitOptions{Options: opts, Since: f.since})
	case !f.image && f.img.input == "" && len(args) == 1 && isSourcePath(args[0]):
		target = finding.Target{Name: args[0], Kind: "dir"}
		res, err = secrets.ScanDir(ctx, args[0], secrets.DirOptions{Options: opts, NoGitignore: f.noGitignore})
	case len(args) == 0 && f.img.input == "":
		return usageError{fmt.Errorf("nothing to scan: name a directory, a file or an image (or --input FILE)")}
	case !f.image && f.img.input == "" && missingLocalPath(args[0]):
		// A path, not a registry reference: say so rather than "image".
		return fmt.Errorf("%s: no such file or directory", args[0])
	default:
		img, oerr := f.img.open(ctx, args)
		if oerr != nil {
			return oerr
		}
		defer img.Close()
		target = img.Target()
		bar := readProgress(cmd, img)
		opts.Progress = bar
		res, err = secrets.ScanImage(ctx, img, opts)
		bar.Close()
	}
	if err != nil {
		return err
	}
	r := newReport(target, finding.GateSecrets)
	r.Findings = res.Findings
	r.Warnings = append(warnings, res.Warnings...)
	return finish(cmd, &f.out, pol, r)
}

// isSourcePath reports whether an argument names a source tree or a text
// file rather than an image: an existing directory that is not an OCI
// layout, or an existing file that is not a tar or compressed archive.
func isSourcePath(arg string) bool {
	for _, p := range []string{"rootfs:", "oci:", "docker-archive:", "oci-archive:"} {
		if strings.HasPrefix(arg, p) {
			return false
		}
	}
	if image.IsTree(arg) {
		return true
	}
	info, err := os.Stat(arg)
	if err != nil || info.IsDir() {
		return false
	}
	fh, err := os.Open(arg)
	if err != nil {
		return true // let the tree scan report it
	}
	defer fh.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(fh, head)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}), bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return false // gzip, zstd
	case n >= 262 && bytes.HasPrefix(head[257:], []byte("ustar")):
		return false // tar
	}
	return true
}

// missingLocalPath reports an argument written as a local path ("/x",
// "./x", "../x", "x/" ...) that does not exist.
func missingLocalPath(arg string) bool {
	if !strings.HasPrefix(arg, "/") && !strings.HasPrefix(arg, ".") {
		return false
	}
	_, err := os.Stat(arg)
	return os.IsNotExist(err)
}

// listRules prints the rules in effect.
func listRules(w io.Writer, eng *secrets.Engine) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "ID\tSEVERITY\tTITLE\tKEYWORDS\n")
	for _, r := range eng.Rules() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, r.Severity, r.Title, strings.Join(r.Keywords, ","))
	}
	fmt.Fprintf(tw, "\n%d rules\n", len(eng.Rules()))
	return tw.Flush()
}
