package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/bulwark-sec/bulwark/internal/sign"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
	"github.com/bulwark-sec/bulwark/internal/vulndb/build"
	"github.com/bulwark-sec/bulwark/internal/vulndb/defaultdb"
	"github.com/bulwark-sec/bulwark/internal/vulndb/update"
)

func newDBCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Build, update, inspect and move the vulnerability database",
		Long: `The vulnerability database is one compact local file built from advisory
sources (OSV, GitHub advisories, NVD, the Debian security tracker, Alpine
secdb, CISA KEV, EPSS). 'db update' keeps the default copy in the user cache
directory current; every command that matches vulnerabilities reads it, or
the file given with --db.`,
	}
	cmd.AddCommand(newDBBuildCmd(), newDBInfoCmd(), newDBUpdateCmd(), newDBExportCmd(), newDBImportCmd(), newDBPushCmd())
	return cmd
}

func newDBBuildCmd() *cobra.Command {
	var o build.Options
	cmd := &cobra.Command{
		Use:   "build -o FILE [--osv PATH]... [--ghsa PATH]... [--nvd PATH]... [--debian-tracker PATH] [--alpine-secdb PATH]... [--kev PATH] [--epss PATH]",
		Short: "Build a database file from advisory sources",
		Long: `Build a database file from local advisory sources. An OSV or GHSA PATH is a
directory (searched recursively for .json and .yaml records), a .zip (as
osv.dev publishes ECOSYSTEM/all.zip), a .tar.gz, or a single record file.
Records that cannot be used (broken JSON/YAML, malformed ranges, unknown
ecosystems) are skipped and counted in the summary.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Output == "" {
				return usageError{fmt.Errorf("no output file: pass -o FILE")}
			}
			sum, err := build.Build(cmd.Context(), o)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.ErrOrStderr(), sum)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Output, "output", "o", "", "database file to write")
	f.StringArrayVar(&o.OSV, "osv", nil, "OSV records: directory, .zip, .tar.gz or file (repeatable)")
	f.StringArrayVar(&o.GHSA, "ghsa", nil, "GitHub Advisory Database records in OSV JSON (repeatable)")
	f.StringArrayVar(&o.NVD, "nvd", nil, "NVD CVE API 2.0 responses: file or directory (repeatable)")
	f.StringVar(&o.DebianTracker, "debian-tracker", "", "Debian security tracker JSON export")
	f.StringArrayVar(&o.AlpineSecDB, "alpine-secdb", nil, "Alpine secdb JSON file, one per release and repository (repeatable)")
	f.StringVar(&o.KEV, "kev", "", "CISA Known Exploited Vulnerabilities catalogue (JSON)")
	f.StringVar(&o.EPSS, "epss", "", "EPSS scores (CSV, optionally gzipped)")
	return cmd
}

// dbPath returns the --db flag's value or the default database path.
func dbPath(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	return vulndb.DefaultPath()
}

func newDBInfoCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Print a database's age, schema version and sources",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := dbPath(path)
			if err != nil {
				return err
			}
			db, err := vulndb.Open(p)
			if err != nil {
				return err
			}
			defer db.Close()
			m := db.Metadata()
			w := cmd.OutOrStdout()
			now := time.Now()
			fmt.Fprintf(w, "database:   %s\n", p)
			fmt.Fprintf(w, "schema:     %d\n", m.SchemaVersion)
			fmt.Fprintf(w, "built:      %s (%s ago)\n", m.BuiltAt.UTC().Format(time.RFC3339), vulndb.HumanDuration(db.Age(now)))
			fmt.Fprintf(w, "advisories: %d\n", m.Advisories)
			fmt.Fprintf(w, "packages:   %d\n", m.Packages)
			fmt.Fprintln(w, "sources:")
			for _, s := range m.Sources {
				date := "-"
				if !s.Date.IsZero() {
					date = s.Date.UTC().Format("2006-01-02")
				}
				fmt.Fprintf(w, "  %-15s %s  %7d records  %s\n", s.Kind, date, s.Records, s.Location)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "db", "", "database file (default: the one 'db update' maintains in the user cache directory)")
	return cmd
}

// dbSourceFlags are the flags that say where a database comes from;
// 'db update' and every command that matches vulnerabilities take them.
type dbSourceFlags struct {
	reg          *registryFlags
	path         string
	repositories []string
	key          string
	retries      int
	stall        time.Duration
	noProgress   bool
	skipUpdate   bool
	offline      bool
	maxAge       ageValue
	stale        string
	updateAfter  time.Duration
	insecure     bool

	fromUpstream bool
	state        string
	osvBase      string
	ecosystems   []string
	nvd          string
	debian       string
	alpine       []string
	kev          string
	epss         string
}

// register adds the flags. reg is the command's registry flags, used for
// the database registry too. A command that matches vulnerabilities (scan)
// also gets the age flags; 'db update' gets the upstream source flags.
func (f *dbSourceFlags) register(cmd *cobra.Command, reg *registryFlags, scan bool) {
	f.reg = reg
	fl := cmd.Flags()
	fl.StringVar(&f.path, "db", "", "vulnerability database file (default: the one 'db update' maintains in the user cache directory)")
	fl.StringArrayVar(&f.repositories, "db-repository", nil, "pull the database from this OCI repository; repeatable, tried in order ($BULWARK_DB_REPOSITORY, comma-separated; default: "+strings.Join(defaultdb.Repositories, ", ")+")")
	fl.BoolVar(&f.insecure, "db-insecure", false, "allow plain HTTP and unverified TLS to the database registry (the other registry flags apply to it too)")
	fl.StringVar(&f.key, "db-key", "", "public key (file, env://VAR or KMS reference) the database's signature must verify with ($BULWARK_DB_KEY; default: the key embedded in bulwark)")
	fl.IntVar(&f.retries, "retries", 3, "how often a failed download is tried again (an unknown host or a refused connection is not retried)")
	// scan's --timeout is the limit of the whole run, as Trivy's is.
	stall := "timeout"
	if scan {
		stall = "db-timeout"
	}
	fl.DurationVar(&f.stall, stall, time.Minute, "give up a download that receives nothing for this long")
	fl.BoolVar(&f.noProgress, "no-progress", false, "do not draw progress bars (they are only drawn on a terminal anyway)")
	fl.BoolVar(&f.skipUpdate, "skip-update", false, "use the database as it is; never touch the network")
	fl.BoolVar(&f.offline, "offline", false, "never touch the network (same as --skip-update for the database)")
	if scan {
		f.maxAge = ageValue(vulndb.DefaultMaxAge)
		fl.Var(&f.maxAge, "db-max-age", "a database older than this is stale, e.g. 2d or 36h (0: never)")
		fl.StringVar(&f.stale, "db-stale", update.StaleWarn, "what a stale database that cannot be updated does: warn (a warning in the report) or fail (exit 2)")
		fl.DurationVar(&f.updateAfter, "db-update-after", 24*time.Hour, "update the database first when it is older than this")
		return
	}
	d := update.DefaultSources()
	fl.BoolVar(&f.fromUpstream, "from-upstream", false, "build the database from the upstream advisory sources instead of pulling the published one")
	fl.StringVar(&f.state, "state", "", "with --from-upstream: keep the downloaded records in this folder between runs, so that the next run asks NVD and OSV only for what changed (and a cut-off run resumes)")
	fl.StringVar(&f.osvBase, "osv-url", d.OSVBase, "with --from-upstream: OSV bucket, ECOSYSTEM/all.zip is downloaded from here (empty: skip OSV)")
	fl.StringSliceVar(&f.ecosystems, "ecosystem", d.Ecosystems, "with --from-upstream: OSV ecosystems to download")
	fl.StringVar(&f.nvd, "nvd-url", d.NVD, "with --from-upstream: NVD CVE API 2.0 endpoint (empty: skip NVD; $NVD_API_KEY raises its rate limit)")
	fl.StringVar(&f.debian, "debian-tracker-url", d.DebianTracker, "with --from-upstream: Debian security tracker JSON (empty: skip)")
	fl.StringArrayVar(&f.alpine, "alpine-secdb-url", nil, "with --from-upstream: Alpine secdb file, e.g. https://secdb.alpinelinux.org/v3.19/main.json (repeatable)")
	fl.StringVar(&f.kev, "kev-url", d.KEV, "with --from-upstream: CISA KEV catalogue (empty: skip)")
	fl.StringVar(&f.epss, "epss-url", d.EPSS, "with --from-upstream: EPSS scores CSV (empty: skip)")
}

// ageValue is a duration flag that also takes days ("2d").
type ageValue time.Duration

func (a *ageValue) String() string {
	d := time.Duration(*a)
	if d > 0 && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

func (a *ageValue) Set(s string) error {
	d, err := vulndb.ParseAge(s)
	*a = ageValue(d)
	return err
}

func (a *ageValue) Type() string { return "age" }

func (f *dbSourceFlags) options(cmd *cobra.Command) (update.Options, error) {
	p, err := dbPath(f.path)
	if err != nil {
		return update.Options{}, err
	}
	rs, err := f.reg.settings()
	if err != nil {
		return update.Options{}, err
	}
	rs.Insecure = rs.Insecure || f.insecure
	reg, err := rs.Client()
	if err != nil {
		return update.Options{}, err
	}
	o := update.Options{
		DB: p, Registry: reg, Repositories: defaultdb.ResolveRepositories(f.repositories, os.Getenv("BULWARK_DB_REPOSITORY")), FromUpstream: f.fromUpstream, State: f.state,
		Retries: f.retries, Stall: f.stall, Log: cmd.ErrOrStderr(),
	}
	if f.state != "" && !f.fromUpstream {
		return o, usageError{fmt.Errorf("--state keeps the records of --from-upstream between runs; give --from-upstream too")}
	}
	if f.fromUpstream {
		o.Sources = update.Sources{
			OSVBase: f.osvBase, Ecosystems: f.ecosystems,
			NVD: f.nvd, NVDPageDelay: 6 * time.Second,
			DebianTracker: f.debian, AlpineSecDB: f.alpine, KEV: f.kev, EPSS: f.epss,
		}.WithNVDKey(os.Getenv("NVD_API_KEY"))
	} else if o.Key, err = defaultdb.LoadKey(cmd.Context(), f.key, os.Getenv("BULWARK_DB_KEY")); err != nil {
		return o, err
	}
	if f.retries == 0 {
		o.Retries = -1
	}
	if !f.noProgress && term.IsTerminal(int(os.Stderr.Fd())) {
		o.Progress = os.Stderr
	}
	return o, nil
}

// openDB opens the database for a command that matches vulnerabilities:
// updating it first unless --skip-update or --offline, and returning the
// warnings (an old database, a failed update) for the report.
func (f *dbSourceFlags) openDB(cmd *cobra.Command) (*vulndb.DB, []string, error) {
	if err := update.CheckStalePolicy(f.stale); err != nil {
		return nil, nil, usageError{fmt.Errorf("--db-stale: %w", err)}
	}
	o, err := f.options(cmd)
	if err != nil {
		return nil, nil, err
	}
	maxAge := time.Duration(f.maxAge)
	if maxAge == 0 {
		maxAge = -1
	}
	ctx, stop := interruptible(cmd)
	defer stop()
	return update.Prepare(ctx, update.PrepareOptions{
		Update: o, Offline: f.skipUpdate || f.offline,
		UpdateAfter: f.updateAfter, MaxAge: maxAge, Stale: f.stale,
	})
}

// interruptible cancels the command's context on SIGINT/SIGTERM, so that
// an interrupted download cleans up after itself.
func interruptible(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
}

func newDBUpdateCmd() *cobra.Command {
	var f dbSourceFlags
	var reg registryFlags
	var ifOlder ageValue
	cmd := &cobra.Command{
		Use:   "update",
		Short: "Pull the published vulnerability database (or build one from upstream) and install it",
		Long: `Pull the published database: one OCI artifact whose cosign signature is
checked with the key embedded in bulwark (or --db-key) before it is
downloaded, whose size and digest are checked after, and which replaces the
previous database in one rename. The repositories (--db-repository,
$BULWARK_DB_REPOSITORY, else the published default and its mirror) are tried
in order; one that fails is skipped for the next. An unknown host or a
refused connection is not retried, so a machine without network fails at
once, with the ways out.

--from-upstream builds the database from the advisory sources instead (OSV,
NVD, the Debian tracker, Alpine secdb, KEV, EPSS): what the publishing
workflow runs. A failed or interrupted update leaves the previous database
as it was. With --skip-update or --offline nothing is downloaded: the
command only checks the database that is there.`,
		Example: `  bulwark db update
  bulwark db update --if-older-than 24h        # CI with a cached database
  bulwark db update --db-repository registry.internal/mirror/bulwark-db --db-key mirror.pub
  BULWARK_DB_REPOSITORY=registry-a/bulwark-db,registry-b/bulwark-db bulwark db update`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := f.options(cmd)
			if err != nil {
				return err
			}
			if f.skipUpdate || f.offline {
				db, err := vulndb.Open(o.DB)
				if err != nil {
					return err
				}
				defer db.Close()
				fmt.Fprintf(cmd.ErrOrStderr(), "not updating (--skip-update/--offline); %s was built %s ago\n", o.DB, vulndb.HumanDuration(db.Age(time.Now())))
				return nil
			}
			if ifOlder > 0 {
				if db, err := vulndb.Open(o.DB); err == nil {
					age := db.Age(time.Now())
					db.Close()
					if age < time.Duration(ifOlder) {
						fmt.Fprintf(cmd.ErrOrStderr(), "%s was built %s ago, less than --if-older-than %s: not updating\n", o.DB, vulndb.HumanDuration(age), ifOlder.String())
						return nil
					}
				}
			}
			ctx, stop := interruptible(cmd)
			defer stop()
			start := time.Now()
			res, err := update.Update(ctx, o)
			if err != nil {
				if ctx.Err() != nil || f.fromUpstream {
					return err
				}
				return fmt.Errorf("%w\nThe previous database, if any, is unchanged. %s", err, update.WaysOut(""))
			}
			if res.Summary != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), res.Summary)
			}
			from := ""
			if res.From != "" {
				from = " from " + res.From
			}
			verb := "installed"
			if res.Unchanged {
				verb = "already current (nothing downloaded):"
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%s %s%s in %s: %d advisories for %d packages, built %s\n",
				verb, res.Path, from, time.Since(start).Round(time.Millisecond), res.Metadata.Advisories, res.Metadata.Packages, res.Metadata.BuiltAt.UTC().Format(time.RFC3339))
			return nil
		},
	}
	reg.register(cmd)
	f.register(cmd, &reg, false)
	cmd.Flags().Var(&ifOlder, "if-older-than", "update only when the database is missing or older than this, e.g. 24h (for CI with a cached database)")
	return cmd
}

func newDBExportCmd() *cobra.Command {
	var path, out, key string
	cmd := &cobra.Command{
		Use:   "export -o FILE",
		Short: "Write the database and its signature to one bundle file for an air-gapped network",
		Long: `Write one bundle file (a tar of the database, its signature and a
description) that 'bulwark db import' checks and installs on a machine
without network. The signature is the one the database was pulled with; a
database built here ('db build', 'db update --from-upstream') has none, so
sign it with --key and import it with --db-key.`,
		Example: `  bulwark db update && bulwark db export -o bulwark-db.tar
  # on the air-gapped machine:
  bulwark db import bulwark-db.tar`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usageError{fmt.Errorf("no output file: pass -o FILE")}
			}
			p, err := dbPath(path)
			if err != nil {
				return err
			}
			signer, err := optionalSigner(cmd, key)
			if err != nil {
				return err
			}
			sum, err := update.Export(cmd.Context(), p, out, signer)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s  %s\n", sum, out)
			fmt.Fprintf(cmd.ErrOrStderr(), "exported %s; on the other side run: bulwark db import %s\n", p, out)
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "db", "", "database file to export (default: the one in the user cache directory)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "bundle file to write")
	cmd.Flags().StringVar(&key, "key", "", "sign the database with this private key (file, env://VAR or KMS reference) instead of carrying the signature it was pulled with")
	return cmd
}

// optionalSigner loads the signer a --key flag names; nil without one.
func optionalSigner(cmd *cobra.Command, key string) (*sign.Signer, error) {
	if key == "" {
		return nil, nil
	}
	return sign.LoadSigner(cmd.Context(), key, keyPassword(cmd))
}

func newDBImportCmd() *cobra.Command {
	var path, sum, key string
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Check and install a database bundle made by 'db export'",
		Long: `Check a bundle made by 'bulwark db export' (its signature must verify with
the key embedded in bulwark, or --db-key / $BULWARK_DB_KEY, and cover the
database in it) and install it in one rename. A bare database file carries no
signature and is accepted only with --sha256.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := dbPath(path)
			if err != nil {
				return err
			}
			v, err := defaultdb.LoadKey(cmd.Context(), key, os.Getenv("BULWARK_DB_KEY"))
			if err != nil {
				return err
			}
			meta, err := update.Import(args[0], p, v, strings.ToLower(strings.TrimSpace(sum)))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "installed %s: %d advisories, built %s\n", p, meta.Advisories, meta.BuiltAt.UTC().Format(time.RFC3339))
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "db", "", "where to install it (default: the database in the user cache directory)")
	cmd.Flags().StringVar(&sum, "sha256", "", "refuse the file unless its SHA-256 is this (as 'db export' prints)")
	cmd.Flags().StringVar(&key, "db-key", "", "public key the bundle's signature must verify with ($BULWARK_DB_KEY; default: the key embedded in bulwark)")
	return cmd
}

