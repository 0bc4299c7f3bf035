package testutil

import (
	"context"
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
// `debootstrap --variant=minbase` with the given extra packages, built once
// (about 40 s) by BuildDebianRootfs and shared by every test and package
// after that. It skips when debootstrap is missing (and fails under
// BULWARK_INTEGRATION=1). Tests must not modify it.
func DebianRootfs(t testing.TB, include ...string) string {
	t.Helper()
	return DebianSuiteRootfs(t, "bookworm", include...)
}

// DebianSuiteRootfs is DebianRootfs for another Debian release (bullseye,
// bookworm).
func DebianSuiteRootfs(t testing.TB, suite string, include ...string) string {
	t.Helper()
	RequireTool(t, "debootstrap")
	if os.Geteuid() != 0 {
		t.Skip("debootstrap needs root")
	}
	cache, err := CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Debian root filesystem (built once into %s)", cache)
	rootfs, err := BuildDebianSuiteRootfs(context.Background(), cache, suite, include...)
	if err != nil {
		t.Fatal(err)
	}
	return rootfs
}

// CacheDir is where test fixtures that are expensive to make are built
// once: BULWARK_TEST_CACHE, or bulwark-test in the user cache directory.
func CacheDir() (string, error) {
	if c := os.Getenv("BULWARK_TEST_CACHE"); c != "" {
		return c, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "bulwark-test"), nil
}

// BuildDebianRootfs makes (or reuses) a Debian bookworm root filesystem
// with debootstrap --variant=minbase and the extra packages, in cache. A
// file lock keeps parallel test processes from building it twice; a marker
// file says a build finished. The mirror is BULWARK_DEBIAN_MIRROR
// (default deb.debian.org, which apt's sources here use).
func BuildDebianRootfs(ctx context.Context, cache string, include ...string) (string, error) {
	return BuildDebianSuiteRootfs(ctx, cache, "bookworm", include...)
}

// BuildDebianSuiteRootfs is BuildDebianRootfs for another Debian release.
func BuildDebianSuiteRootfs(ctx context.Context, cache, suite string, include ...string) (string, error) {
	include = append([]string(nil), include...)
	sort.Strings(include)
	name := "debian-" + suite + "-minbase"
	if len(include) > 0 {
		name += "+" + strings.Join(include, ",")
	}
	dir := filepath.Join(cache, name)
	rootfs := filepath.Join(dir, "rootfs")
	return rootfs, buildOnce(dir, func() (string, error) { return debootstrap(ctx, rootfs, suite, include) })
}

// buildOnce runs build unless an earlier run finished in dir: a file lock
// keeps parallel test processes from building twice, and a marker file
// (holding what build returns, a log) says a build finished.
func buildOnce(dir string, build func() (string, error)) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck
	done := filepath.Join(dir, ".complete")
	if _, err := os.Stat(done); err == nil {
		return nil
	}
	log, err := build()
	if err != nil {
		return err
	}
	return os.WriteFile(done, []byte(log), 0o644)
}

// debootstrap makes rootfs with debootstrap --variant=minbase.
func debootstrap(ctx context.Context, rootfs, suite string, include []string) (string, error) {
	mirror := os.Getenv("BULWARK_DEBIAN_MIRROR")
	if mirror == "" {
		mirror = "http://deb.debian.org/debian"
	}
	tmp := rootfs + ".tmp"
	os.RemoveAll(rootfs)
	os.RemoveAll(tmp)
	args := []string{"--variant=minbase"}
	if len(include) > 0 {
		args = append(args, "--include="+strings.Join(include, ","))
	}
	args = append(args, suite, tmp, mirror)
	out, err := exec.CommandContext(ctx, "debootstrap", args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("debootstrap %s: %v\n%s", strings.Join(args, " "), err, tail(out, 2000))
	}
	// Keep what an image would ship: drop downloaded .debs.
	debs, _ := filepath.Glob(filepath.Join(tmp, "var/cache/apt/archives/*.deb"))
	for _, d := range debs {
		os.Remove(d)
	}
	return fmt.Sprintln(args), os.Rename(tmp, rootfs)
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// DpkgQuery lists the installed packages of a root filesystem as
// "name version", sorted, as dpkg-query --admindir says (the architecture
// qualifier dpkg uses is dropped).
func DpkgQuery(t testing.TB, rootfs string) []string {
	t.Helper()
	RequireTool(t, "dpkg-query")
	out, err := exec.Command("dpkg-query", "--admindir="+rootfs+"/var/lib/dpkg", "-W", "-f", "${db:Status-Abbrev} ${Package} ${Version}\n").Output()
	if err != nil {
		t.Fatal(err)
	}
	var pkgs []string
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) == 3 && f[0] == "ii" {
			pkgs = append(pkgs, f[1]+" "+f[2])
		}
	}
	sort.Strings(pkgs)
	return pkgs
}
