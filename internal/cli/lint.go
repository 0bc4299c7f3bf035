package cli

import "github.com/spf13/cobra"

func newLintCmd() *cobra.Command {
	return &cobra.Command{Use: "lint IMAGE", Short: "Check an image against the CIS Docker Benchmark (in progress)"}
}
