package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newCacheCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "cache", Short: "Manage bulwark's local caches"}
	var cache cacheFlags
	clean := &cobra.Command{
		Use:   "clean",
		Short: "Remove every cached inventory result",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cache.cache(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if err := c.Clean(); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "removed the inventory cache in %s\n", c.Dir)
			return err
		},
	}
	clean.Flags().StringVar(&cache.dir, "cache-dir", "", "layer cache directory (default: the user cache directory, bulwark/inventory)")
	cmd.AddCommand(clean)
	return cmd
}
