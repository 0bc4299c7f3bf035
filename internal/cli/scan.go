package cli

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/inventory"
	"github.com/bulwark-sec/bulwark/internal/lint"
	"github.com/bulwark-sec/bulwark/internal/match"
	"github.com/bulwark-sec/bulwark/internal/policy"
	"github.com/bulwark-sec/bulwark/internal/scan"
	"github.com/bulwark-sec/bulwark/internal/secrets"
	"github.com/bulwark-sec/bulwark/internal/vex"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

// scanIgnoreFiles are read from the working directory when present and no
// --ignore-file is given; .trivyignore keeps Trivy users' lists working.
var scanIgnoreFiles = []string{".bulwarkignore", ".trivyignore", ".dockleignore"}

// defaultFailOn fails on every vulnerability and secret, and on lint
// findings from WARN up (INFO is shown but does not fail).
var defaultFailOn = []string{"UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"}

type scanFlags struct {
	img           imageFlags
	out           outputFlags
	db            dbSourceFlags
	scanners      []string
	severity      []string
	failOn        []string
	exitCode      int
	ignoreUnfixed bool
	ignoreBase    bool
	baseImage     string
	ignores       []string
	ignoreFiles   []string
	vexFiles      []string
	secretConfig  string
}

func newScanCmd() *cobra.Command {
	var f scanFlags
	cmd := &cobra.Command{
		Use:   "scan IMAGE|DIR",
		Short: "Scan an image or directory for vulnerabilities, secrets and CIS issues in one pass",
		Long: `Scan an image (or a directory) in one pass over its layers: inventory the
packages and match them against the vulnerability database, find secrets,
and check the image against the CIS Docker Benchmark.

--severity chooses what the report shows; --fail-on (default: the same list,
or every severity but INFO) chooses what fails the build, and also takes
"kev" and "epss>X". --ignore-base fails only on what the application's
layers added (the base is found from --base-image, the
org.opencontainers.image.base.* annotations, or the history).

Exit codes: 0 passed, --exit-code (default 1) the gate failed, 2 error.`,
		Example: `  bulwark scan --input app.tar --severity CRITICAL,HIGH
  bulwark scan registry.local/app:1.4 --fail-on CRITICAL,kev,epss>0.5 -f sarif -o scan.sarif
  bulwark scan ./service --scanners vuln,secret --offline
  bulwark scan --input app.tar --ignore-unfixed --ignore-base --vex app.openvex.json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runScan(cmd, args, &f) },
	}
	f.img.register(cmd)
	f.out.register(cmd, "table", "json", "sarif", "cyclonedx")
	f.db.register(cmd, true)
	fl := cmd.Flags()
	fl.StringSliceVar(&f.scanners, "scanners", []string{"vuln", "secret", "lint"}, "what to look for: vuln, secret, lint (comma-separated)")
	fl.StringSliceVarP(&f.severity, "severity", "s", nil, "severities to report, e.g. CRITICAL,HIGH (default: all)")
	fl.StringSliceVar(&f.failOn, "fail-on", nil, "what fails the build: severities, kev, epss>X (default: --severity, or every severity but INFO)")
	fl.IntVar(&f.exitCode, "exit-code", policy.ExitFailed, "exit code when the gate fails")
	fl.BoolVar(&f.ignoreUnfixed, "ignore-unfixed", false, "hide vulnerabilities that have no fix yet")
	fl.BoolVar(&f.ignoreBase, "ignore-base", false, "fail only on findings in the layers the application added, not the base image's")
	fl.StringVar(&f.baseImage, "base-image", "", "the base image (reference or archive), to tell its layers from the application's")
	fl.StringSliceVar(&f.ignores, "ignore", nil, "finding ID (or CVE alias) to ignore (repeatable)")
	fl.StringSliceVar(&f.ignoreFiles, "ignore-file", nil, "ignore file: ID [exp:YYYY-MM-DD] [# reason] per line (default: .bulwarkignore, .trivyignore, .dockleignore if present)")
	fl.StringArrayVar(&f.vexFiles, "vex", nil, "OpenVEX document whose not_affected and fixed statements suppress findings (repeatable)")
	fl.StringVar(&f.secretConfig, "secret-config", "", "secrets configuration file (rules, allowlist), as 'bulwark secrets --config' takes")
	return cmd
}

func runScan(cmd *cobra.Command, args []string, f *scanFlags) error {
	want := map[string]bool{}
	for _, s := range f.scanners {
		for _, p := range strings.Split(s, ",") {
			switch p = strings.ToLower(strings.TrimSpace(p)); p {
			case "vuln", "secret", "lint":
				want[p] = true
			case "secrets":
				want["secret"] = true
			case "misconfig", "config":
				want["lint"] = true
			case "":
			default:
				return usageError{fmt.Errorf("--scanners: unknown scanner %q (want vuln, secret, lint)", p)}
			}
		}
	}
	if len(want) == 0 {
		return usageError{fmt.Errorf("--scanners: name at least one of vuln, secret, lint")}
	}
	show, err := match.ParseSeverities(f.severity)
	if err != nil {
		return usageError{fmt.Errorf("--severity: %w", err)}
	}
	failOn := f.failOn
	if !cmd.Flags().Changed("fail-on") {
		failOn = defaultFailOn
		if len(f.severity) > 0 {
			failOn = f.severity
		}
	}
	gate, err := match.ParseFailOn(failOn)
	if err != nil {
		return usageError{fmt.Errorf("--fail-on: %w", err)}
	}
	gate.ExitCode, gate.IgnoreBase = f.exitCode, f.ignoreBase
	ignores, err := loadIgnores(f.ignores, f.ignoreFiles, scanIgnoreFiles)
	if err != nil {
		return err
	}
	var vexDocs []*vex.Document
	for _, p := range f.vexFiles {
		d, err := vex.ParseFile(p)
		if err != nil {
			return err
		}
		vexDocs = append(vexDocs, d)
	}
	var secOpts secrets.Options
	var warnings []string
	if f.secretConfig != "" && want["secret"] {
		cfg, err := secrets.LoadConfig(f.secretConfig)
		if err != nil {
			return err
		}
		if secOpts.Engine, err = cfg.Engine(); err != nil {
			return fmt.Errorf("secrets config %q: %w", f.secretConfig, err)
		}
		secOpts.Allowlist = cfg.Allowlist
		warnings = append(warnings, cfg.Warnings...)
	}

	ctx := cmd.Context()
	// The database first: a scan that cannot match should fail before
	// reading the image.
	var dbw []string
	var db *vulndb.DB
	if want["vuln"] {
		if db, dbw, err = f.db.openDB(cmd); err != nil {
			return err
		}
		defer db.Close()
	}

	mode := inventory.ModeImage
	if len(args) == 1 && f.img.input == "" {
		if spec, tree := inventory.TreeSpec(args[0]); tree {
			args = []string{spec}
			mode = inventory.ModeTree
		}
	}
	img, err := f.img.open(ctx, args)
	if err != nil {
		return err
	}
	defer img.Close()

	baseOpts, err := f.img.reg.options()
	if err != nil {
		return err
	}
	base, baseWarn := scan.BaseLayers(ctx, img, f.baseImage, baseOpts, f.ignoreBase)
	if baseWarn != "" {
		warnings = append(warnings, baseWarn)
	}
	gate.BaseLayers = base
	bar := readProgress(img)
	res, err := scan.Run(ctx, img, scan.Options{
		Vulns: want["vuln"], Lint: want["lint"], Secrets: want["secret"],
		DB: db, Mode: mode, BaseLayers: base, Progress: bar,
		LintOptions: lint.Options{Env: os.Getenv}, SecretOptions: secOpts,
	})
	bar.Close()
	if err != nil {
		return err
	}
	warnings = append(warnings, res.Warnings...)
	warnings = append(warnings, dbw...)

	r := newReport(res.Target, res.Gates...)
	r.Findings = res.Findings
	r.Warnings = warnings
	ignores.Apply(r, time.Now())
	vex.Apply(r, vexDocs, []string{img.Name, img.Reference, img.Digest})
	if f.ignoreUnfixed {
		r.Findings = keep(r.Findings, func(x *finding.Finding) bool {
			return x.Vuln == nil || x.Vuln.Status != match.StatusAffected
		})
	}
	verdict := gate.Evaluate(r.Findings)
	if len(show) > 0 {
		r.Findings = keep(r.Findings, func(x *finding.Finding) bool { return show[x.Severity] })
	}
	r.Sort()
	if err := f.out.write(cmd, r); err != nil {
		return err
	}
	return verdict
}

func keep(fs []finding.Finding, ok func(*finding.Finding) bool) []finding.Finding {
	out := fs[:0]
	for i := range fs {
		if ok(&fs[i]) {
			out = append(out, fs[i])
		}
	}
	return out
}
