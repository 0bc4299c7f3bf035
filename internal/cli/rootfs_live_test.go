package cli

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// TestScanLiveRoot scans the machine the test runs on, as a builder does
// inside an instance before it is captured: `scan rootfs:/ --scanners
// host` must finish (not hang in /proc, /sys, /dev or on a FIFO) and
// report nothing from the virtual file systems. It reads every inode of
// the root file system (a minute here), so it runs only in CI
// (BULWARK_INTEGRATION=1) and never with -short.
func TestScanLiveRoot(t *testing.T) {
	if testing.Short() || !testutil.Integration() {
		t.Skip("reads the whole root file system: BULWARK_INTEGRATION=1 runs it")
	}
	if _, err := os.Stat("/etc/os-release"); err != nil {
		t.Skip("no /etc/os-release here")
	}
	type result struct {
		code        int
		out, stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, out, stderr := run(t, "scan", "rootfs:/", "--scanners", "host", "--format", "json", "--fail-on", "never")
		done <- result{code, out, stderr}
	}()
	select {
	case r := <-done:
		if r.code != 0 || !strings.Contains(r.out, `"gates": [`) {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
		for _, virt := range []string{`"path": "proc/`, `"path": "sys/`, `"path": "dev/`, `proc/self`} {
			if strings.Contains(r.out, virt) {
				t.Errorf("the report names %s", virt)
			}
		}
	case <-time.After(10 * time.Minute):
		t.Fatal("scan rootfs:/ did not finish in 10 minutes")
	}
}

// TestScanRootfsSpecialFiles: FIFOs and sockets where analyzers look
// (a FIFO named like dpkg's status file) are listed, never opened.
func TestScanRootfsSpecialFiles(t *testing.T) {
	root := writeRootfs(t, map[string]string{"etc/os-release": "ID=debian\nVERSION_ID=\"12\"\n"})
	if err := os.MkdirAll(filepath.Join(root, "var/lib/dpkg"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "var/lib/dpkg/status"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(root, "etc/passwd"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan int, 1)
	go func() {
		code, _, _ := run(t, "sbom", "rootfs:"+root)
		done <- code
	}()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("sbom: exit %d", code)
		}
	case <-time.After(time.Minute):
		t.Fatal("sbom hung on a FIFO or socket")
	}
}