func newDBPushCmd() *cobra.Command {
	var path, key string
	var reg registryFlags
	cmd := &cobra.Command{
		Use:   "push REPOSITORY[:TAG]",
		Short: "Publish the database as a signed OCI artifact (for 'db update --db-repository')",
		Long: `Publish the database as an OCI artifact in any registry, for example a
private mirror that CI jobs pull from with 'db update --db-repository'. The
tag defaults to the schema version. With --key the artifact is signed where
cosign signs (the .sig tag), which 'db update' requires: with the embedded
key for the published database, or --db-key for your own.`,
		Example: `  bulwark db push registry.internal/mirror/bulwark-db --key mirror.key
  bulwark db push ghcr.io/bulwark-sec/bulwark-db:2 --key awskms:///alias/bulwark-db`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := dbPath(path)
			if err != nil {
				return err
			}
			ro, err := reg.client()
			if err != nil {
				return err
			}
			signer, err := optionalSigner(cmd, key)
			if err != nil {
				return err
			}
			d, err := update.Push(cmd.Context(), p, args[0], ro, signer)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), d.String())
			if signer == nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "pushed unsigned: 'db update' refuses it until it is signed (bulwark sign %s --key KEY)\n", d)
			}
			return nil
		},
	}
	reg.register(cmd)
	cmd.Flags().StringVar(&path, "db", "", "database file to push (default: the one in the user cache directory)")
	cmd.Flags().StringVar(&key, "key", "", "sign the pushed artifact with this private key (file, env://VAR or KMS reference)")
	cmd.Flags().BoolVar(&reg.insecure, "db-insecure", false, "the same as --insecure")
	return cmd
}
