// Package lint checks an image against the CIS Docker Benchmark (section 4,
// "Container Images and Build File") with Dockle's check IDs, titles and
// default levels, so that existing Dockle ignore lists keep working.
package lint

import "github.com/bulwark-sec/bulwark/internal/finding"

// Check describes one checkpoint.
type Check struct {
	ID    string
	Title string
	// Level is the default severity: INFO=Info, WARN=Medium, FATAL=Critical.
	Level finding.Severity
	// Fix says how to resolve a finding of this check.
	Fix string
	// Ref is where the check is documented.
	Ref string
}

const (
	cisRef    = "https://www.cisecurity.org/benchmark/docker"
	dockleRef = "https://github.com/goodwithtech/dockle/blob/master/CHECKPOINT.md"
)

// The checks, by ID.
var (
	CheckRootUser       = Check{"CIS-DI-0001", "Create a user for the container", finding.Medium, "Add a non-root user (RUN useradd -r app) and switch to it with USER app, by name or non-zero UID.", cisRef}
	CheckContentTrust   = Check{"CIS-DI-0005", "Enable Content trust for Docker", finding.Info, "Sign the image (bulwark sign) and check it with bulwark lint --verify-key, or export DOCKER_CONTENT_TRUST=1 before docker pull/build.", cisRef}
	CheckHealthcheck    = Check{"CIS-DI-0006", "Add HEALTHCHECK instruction to the container image", finding.Info, "Add a HEALTHCHECK instruction that probes the service (HEALTHCHECK CMD curl -f http://localhost/ || exit 1).", cisRef}
	CheckUpdateAlone    = Check{"CIS-DI-0007", "Do not use update instructions alone in the Dockerfile", finding.Critical, "Combine the update with the install in one RUN (RUN apt-get update && apt-get install -y ...), so a cached update layer cannot serve stale package lists.", cisRef}
	CheckSetuid         = Check{"CIS-DI-0008", "Confirm safety of setuid/setgid files", finding.Info, "Remove the setuid/setgid bit from files that do not need it (RUN chmod u-s,g-s FILE).", cisRef}
	CheckAdd            = Check{"CIS-DI-0009", "Use COPY instead of ADD in Dockerfile", finding.Critical, "Use COPY; ADD fetches URLs and unpacks archives implicitly. Download with a checksum check in RUN if you need a remote file.", cisRef}
	CheckCredentials    = Check{"CIS-DI-0010", "Do not store credential in environment variables/files", finding.Critical, "Pass credentials at run time (secrets, mounted files, a secrets manager), never in ENV, LABEL or files baked into a layer; a file deleted in a later layer is still shipped.", cisRef}
	CheckSudo           = Check{"DKL-DI-0001", "Avoid sudo command", finding.Critical, "Run build steps as root before USER, or use gosu/su-exec at run time; do not install or call sudo.", dockleRef}
	CheckSensitiveMount = Check{"DKL-DI-0002", "Avoid sensitive directory mounting", finding.Critical, "Do not declare VOLUME on /sys, /dev or /proc.", dockleRef}
	CheckDistUpgrade    = Check{"DKL-DI-0003", "Avoid \"apt-get dist-upgrade\"", finding.Medium, "Rebuild on an updated base image instead of upgrading the distribution in a layer.", dockleRef}
	CheckApkNoCache     = Check{"DKL-DI-0004", "Use \"apk add\" with --no-cache", finding.Critical, "Use apk add --no-cache so the package index is not left in the image.", dockleRef}
	CheckAptLists       = Check{"DKL-DI-0005", "Clear apt-get caches", finding.Critical, "End the RUN that installs packages with && rm -rf /var/lib/apt/lists/*.", dockleRef}
	CheckLatestTag      = Check{"DKL-DI-0006", "Avoid latest tag", finding.Medium, "Refer to images by a version tag or, better, by digest.", dockleRef}
	CheckEmptyPassword  = Check{"DKL-LI-0001", "Avoid empty password", finding.Critical, "Lock the account (passwd -l USER) or set a password hash; an empty field lets anyone log in.", dockleRef}
	CheckDuplicateIDs   = Check{"DKL-LI-0002", "Be unique UID/GROUP", finding.Critical, "Give every user and group its own UID/GID and name.", dockleRef}
	CheckUnneeded       = Check{"DKL-LI-0003", "Only put necessary files", finding.Info, "Exclude the file with .dockerignore or delete it in the same layer that adds it.", dockleRef}
)

// Checks lists every check in ID order.
var Checks = []Check{
	CheckRootUser, CheckContentTrust, CheckHealthcheck, CheckUpdateAlone, CheckSetuid, CheckAdd, CheckCredentials,
	CheckSudo, CheckSensitiveMount, CheckDistUpgrade, CheckApkNoCache, CheckAptLists, CheckLatestTag,
	CheckEmptyPassword, CheckDuplicateIDs, CheckUnneeded,
}

// newFinding starts a finding of a check.
func (c Check) newFinding(msg string) finding.Finding {
	return finding.Finding{
		Gate: finding.GateLint, ID: c.ID, Title: c.Title, Severity: c.Level,
		Message: msg, Fix: c.Fix, References: []string{c.Ref},
	}
}
