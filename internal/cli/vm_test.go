package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// TestScanVMKernel is the golden-image pipeline's kernel case end to end:
// a disk image (made with mkfs.ext4 -d and sgdisk) whose Debian 9 system
// has a signed kernel image older than the fix fails the gate with both
// CVEs, matched through the linux source the tracker names; the updated
// kernel passes.
func TestScanVMKernel(t *testing.T) {
	db := kernelDB(t)
	for _, tc := range []struct {
		version string
		code    int
	}{{"4.9.110-3+deb9u4", 1}, {"4.9.110-3+deb9u5", 0}} {
		t.Run(tc.version, func(t *testing.T) {
			rootfs := kernelRootfs(t, tc.version)
			disk := testutil.BuildDisk(t, rootfs, testutil.DiskOptions{Table: "gpt", Format: "qcow2"})
			code, out, stderr := run(t, "scan", "vm:"+disk, "--db", db, "--offline", "--scanners", "vuln", "--fail-on", "any", "--format", "json")
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tc.code, stderr, out)
			}
			for _, id := range []string{"CVE-2018-17182", "CVE-2018-14633"} {
				if got := strings.Contains(out, id); got != (tc.code == 1) {
					t.Errorf("kernel %s: %s reported = %v", tc.version, id, got)
				}
			}
			if tc.code == 1 && !strings.Contains(out, "linux-image-4.9.0-8-amd64") {
				t.Errorf("the finding does not name the kernel package:\n%s", out)
			}
		})
	}
}

// kernelRootfs writes the files of a Debian 9 system that matter here:
// os-release and a dpkg status with a signed kernel image.
func kernelRootfs(t *testing.T, version string) string {
	t.Helper()
	return writeRootfs(t, map[string]string{
		"etc/os-release": "PRETTY_NAME=\"Debian GNU/Linux 9 (stretch)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"9\"\nVERSION_CODENAME=stretch\nID=debian\n",
		"var/lib/dpkg/status": "Package: linux-image-4.9.0-8-amd64\nStatus: install ok installed\nArchitecture: amd64\n" +
			"Source: linux-signed-amd64 (" + strings.Replace(version, "-", "+", 1) + ")\nVersion: " + version + "\n\n",
	})
}

// kernelDB builds a database from the Debian tracker records of the two
// kernel CVEs (fixed in stretch's 4.9.110-3+deb9u5).
func kernelDB(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("BULWARK_CACHE_DIR", filepath.Join(dir, "cache"))
	db := filepath.Join(dir, "v.bwdb")
	if code, _, stderr := run(t, "db", "build", "-o", db, "--debian-tracker", "testdata/kernel/debian-tracker.json"); code != 0 {
		t.Fatalf("db build: %d\n%s", code, stderr)
	}
	return db
}

// writeRootfs writes files (path relative to the root: content) into a
// new folder and returns it.
func writeRootfs(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}
