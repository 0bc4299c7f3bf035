package cli

import (
	"github.com/spf13/cobra"

	"github.com/bulwark-sec/bulwark/internal/demo"
)

func newDemoCmd() *cobra.Command {
	var keep string
	var only []int
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Show every gate at work: five pipeline runs against an embedded registry",
		Long: `Run the whole pipeline five times on this machine with nothing else installed:
an embedded CNCF distribution registry on 127.0.0.1, fresh signing keys, a
bundled advisory database and a sample app built natively.

  1. everything passes: the image is signed, verified and "deployed"
  2. a base image with a CRITICAL vulnerability fails the scan
  3. an ADD in the Dockerfile fails lint (CIS-DI-0009)
  4. an AWS secret key in app/src/config.js fails the secrets stage
  5. verification with a different key fails before deploy

Everything is removed afterwards (unless --keep DIR).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := demo.Run(cmd.Context(), demo.Options{Out: cmd.OutOrStdout(), Keep: keep, Only: only})
			return err
		},
	}
	cmd.Flags().StringVar(&keep, "keep", "", "keep the workspace (pipeline files, artifacts) in this directory")
	cmd.Flags().IntSliceVar(&only, "scenario", nil, "run only these scenarios (1-5, repeatable)")
	return cmd
}
