package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// DebianRootfs returns a real Debian bookworm root filesystem made by
// `debootstrap --variant=minbase` with the given extra packages. It is
// built once (about 40 s) into BULWARK_TEST_CACHE (default: the user cache
// directory) and shared by every test and package after that; a file lock
// keeps parallel test processes from building it twice. Tests must not
// modify it. The mirror is BULWARK_DEBIAN_MIRROR (default deb.debian.org).
func DebianRootfs(t testing.TB, include ...string) string {
	t.Helper()
	RequireTool(t, "debootstrap")
	if os.Geteuid() != 0 {
		t.Skip("debootstrap needs root")
	}
	cache := os.Getenv("BULWARK_TEST_CACHE")
	if cache == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			t.Fatal(err)
		}
		cache = filepath.Join(d, "bulwark-test")
	}
	sort.Strings(include)
	name := "debian-bookworm-minbase"
	if len(include) > 0 {
		name += "+" + strings.Join(include, ",")
	}
	dir := filepath.Join(cache, name)
	rootfs := filepath.Join(dir, "rootfs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck
	done := filepath.Join(dir, ".complete")
	if _, err := os.Stat(done); err == nil {
		return rootfs
	}
	mirror := os.Getenv("BULWARK_DEBIAN_MIRROR")
	if mirror == "" {
		mirror = "http://deb.debian.org/debian"
	}
	os.RemoveAll(rootfs)
	tmp := rootfs + ".tmp"
	os.RemoveAll(tmp)
	args := []string{"--variant=minbase"}
	if len(include) > 0 {
		args = append(args, "--include="+strings.Join(include, ","))
	}
	args = append(args, "bookworm", tmp, mirror)
	t.Logf("building a Debian root filesystem (once): debootstrap %s", strings.Join(args, " "))
	out, err := exec.Command("debootstrap", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("debootstrap: %v\n%s", err, tail(out, 2000))
	}
	// Keep what an image would ship: drop downloaded .debs.
	debs, _ := filepath.Glob(filepath.Join(tmp, "var/cache/apt/archives/*.deb"))
	for _, d := range debs {
		os.Remove(d)
	}
	if err := os.Rename(tmp, rootfs); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(done, []byte(fmt.Sprintln(args)), 0o644); err != nil {
		t.Fatal(err)
	}
	return rootfs
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
