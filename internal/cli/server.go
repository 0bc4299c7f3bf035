package cli

import (
	"github.com/spf13/cobra"

	"github.com/bulwark-sec/bulwark/internal/server"
	"github.com/bulwark-sec/bulwark/internal/server/config"
)

func newServerCmd() *cobra.Command {
	var (
		file string
		o    config.Overrides
		reg  registryFlags
	)
	cmd := &cobra.Command{
		Use:   "server [--config FILE] [flags]",
		Short: "Assess every image pushed to a registry once, and re-match it when the vulnerability database changes",
		Long: `Serve the registry webhooks (CNCF registry notifications, Amazon ECR
push events through EventBridge), poll watched repositories, and serve a
JSON API. Each new image digest is read once (vulnerabilities, lint,
secrets, in one pass); its package index and findings are stored
(SQLite). When the vulnerability database file changes (replaced, or
pulled by the server itself every --db-update-interval, as 'bulwark db
update' does), only the images whose packages the change touches are
re-matched, from the stored inventory, without reading them again. Flags override the configuration
file; without one, the flags are the whole configuration. SIGTERM stops
it gracefully. See docs/server.md.`,
		Example: `  bulwark server --config server.yaml
  bulwark server --listen 127.0.0.1:8080 --watch registry.internal:5000/team/app --token s3cret
  bulwark server --db-update-interval 6h --db-repository registry.internal:5000/security/bulwark-db --db-key db.pub`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := config.Default()
			if file != "" {
				var err error
				if c, err = config.Load(file); err != nil {
					return usageError{err}
				}
			}
			var err error
			if o.Registry, err = reg.settings(); err != nil {
				return err
			}
			if err := c.Override(o); err != nil {
				return usageError{err}
			}
			// A certificate or key that does not load is a bad value.
			if _, err := c.TLS.Config(); err != nil {
				return usageError{err}
			}
			if c.UpdateEvery > 0 {
				if _, _, _, err := c.DBUpdateSource(cmd.Context()); err != nil {
					return usageError{err}
				}
			}
			return server.Run(cmd.Context(), c, cmd.ErrOrStderr(), nil)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&file, "config", "", "server configuration file (YAML, see docs/server.md)")
	fl.StringVar(&o.Listen, "listen", "", "address to serve (default "+config.DefaultListen+"; port 0: any free port, logged)")
	fl.StringVar(&o.Store, "database", "", "store: sqlite://PATH (default: server.db in the cache folder) or postgres://...")
	fl.StringArrayVar(&o.Watch, "watch", nil, "REGISTRY/REPOSITORY (or REGISTRY: its whole catalog) to poll and take webhooks for (repeatable)")
	fl.StringVar(&o.PollInterval, "poll-interval", "", "time between polls of the watched repositories (default 5m)")
	fl.StringVar(&o.Token, "token", "", "bearer token of the API and the webhooks (or set BULWARK_SERVER_TOKEN)")
	fl.StringVar(&o.DBFile, "db", "", "vulnerability database file, re-matched against when replaced (default: the file 'bulwark db update' writes)")
	fl.StringVar(&o.DBUpdateInterval, "db-update-interval", "", "pull the vulnerability database every so often (e.g. 6h or 1d), as 'bulwark db update' does, and re-match what it changed (default: never; the file is only re-read when replaced)")
	fl.StringArrayVar(&o.DBRepositories, "db-repository", nil, "with --db-update-interval: pull the database from this OCI repository; repeatable, tried in order (default: $BULWARK_DB_REPOSITORY, else the published ones)")
	fl.StringVar(&o.DBKey, "db-key", "", "with --db-update-interval: public key (file, env://VAR or KMS reference) the database's signature must verify with (default: $BULWARK_DB_KEY, else the embedded key)")
	fl.BoolVar(&o.DBInsecure, "db-insecure", false, "with --db-update-interval: allow plain HTTP and unverified TLS to the database registry")
	fl.StringVar(&o.TLSCert, "tls-cert", "", "serve HTTPS with this certificate (PEM; with --tls-key)")
	fl.StringVar(&o.TLSKey, "tls-key", "", "the TLS certificate's private key (PEM)")
	reg.register(cmd)
	return cmd
}
