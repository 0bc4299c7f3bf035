package scan

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// TestDiskParallel scans a disk image whose files are read and analysed
// by several goroutines (ext4) and checks that the result is exactly the
// one of a walk in one goroutine (GOMAXPROCS 1): the same packages,
// secrets, host checks, lint findings and warnings, in the same order,
// run after run.
func TestDiskParallel(t *testing.T) {
	root := t.TempDir()
	w := func(p, content string, mode os.FileMode) { testutil.WriteFile(t, root, p, content, mode) }
	w("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n", 0o644)
	w("etc/passwd", "root:x:0:0:root:/root:/bin/bash\napp:x:1000:1000::/home/app:/bin/sh\n", 0o644)
	w("etc/shadow", "root:*:19000:0:99999:7:::\napp::19000:0:99999:7:::\n", 0o640)
	w("etc/ssh/sshd_config", "PermitRootLogin yes\n", 0o644)
	w("var/lib/dpkg/status", "Package: base-files\nStatus: install ok installed\nVersion: 12.4+deb12u5\nArchitecture: amd64\n\n"+
		"Package: libssl3\nStatus: install ok installed\nSource: openssl\nVersion: 3.0.11-1~deb12u2\nArchitecture: amd64\n\n", 0o644)
	// A key the OS package installed: found, then left out with a warning.
	w("var/lib/dpkg/info/base-files.list", "/usr/share/doc/base-files/example.env\n", 0o644)
	w("usr/share/doc/base-files/example.env", "AWS_ACCESS_KEY_ID=AKIAQYLPMN5HHHFPZAM2\n", 0o644)
	key := func(i int) string {
		const b32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
		k := []byte("AKIAQYLPMN5H")
		for n := i + 1000; len(k) < 20; n /= 32 {
			k = append(k, b32[n%32])
		}
		return string(k)
	}
	for i := range 400 {
		// Secrets at different lines of many small files, in many folders.
		var b strings.Builder
		for l := range i % 23 {
			fmt.Fprintf(&b, "setting_%d = value %d\n", l, i)
		}
		fmt.Fprintf(&b, "aws_access_key_id = %s\npassword = \"Zq8v%04dWx!pL\"\n", key(i), i)
		w(fmt.Sprintf("srv/app%02d/conf/service-%03d.ini", i%17, i), b.String(), 0o644)
	}
	for i := range 40 {
		// Binary files: skipped after their first bytes.
		w(fmt.Sprintf("srv/data/blob-%02d.bin", i), strings.Repeat("\x00\x01", 9000)+key(1000+i), 0o644)
	}
	// A large text file with secrets at its start, middle and end (read
	// in several chunks), and a Go executable of several MiB that two
	// handlers want (the inventory's and the secrets').
	var big strings.Builder
	for i := range 60000 {
		if i%20000 == 0 {
			fmt.Fprintf(&big, "token %s\n", key(2000+i))
		}
		fmt.Fprintf(&big, "line %d of a large log file\n", i)
	}
	big.WriteString("ghp_" + strings.Repeat("aB3dE", 7) + "x\n")
	w("var/log/big.log", big.String(), 0o644)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	w("usr/local/bin/tool", string(bin), 0o755)
	disk := testutil.BuildDisk(t, root, testutil.DiskOptions{Table: "gpt"})

	scanDisk := func() string {
		img, err := image.Open(context.Background(), "vm:"+disk, image.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer img.Close()
		res, err := Run(context.Background(), img, Options{SBOM: true, Secrets: true, Host: true, Lint: true})
		if err != nil {
			t.Fatal(err)
		}
		res.SBOM.CreatedAt = time.Time{}
		b, err := json.MarshalIndent(res, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	procs := runtime.GOMAXPROCS(1)
	serial := scanDisk()
	runtime.GOMAXPROCS(max(procs, 4))
	defer runtime.GOMAXPROCS(procs)
	for _, want := range []string{"aws-access-key-id", "big.log", "ghp_", "sshd-permit-root-login", "github.com/bulwark-sec/bulwark", "openssl", "OS packages installed not reported"} {
		if !strings.Contains(serial, want) {
			t.Errorf("the scan found no %s", want)
		}
	}
	for run := range 3 {
		if got := scanDisk(); got != serial {
			t.Fatalf("run %d on several goroutines differs from the walk in one:\n%s", run, firstDiff(serial, got))
		}
	}
}

// firstDiff shows where two texts first differ.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d: %q vs %q", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("%d vs %d lines", len(al), len(bl))
}
