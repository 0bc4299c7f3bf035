package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/bulwark-sec/bulwark/internal/vulndb"
	"github.com/bulwark-sec/bulwark/internal/vulndb/build"
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
	cmd.AddCommand(newDBBuildCmd(), newDBInfoCmd())
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
