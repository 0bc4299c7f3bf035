package disk

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// smallExt4 makes a 128 KiB ext4 file system with mkfs.ext4 -d holding
// etc/os-release (a relative symlink to usr/lib/os-release), etc/hostname
// and a directory of files.
func smallExt4(t testing.TB) []byte {
	t.Helper()
	testutil.RequireTool(t, "mkfs.ext4")
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	for _, d := range []string{"etc", "usr/lib", "var/lib"} {
		if err := os.MkdirAll(filepath.Join(src, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, s string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(src, p), []byte(s), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("usr/lib/os-release", "ID=debian\nVERSION_ID=\"12\"\n", 0o644)
	write("etc/hostname", "fuzz\n", 0o644)
	write("etc/shadow", "root:*:19000:0:99999:7:::\n", 0o640)
	write("var/lib/big", string(bytes.Repeat([]byte("0123456789abcdef"), 2048)), 0o600)
	if err := os.Symlink("../usr/lib/os-release", filepath.Join(src, "etc/os-release")); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, "fs.img")
	out, err := exec.Command("mkfs.ext4", "-q", "-F", "-b", "1024", "-N", "32", "-O", "^has_journal,^resize_inode",
		"-U", "0badc0de-0000-4000-8000-000000000001", "-L", "small", "-d", src, img, "128k").CombinedOutput()
	if err != nil {
		t.Fatalf("mkfs.ext4: %v\n%s", err, out)
	}
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// smallXFS makes a 16 MiB XFS file system with mkfs.xfs and a protofile:
// etc/os-release, etc/link to it, a file owned by 1000 with setuid, a
// symlink in a remote block and a directory of 100 entries in block form.
func smallXFS(t testing.TB) []byte {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "hello")
	if err := os.WriteFile(src, []byte("ID=debian\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("/dev/null\n0 0\nd--755 0 0\netc d--755 0 0\nos-release ---644 0 0 " + src + "\nlink l--777 0 0 os-release\n")
	b.WriteString("su -u-755 1000 1000 " + src + "\nfar l--777 0 0 " + strings.Repeat("x/../", 80) + "os-release\n$\nd d--700 1000 5\n")
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&b, "n%d p--600 0 0\n", i)
	}
	b.WriteString("$\n$\n")
	proto := filepath.Join(dir, "proto")
	if err := os.WriteFile(proto, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return mkfsXFS(t, proto, "16m", nil, []string{"/etc/far"})
}

// walkAll opens every root of a disk and reads every file of it, as the
// image walker does, returning the paths seen and the damage met (the
// disk's warnings, the walk's and unreadable files).
func walkAll(d *Disk) ([]string, []string, error) {
	var paths, damage []string
	warn := func(s string) { damage = append(damage, s) }
	for _, r := range d.Roots() {
		for _, m := range append([]Mount{{FS: r.FS}}, d.Mounts(r)...) {
			err := m.FS.Walk(context.Background(), func(f *File) error {
				paths = append(paths, f.Path)
				rd, err := f.Open()
				if err == nil {
					_, err = io.Copy(io.Discard, io.LimitReader(rd, f.Size))
				}
				if err != nil {
					warn(f.Path + ": " + err.Error())
				}
				return nil
			}, warn)
			if err != nil {
				return paths, damage, err
			}
		}
	}
	return paths, append(damage, d.Warnings...), nil
}
