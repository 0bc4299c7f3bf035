package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/inventory"
	"github.com/bulwark-sec/bulwark/internal/lint"
	"github.com/bulwark-sec/bulwark/internal/output"
	"github.com/bulwark-sec/bulwark/internal/scan"
	"github.com/bulwark-sec/bulwark/internal/secrets"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

// scanIgnoreFiles are read from the working directory when present and no
// --ignore-file is given; .trivyignore keeps Trivy users' lists working.
var scanIgnoreFiles = []string{".bulwarkignore", ".trivyignore", ".dockleignore"}

type scanFlags struct {
	img          imageFlags
	out          outputFlags[*finding.Report]
	trivy        trivyFormats
	db           dbSourceFlags
	gate         gateFlags
	scanners     []string
	secretConfig string
	hostProfile  string
	cacheDir     string
	noGitignore  bool
}

func newScanCmd() *cobra.Command {
	var f scanFlags
	cmd := &cobra.Command{
		Use:   "scan IMAGE|DIR",
		Short: "Scan an image or directory for vulnerabilities, secrets and CIS issues in one pass",
		Long: `Scan an image (or a directory) in one pass over its layers: inventory the
packages and match them against the vulnerability database, find secrets,
and check the image against the CIS Docker Benchmark.

--severity chooses what the report shows; --fail-on chooses what fails the
build, with the grammar every gate shares: a severity means that severity or
above, and "kev", "epss>X", "any" and "never" combine with it (default: each
gate's own, CRITICAL for vulnerabilities, FATAL for lint, any secret; with
--severity and no --fail-on, the lowest severity shown). See docs/policy.md.
--ignore-base fails only on what the application's layers added (the base is
found from --base-image, the org.opencontainers.image.base.* annotations, or
the history).

Exit codes: 0 passed, --exit-code (default 1) the gate failed, 2 error.`,
		Example: `  bulwark scan --input app.tar --severity CRITICAL,HIGH
  bulwark scan registry.local/app:1.4 --fail-on CRITICAL,kev,epss>0.5 -f sarif -o scan.sarif
  bulwark scan ./service --scanners vuln,secret --offline
  bulwark scan rootfs:/mnt/golden --scanners vuln,host --fail-on level1
  bulwark scan --input app.tar --ignore-unfixed --ignore-base --vex app.openvex.json`,
		Aliases: []string{"image"},
		Args:    cobra.MaximumNArgs(1),
		RunE:    func(cmd *cobra.Command, args []string) error { return runScan(cmd, args, &f) },
	}
	f.img.register(cmd)
	f.img.trees = true
	f.out.register(cmd, output.ScanWith(&f.trivy.Extras))
	f.trivy.register(cmd)
	f.db.register(cmd, &f.img.reg, true)
	f.gate.register(cmd, scanIgnoreFiles...)
	f.gate.withVulns(cmd)
	fl := cmd.Flags()
	fl.StringSliceVar(&f.scanners, "scanners", []string{"vuln", "secret", "lint"}, "what to look for: vuln, secret, lint, host (CIS host benchmark; comma-separated)")
	fl.StringVar(&f.hostProfile, "host-profile", "", "host benchmark profile for --scanners host (default: the one /etc/os-release names; see docs/host.md)")
	fl.StringVar(&f.secretConfig, "secret-config", "", "secrets configuration file (rules, allowlist), as 'bulwark secrets --config' takes")
	fl.StringVar(&f.cacheDir, "cache-dir", "", "cache directory: the database is DIR/db/vulndb.bwdb unless --db (default: $BULWARK_CACHE_DIR, else the user cache directory)")
	fl.BoolVar(&f.noGitignore, "no-gitignore", false, "in a source folder, scan what .gitignore files exclude too")
	registerTimeout(cmd, "")
	// Trivy's names.
	alias(cmd, "ignore-file", "ignorefile", "", "")
	alias(cmd, "skip-update", "skip-db-update", "", "")
	accept(cmd, "offline-scan", "", "")
	return cmd
}

func runScan(cmd *cobra.Command, args []string, f *scanFlags) error {
	want := map[string]bool{}
	for _, s := range f.scanners {
		for _, p := range strings.Split(s, ",") {
			switch p = strings.ToLower(strings.TrimSpace(p)); p {
			case "vuln", "secret", "lint", "host":
				want[p] = true
			case "secrets":
				want["secret"] = true
			case "misconfig", "config":
				want["lint"] = true
			case "":
			default:
				return usageError{fmt.Errorf("--scanners: unknown scanner %q (want vuln, secret, lint, host)", p)}
			}
		}
	}
	if len(want) == 0 {
		return usageError{fmt.Errorf("--scanners: name at least one of vuln, secret, lint, host")}
	}
	var gates []finding.Gate
	for _, g := range []struct {
		name string
		gate finding.Gate
	}{{"vuln", finding.GateVuln}, {"lint", finding.GateLint}, {"secret", finding.GateSecrets}, {"host", finding.GateHost}} {
		if want[g.name] {
			gates = append(gates, g.gate)
		}
	}
	pol, err := f.gate.policy(cmd, gates...)
	if err != nil {
		return err
	}
	if err := f.trivy.prepare(cmd, f.out.format.value); err != nil {
		return err
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

	if want["secret"] && secOpts.Engine == nil {
		// The built-in rules compile while the image and the database
		// open (the secret gate needs them before the walk starts).
		go secrets.DefaultEngine()
	}
	ctx := cmd.Context()
	// The input first: a missing file is reported as such, not as a
	// database problem.
	img, err := f.img.open(ctx, args)
	if err != nil {
		return err
	}
	mode, gitignoreRoot := inventory.ModeImage, ""
	if img.Kind == image.KindDir {
		mode = inventory.ModeTree
		if !f.noGitignore {
			gitignoreRoot = img.Name
		}
	}
	defer img.Close()
	var dbw []string
	var db *vulndb.DB
	if want["vuln"] {
		if f.cacheDir != "" && f.db.path == "" {
			f.db.path = vulndb.PathIn(f.cacheDir)
		}
		if db, dbw, err = f.db.openDB(cmd); err != nil {
			return err
		}
		defer db.Close()
	}

	baseOpts, err := f.img.options()
	if err != nil {
		return err
	}
	base, baseWarn := scan.BaseLayers(ctx, img, f.gate.baseImage, baseOpts, f.gate.ignoreBase)
	if baseWarn != "" {
		warnings = append(warnings, baseWarn)
	}
	bar := readProgress(cmd, img)
	res, err := scan.Run(ctx, img, scan.Options{
		Vulns: want["vuln"], Lint: want["lint"], Secrets: want["secret"], Host: want["host"], HostProfile: f.hostProfile,
		DB: db, Mode: mode, BaseLayers: base, Progress: bar, GitignoreRoot: gitignoreRoot,
		SBOM:        f.out.format.value == "github" || f.out.format.value == "template",
		LintOptions: lint.Options{Env: os.Getenv}, SecretOptions: secOpts,
	})
	bar.Close()
	if err != nil {
		return err
	}
	f.trivy.Inventory = res.SBOM
	warnings = append(warnings, res.Warnings...)
	warnings = append(warnings, dbw...)
	if res.Host != nil {
		fmt.Fprintln(cmd.ErrOrStderr(), res.Host.Summary())
	}

	pol.BaseLayers = base
	pol.Subjects = []string{img.Name, img.Reference}
	r := newReport(res.Target, res.Gates...)
	r.Findings = res.Findings
	r.Warnings = warnings
	if db != nil {
		r.Database = db.Metadata().Describe()
	}
	return finish(cmd, &f.out, pol, r)
}
