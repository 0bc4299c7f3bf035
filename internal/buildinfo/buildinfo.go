// Package buildinfo holds the version, commit and build date stamped into
// the binary with -ldflags, falling back to what the Go toolchain records.
package buildinfo

import "runtime/debug"

// Set with -ldflags "-X github.com/bulwark-sec/bulwark/internal/buildinfo.Version=..." etc.
var (
	// Version is the release version.
	Version = "dev"
	// Commit is the git commit the binary was built from.
	Commit = ""
	// Date is the build date (RFC 3339).
	Date = ""
	// ReleaseKey is the release's public key, base64 of its DER (PKIX)
	// form, which 'bulwark version --verify' checks the binary with. The
	// release build sets it; "" in other builds.
	ReleaseKey = ""
)

// URL is the project's home page, named in SARIF output.
const URL = "https://github.com/bulwark-sec/bulwark"

func init() {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	if Version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		Version = info.Main.Version
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			if Commit == "" {
				Commit = s.Value
			}
		case "vcs.time":
			if Date == "" {
				Date = s.Value
			}
		}
	}
}
