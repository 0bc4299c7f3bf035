package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// GoldenRootfs writes a small Debian 12 root file system for host
// benchmark tests: os-release, the account files (modes as Debian has
// them), dpkg's status with openssh-server, a PAM stack without nullok and
// an sshd_config that permits root login. files adds or replaces files
// (path relative to the root: content); a "" content removes the file.
func GoldenRootfs(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "rootfs")
	all := map[string]string{
		"etc/os-release":            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n",
		"etc/passwd":                "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nsshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n",
		"etc/group":                 "root:x:0:\ndaemon:x:1:\nshadow:x:42:\nnogroup:x:65534:\n",
		"etc/shadow":                "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nsshd:!:19000::::::\n",
		"etc/login.defs":            "PASS_MAX_DAYS 99999\nPASS_MIN_DAYS 0\nPASS_WARN_AGE 7\nUID_MIN 1000\n",
		"etc/pam.d/common-auth":     "auth [success=1 default=ignore] pam_unix.so\nauth requisite pam_deny.so\n",
		"etc/pam.d/common-password": "password [success=1 default=ignore] pam_unix.so obscure yescrypt\n",
		"etc/ssh/sshd_config":       "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin yes\nUsePAM yes\n",
		"var/lib/dpkg/status":       "Package: openssh-server\nStatus: install ok installed\nVersion: 1:9.2p1-2+deb12u3\nArchitecture: amd64\n\n",
	}
	for p, c := range files {
		all[p] = c
	}
	modes := map[string]os.FileMode{"etc/shadow": 0o640}
	for p, c := range all {
		if c == "" {
			continue
		}
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := modes[p]
		if mode == 0 {
			mode = 0o644
		}
		if err := os.WriteFile(full, []byte(c), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(full, mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
