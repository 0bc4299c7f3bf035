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

	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/sign"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
	"github.com/bulwark-sec/bulwark/internal/vulndb/build"
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

// dbSourceFlags are the flags that choose where an update downloads from;
// 'db update' and every command that matches vulnerabilities take them.
type dbSourceFlags struct {
	path        string
	repository  string
	key         string
	insecure    bool
	osvBase     string
	ecosystems  []string
	nvd         string
	debian      string
	alpine      []string
	kev         string
	epss        string
	retries     int
	stall       time.Duration
	noProgress  bool
	skipUpdate  bool
	offline     bool
	maxAge      time.Duration
	updateAfter time.Duration
}

func (f *dbSourceFlags) register(cmd *cobra.Command, scan bool) {
	fl := cmd.Flags()
	d := update.DefaultSources()
	fl.StringVar(&f.path, "db", "", "vulnerability database file (default: the one 'db update' maintains in the user cache directory)")
	fl.StringVar(&f.repository, "db-repository", os.Getenv("BULWARK_DB_REPOSITORY"), "pull a prebuilt database from this OCI repository instead of building from sources ($BULWARK_DB_REPOSITORY)")
	fl.StringVar(&f.key, "db-key", "", "require the database artifact to carry a cosign signature that verifies with this public key (file or KMS reference)")
	fl.BoolVar(&f.insecure, "db-insecure", false, "allow plain HTTP and unverified TLS to the database registry")
	fl.StringVar(&f.osvBase, "osv-url", d.OSVBase, "OSV bucket: ECOSYSTEM/all.zip is downloaded from here (empty: skip OSV)")
	fl.StringSliceVar(&f.ecosystems, "ecosystem", d.Ecosystems, "OSV ecosystems to download")
	fl.StringVar(&f.nvd, "nvd-url", d.NVD, "NVD CVE API 2.0 endpoint (empty: skip NVD; $NVD_API_KEY raises its rate limit)")
	fl.StringVar(&f.debian, "debian-tracker-url", d.DebianTracker, "Debian security tracker JSON (empty: skip)")
	fl.StringArrayVar(&f.alpine, "alpine-secdb-url", nil, "Alpine secdb file to download, e.g. https://secdb.alpinelinux.org/v3.19/main.json (repeatable)")
	fl.StringVar(&f.kev, "kev-url", d.KEV, "CISA KEV catalogue (empty: skip)")
	fl.StringVar(&f.epss, "epss-url", d.EPSS, "EPSS scores CSV (empty: skip)")
	fl.IntVar(&f.retries, "retries", 3, "how often a failed download is tried again")
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
		fl.DurationVar(&f.maxAge, "db-max-age", vulndb.DefaultMaxAge, "warn when the database is older than this (0: never)")
		fl.DurationVar(&f.updateAfter, "db-update-after", 24*time.Hour, "update the database first when it is older than this")
	}
}

func (f *dbSourceFlags) options(cmd *cobra.Command) (update.Options, error) {
	p, err := dbPath(f.path)
	if err != nil {
		return update.Options{}, err
	}
	reg := image.Options{Insecure: f.insecure}
	o := update.Options{
		DB: p, Repository: f.repository, Registry: reg,
		Sources: update.Sources{
			OSVBase: f.osvBase, Ecosystems: f.ecosystems,
			NVD: f.nvd, NVDAPIKey: os.Getenv("NVD_API_KEY"), NVDPageDelay: 6 * time.Second,
			DebianTracker: f.debian, AlpineSecDB: f.alpine, KEV: f.kev, EPSS: f.epss,
		},
		Retries: f.retries, Stall: f.stall, Log: cmd.ErrOrStderr(),
	}
	if o.Sources.NVDAPIKey != "" {
		o.Sources.NVDPageDelay = 600 * time.Millisecond
	}
	if f.retries == 0 {
		o.Retries = -1
	}
	if !f.noProgress && term.IsTerminal(int(os.Stderr.Fd())) {
		o.Progress = os.Stderr
	}
	if f.key != "" {
		if f.repository == "" {
			return o, usageError{fmt.Errorf("--db-key checks the signature of a database pulled with --db-repository; give the repository too")}
		}
		o.Verifier = update.KeyVerifier{Key: f.key, Registry: sign.RegistryOptions{Options: reg}}
	}
	return o, nil
}

