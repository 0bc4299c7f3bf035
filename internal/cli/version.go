package cli

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/bulwark-sec/bulwark/internal/buildinfo"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			commit, date := buildinfo.Commit, buildinfo.Date
			if commit == "" {
				commit = "unknown"
			}
			if date == "" {
				date = "unknown"
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "bulwark %s\ncommit: %s\nbuilt: %s\ngo: %s %s/%s\n",
				buildinfo.Version, commit, date, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}
