package cli

import (
	"github.com/spf13/cobra"

	"github.com/bulwark-sec/bulwark/internal/server"
	"github.com/bulwark-sec/bulwark/internal/server/config"
)

func newServerCmd() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "server --config FILE",
		Short: "Assess every image pushed to a registry once, and re-match it when the vulnerability database changes",
		Long: `Serve the registry notification webhook and a JSON API. Each new image
digest pushed to a configured registry is read once (vulnerabilities,
lint, secrets, in one pass); its package index and findings are stored
(SQLite). When the vulnerability database file changes, only the images
whose packages the change touches are re-matched, from the stored
inventory, without reading them again. SIGTERM stops it gracefully.
See docs/server.md.`,
		Example: `  bulwark server --config server.yaml`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := config.Load(file)
			if err != nil {
				return usageError{err}
			}
			return server.Run(cmd.Context(), c, cmd.ErrOrStderr(), nil)
		},
	}
	cmd.Flags().StringVar(&file, "config", "", "server configuration file (YAML, see docs/server.md)")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}