// openDB opens the database for a command that matches vulnerabilities:
// updating it first unless --skip-update or --offline, and returning the
// warnings (an old database, a failed update) for the report.
func (f *dbSourceFlags) openDB(cmd *cobra.Command) (*vulndb.DB, []string, error) {
	o, err := f.options(cmd)
	if err != nil {
		return nil, nil, err
	}
	maxAge := f.maxAge
	if maxAge == 0 {
		maxAge = -1
	}
	return update.Prepare(cmd.Context(), update.PrepareOptions{
		Update: o, SkipUpdate: f.skipUpdate, Offline: f.offline,
		UpdateAfter: f.updateAfter, MaxAge: maxAge,
	})
}

// interruptible cancels the command's context on SIGINT/SIGTERM, so that
// an interrupted download cleans up after itself.
func interruptible(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
}

func newDBUpdateCmd() *cobra.Command {
	var f dbSourceFlags
	cmd := &cobra.Command{
		Use:   "update",
		Short: "Download the advisory sources (or a prebuilt database) and install a new database",
		Long: `Download the advisory sources and build a new database, or pull a prebuilt
database published as an OCI artifact (--db-repository, optionally requiring
a cosign signature with --db-key). Downloads are retried with backoff and
checked (size, digest, content); the new file replaces the old one only when
everything succeeded, so a failed or interrupted update leaves the previous
database working. With --skip-update or --offline nothing is downloaded: the
command only checks the database that is there.`,
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
			ctx, stop := interruptible(cmd)
			defer stop()
			res, err := update.Update(ctx, o)
			if err != nil {
				return err
			}
			if res.Summary != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), res.Summary)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "installed %s: %d advisories for %d packages, built %s\n",
				res.Path, res.Metadata.Advisories, res.Metadata.Packages, res.Metadata.BuiltAt.UTC().Format(time.RFC3339))
			return nil
		},
	}
	f.register(cmd, false)
	return cmd
}

func newDBExportCmd() *cobra.Command {
	var path, out string
	cmd := &cobra.Command{
		Use:   "export -o FILE",
		Short: "Copy the database to a file for an air-gapped network",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usageError{fmt.Errorf("no output file: pass -o FILE")}
			}
			p, err := dbPath(path)
			if err != nil {
				return err
			}
			sum, err := update.Export(p, out)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s  %s\n", sum, out)
			fmt.Fprintf(cmd.ErrOrStderr(), "exported %s; on the other side run: bulwark db import --sha256 %s %s\n", p, sum, out)
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "db", "", "database file to export (default: the one in the user cache directory)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write")
	return cmd
}

func newDBImportCmd() *cobra.Command {
	var path, sum string
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Install a database file exported on another machine",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := dbPath(path)
			if err != nil {
				return err
			}
			meta, err := update.Import(args[0], p, strings.ToLower(strings.TrimSpace(sum)))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "installed %s: %d advisories, built %s\n", p, meta.Advisories, meta.BuiltAt.UTC().Format(time.RFC3339))
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "db", "", "where to install it (default: the database in the user cache directory)")
	cmd.Flags().StringVar(&sum, "sha256", "", "refuse the file unless its SHA-256 is this (as 'db export' prints)")
	return cmd
}

func newDBPushCmd() *cobra.Command {
	var path string
	var insecure bool
	cmd := &cobra.Command{
		Use:   "push REPOSITORY[:TAG]",
		Short: "Publish the database as an OCI artifact (for 'db update --db-repository')",
		Long: `Publish the database as an OCI artifact in any registry, for example a
private mirror that CI jobs pull from with 'db update --db-repository'. The
tag defaults to the schema version. Sign the printed digest with
'bulwark sign' or cosign so that pulls can require it with --db-key.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := dbPath(path)
			if err != nil {
				return err
			}
			d, err := update.Push(cmd.Context(), p, args[0], image.Options{Insecure: insecure})
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), d.String())
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "db", "", "database file to push (default: the one in the user cache directory)")
	cmd.Flags().BoolVar(&insecure, "insecure", false, "allow plain HTTP and unverified TLS to the registry")
	return cmd
}
