package cli

import (
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// gcPercent is the garbage collector's target (GOGC) of the commands that
// run once, when the GOGC environment variable does not set another: the
// heap may grow to 1.5 times what is live before a collection instead of
// Go's default 2 times. An image walk keeps little live (the layers'
// path hashes, the packages) and makes much short-lived garbage, so this
// takes about 30 MiB off the peak of `scan` at 1.6M files (bench/README.md)
// for about 1% more CPU time. The servers (server, admission) keep Go's
// default.
const gcPercent = 50

// applyGCPercent sets gcPercent for cmd unless GOGC is set or cmd serves.
func applyGCPercent(cmd *cobra.Command) {
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	for c := cmd; c != nil && c.HasParent(); c = c.Parent() {
		if !c.Parent().HasParent() && (c.Name() == "server" || c.Name() == "admission") {
			return
		}
	}
	debug.SetGCPercent(gcPercent)
}
