package testutil

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	debversion "github.com/knqyf263/go-deb-version"
)

// KernelRoot is a real Debian 12 system with two of Debian's signed kernel
// packages installed by apt from Debian's repositories (the older
// linux-image-amd64 of bookworm, then the newest one, from
// bookworm-security when it is newer), GRUB's packages (grub-common,
// grub2-common, grub-pc-bin; grub-install is never run) and the grub.cfg
// the real grub-mkconfig writes for them.
type KernelRoot struct {
	// Dir is the root file system: /etc/default/grub as grub-pc's
	// postinst installs it (GRUB_DEFAULT=0), /boot/grub/grub.cfg as
	// grub-mkconfig wrote it, and an empty grubenv made by grub-editenv.
	// It is shared: tests must not modify it.
	Dir string
	// Saved holds the files that differ when GRUB_DEFAULT=saved:
	// etc/default/grub, boot/grub/grub.cfg (grub-mkconfig's) and
	// boot/grub/grubenv, where grub-set-default (through grub-editenv)
	// saved the advanced submenu's entry of the older kernel.
	Saved string
	// BootPartition holds the files that differ when, in addition,
	// /boot is a file system of its own (BuildDisk's SeparateBoot): the
	// saved variant's files with the grub.cfg grub-mkconfig writes then
	// (kernel paths relative to /boot's file system, which it finds by
	// its UUID).
	BootPartition string
	// Kernels are the installed linux-image-RELEASE packages, older first.
	Kernels []Kernel
}

// Kernel is one installed kernel image package, as dpkg lists it.
type Kernel struct {
	// Release is the kernel release ("6.1.0-50-amd64").
	Release string
	// Package and Version are the binary package
	// ("linux-image-6.1.0-50-amd64", "6.1.176-1").
	Package, Version string
	// Source and SourceVersion are the source package dpkg records
	// ("linux-signed-amd64", "6.1.176+1").
	Source, SourceVersion string
}

// SavedEntry is the GRUB entry id path KernelRoot's saved grubenv names:
// the advanced submenu's entry of the kernel release.
func SavedEntry(release string) string {
	return "gnulinux-advanced-" + RootUUID + ">gnulinux-" + release + "-advanced-" + RootUUID
}

// DebianKernelRootfs returns the KernelRoot built once by
// BuildDebianKernelRootfs (about 2 minutes on an idle 2-core machine,
// shared by every test after that). It skips without root or the tools
// (and fails under BULWARK_INTEGRATION=1).
func DebianKernelRootfs(t testing.TB) *KernelRoot {
	t.Helper()
	for _, tool := range []string{"debootstrap", "unshare", "chroot", "dpkg-query"} {
		RequireTool(t, tool)
	}
	if os.Geteuid() != 0 {
		if Integration() {
			t.Fatal("the Debian kernel root file system needs root (chroot, mount namespaces)")
		}
		t.Skip("the Debian kernel root file system needs root")
	}
	cache, err := CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Debian root file system with kernels and GRUB (built once into %s)", cache)
	dir, err := BuildDebianKernelRootfs(context.Background(), cache)
	if err != nil {
		t.Fatal(err)
	}
	k := &KernelRoot{Dir: filepath.Join(dir, "rootfs"), Saved: filepath.Join(dir, "saved"), BootPartition: filepath.Join(dir, "boot-partition")}
	out, err := exec.Command("dpkg-query", "--admindir="+filepath.Join(k.Dir, "var/lib/dpkg"), "-W",
		"-f", "${db:Status-Abbrev} ${Package} ${Version} ${source:Package} ${source:Version}\n", "linux-image-[0-9]*").Output()
	if err != nil {
		t.Fatalf("dpkg-query: %v", err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) == 5 && f[0] == "ii" {
			k.Kernels = append(k.Kernels, Kernel{Release: strings.TrimPrefix(f[1], "linux-image-"), Package: f[1], Version: f[2], Source: f[3], SourceVersion: f[4]})
		}
	}
	sort.Slice(k.Kernels, func(i, j int) bool {
		a, _ := debversion.NewVersion(k.Kernels[i].Version)
		b, _ := debversion.NewVersion(k.Kernels[j].Version)
		return a.LessThan(b)
	})
	if len(k.Kernels) != 2 {
		t.Fatalf("%s has kernels %+v, want two", k.Dir, k.Kernels)
	}
	return k
}

// With returns a copy of the root file system (hard links, so it is
// quick) with the files of a variant (k.Saved, k.BootPartition) in place
// of Dir's.
func (k *KernelRoot) With(t testing.TB, variant string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "rootfs")
	if err := exec.Command("cp", "-al", k.Dir, dst).Run(); err != nil {
		run(t, "", "cp", "-a", k.Dir, dst)
	}
	for _, p := range variantFiles {
		b, err := os.ReadFile(filepath.Join(variant, p))
		if err != nil {
			t.Fatal(err)
		}
		// Remove first: the copy's file is a hard link to the shared one.
		os.Remove(filepath.Join(dst, p))
		if err := os.WriteFile(filepath.Join(dst, p), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// variantFiles are the files a KernelRoot variant replaces.
var variantFiles = []string{"etc/default/grub", "boot/grub/grub.cfg", "boot/grub/grubenv"}

// BuildDebianKernelRootfs makes (or reuses) the KernelRoot files in
// cache/debian-bookworm-kernels: a copy of the cached minbase root
// (BuildDebianRootfs), then apt in a chroot with bookworm,
// bookworm-updates and bookworm-security (BULWARK_DEBIAN_MIRROR,
// BULWARK_DEBIAN_SECURITY_MIRROR) installs GRUB's packages and the oldest
// and newest linux-image-amd64 the repositories hold (an error when they
// hold one version only). grub-mkconfig runs in the chroot; its
// grub-probe calls, which need the block device of a booted system, are
// answered by a stand-in bind-mounted over /usr/sbin/grub-probe in a
// private mount namespace (an ext4 root on the first GPT partition with
// UUID RootUUID, as BuildDisk makes it), with a /dev that has the root's
// /dev/disk/by-uuid link; the root file system keeps Debian's own
// grub-probe and /dev. Mounts are made only in that namespace.
func BuildDebianKernelRootfs(ctx context.Context, cache string) (string, error) {
	dir := filepath.Join(cache, "debian-bookworm-kernels")
	return dir, buildOnce(dir, func() (string, error) {
		base, err := BuildDebianRootfs(ctx, cache)
		if err != nil {
			return "", err
		}
		b := &kernelBuild{ctx: ctx, dir: dir, root: filepath.Join(dir, "rootfs.tmp"), saved: filepath.Join(dir, "saved.tmp"), bootPart: filepath.Join(dir, "boot-partition.tmp")}
		for _, p := range []string{b.root, b.saved, b.bootPart, filepath.Join(dir, "rootfs"), filepath.Join(dir, "saved"), filepath.Join(dir, "boot-partition")} {
			os.RemoveAll(p)
		}
		if err := b.build(base); err != nil {
			return "", err
		}
		if err := os.Rename(b.root, filepath.Join(dir, "rootfs")); err != nil {
			return "", err
		}
		if err := os.Rename(b.bootPart, filepath.Join(dir, "boot-partition")); err != nil {
			return "", err
		}
		return strings.Join(b.log, "\n") + "\n", os.Rename(b.saved, filepath.Join(dir, "saved"))
	})
}

// kernelBuild holds the state of one BuildDebianKernelRootfs run.
type kernelBuild struct {
	ctx                        context.Context
	dir, root, saved, bootPart string
	log                        []string // the commands run in the chroot
	probe                      string
}

// grubProbe stands in for grub-probe while grub-mkconfig runs in the
// chroot. Its answers are what grub-probe says on a booted system whose
// file systems are on a GPT disk as BuildDisk makes it: the root, ext4
// with UUID RootUUID and label "root", on partition 1, and /boot, when
// it is a mount point, on partition 2 (label "boot", the UUID BuildDisk
// gives partition 2).
const grubProbe = `#!/bin/sh
# grub-probe stand-in for grub-mkconfig in a chroot (bulwark tests).
target= arg=
while [ $# -gt 0 ]; do
  case "$1" in
    --target=*) target=${1#--target=} ;;
    -t) shift; target=$1 ;;
    -*) ;;
    *) arg=$1 ;;
  esac
  shift
done
n=1 label=root
case "$arg" in
  /dev/sda2) n=2 label=boot ;;
  /boot|/boot/*) if awk '$5 == "/boot" { found = 1 } END { exit !found }' /proc/self/mountinfo; then n=2 label=boot; fi ;;
esac
case "$target" in
  device) echo /dev/sda$n ;;
  fs) echo ext2 ;;
  fs_uuid) echo 0badc0de-0000-4000-8000-00000000000$n ;;
  fs_label) echo $label ;;
  partuuid) echo 0badc0de-0000-4000-8000-0000000000a$n ;;
  partmap) echo gpt ;;
  abstraction|cryptodisk_uuid) ;;
  drive) echo "(hd0,gpt$n)" ;;
  compatibility_hint) echo hd0,gpt$n ;;
  hints_string) echo "--hint-bios=hd0,gpt$n --hint-efi=hd0,gpt$n --hint-baremetal=ahci0,gpt$n " ;;
  *) echo "grub-probe stand-in: no answer for --target=$target" >&2; exit 1 ;;
esac
`

func (b *kernelBuild) build(base string) error {
	if out, err := exec.CommandContext(b.ctx, "cp", "-a", base, b.root).CombinedOutput(); err != nil {
		return fmt.Errorf("cp -a %s: %v\n%s", base, err, out)
	}
	mirror := os.Getenv("BULWARK_DEBIAN_MIRROR")
	if mirror == "" {
		mirror = "http://deb.debian.org/debian"
	}
	security := os.Getenv("BULWARK_DEBIAN_SECURITY_MIRROR")
	if security == "" {
		security = "http://deb.debian.org/debian-security"
	}
	sources := fmt.Sprintf("deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s bookworm-security main\n", mirror, mirror, security)
	if err := os.WriteFile(filepath.Join(b.root, "etc/apt/sources.list"), []byte(sources), 0o644); err != nil {
		return err
	}
	if _, err := b.chroot(nil, "apt-get", "update", "-q"); err != nil {
		return err
	}
	out, err := b.chroot(nil, "apt-cache", "madison", "linux-image-amd64")
	if err != nil {
		return err
	}
	var versions []string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Split(l, "|"); len(f) == 3 && !strings.Contains(f[2], "Sources") {
			versions = append(versions, strings.TrimSpace(f[1]))
		}
	}
	sort.Slice(versions, func(i, j int) bool {
		a, _ := debversion.NewVersion(versions[i])
		b, _ := debversion.NewVersion(versions[j])
		return a.LessThan(b)
	})
	if len(versions) == 0 || versions[0] == versions[len(versions)-1] {
		return fmt.Errorf("the repositories (%s) hold %d version(s) of linux-image-amd64 (%v); two kernels need two", strings.TrimSpace(sources), len(versions), versions)
	}
	old, err := b.chroot(nil, "apt-cache", "show", "linux-image-amd64="+versions[0])
	if err != nil {
		return err
	}
	m := regexp.MustCompile(`(?m)^Depends:.*\blinux-image-([0-9][^ ,]*) `).FindStringSubmatch(old)
	if m == nil {
		return fmt.Errorf("linux-image-amd64 %s depends on no linux-image-RELEASE:\n%s", versions[0], old)
	}
	oldRelease := m[1]
	// initramfs-tools' MODULES=list (a documented setting) keeps each
	// kernel's initrd to the modules its hooks add: building it with the
	// default MODULES=most takes minutes in a chroot on a loaded machine.
	conf := filepath.Join(b.root, "etc/initramfs-tools/conf.d")
	if err := os.MkdirAll(conf, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(conf, "modules"), []byte("MODULES=list\n"), 0o644); err != nil {
		return err
	}
	apt := []string{"apt-get", "install", "-y", "-q", "--no-install-recommends"}
	if _, err := b.chroot(nil, append(apt, "grub-common", "grub2-common", "grub-pc-bin", "linux-image-amd64="+versions[0])...); err != nil {
		return err
	}
	if _, err := b.chroot(nil, append(apt, "linux-image-amd64")...); err != nil {
		return err
	}
	if _, err := b.chroot(nil, "apt-get", "clean"); err != nil {
		return err
	}
	lists, _ := filepath.Glob(filepath.Join(b.root, "var/lib/apt/lists/*_*"))
	for _, l := range lists {
		os.Remove(l)
	}
	// grub-pc's postinst (not installed: it runs grub-install) makes
	// /etc/default/grub from this template; copy it the same way.
	tmpl, err := os.ReadFile(filepath.Join(b.root, "usr/share/grub/default/grub"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(b.root, "etc/default/grub"), tmpl, 0o644); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(b.root, "boot/grub"), 0o755); err != nil {
		return err
	}
	b.probe = filepath.Join(b.dir, "grub-probe")
	if err := os.WriteFile(b.probe, []byte(grubProbe), 0o755); err != nil {
		return err
	}
	// 10_linux writes root=UUID=... only when /dev/disk/by-uuid has the
	// root's UUID, as udev makes it on a booted system: a copy of the
	// chroot's /dev with that link is bind-mounted over it.
	dev := filepath.Join(b.dir, "dev")
	os.RemoveAll(dev)
	defer os.RemoveAll(dev)
	if out, err := exec.CommandContext(b.ctx, "cp", "-a", filepath.Join(b.root, "dev"), dev).CombinedOutput(); err != nil {
		return fmt.Errorf("cp -a %s/dev: %v\n%s", b.root, err, out)
	}
	if err := os.MkdirAll(filepath.Join(dev, "disk/by-uuid"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dev, "sda1"), nil, 0o644); err != nil {
		return err
	}
	if err := os.Symlink("../../sda1", filepath.Join(dev, "disk/by-uuid", RootUUID)); err != nil {
		return err
	}
	probe := []string{b.probe, "/usr/sbin/grub-probe", dev, "/dev"}
	if _, err := b.chroot(nil, "grub-editenv", "/boot/grub/grubenv", "create"); err != nil {
		return err
	}
	if _, err := b.chroot(probe, "grub-mkconfig", "-o", "/boot/grub/grub.cfg"); err != nil {
		return err
	}
	// The saved variant: GRUB_DEFAULT=saved in a copy of /etc/default/grub
	// bind-mounted over the original, the outputs written to b.saved
	// (bind-mounted on /mnt).
	savedDefault := filepath.Join(b.saved, "etc/default/grub")
	if err := os.MkdirAll(filepath.Dir(savedDefault), 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(b.saved, "boot/grub"), 0o755); err != nil {
		return err
	}
	if !strings.Contains(string(tmpl), "\nGRUB_DEFAULT=0\n") {
		return fmt.Errorf("usr/share/grub/default/grub sets no GRUB_DEFAULT=0")
	}
	if err := os.WriteFile(savedDefault, []byte(strings.Replace(string(tmpl), "\nGRUB_DEFAULT=0\n", "\nGRUB_DEFAULT=saved\n", 1)), 0o644); err != nil {
		return err
	}
	binds := slices.Concat(probe, []string{savedDefault, "/etc/default/grub", b.saved, "/mnt"})
	if _, err := b.chroot(binds, "grub-editenv", "/mnt/boot/grub/grubenv", "create"); err != nil {
		return err
	}
	if _, err := b.chroot(binds, "grub-set-default", "--boot-directory=/mnt/boot", SavedEntry(oldRelease)); err != nil {
		return err
	}
	if _, err := b.chroot(binds, "grub-mkconfig", "-o", "/mnt/boot/grub/grub.cfg"); err != nil {
		return err
	}
	// The boot-partition variant: the saved one with /boot a file system
	// of its own (a tmpfs holding a copy, see chroot).
	bootCopy := filepath.Join(b.dir, "boot-copy")
	os.RemoveAll(bootCopy)
	defer os.RemoveAll(bootCopy)
	if out, err := exec.CommandContext(b.ctx, "cp", "-a", filepath.Join(b.root, "boot"), bootCopy).CombinedOutput(); err != nil {
		return fmt.Errorf("cp -a %s/boot: %v\n%s", b.root, err, out)
	}
	for _, p := range variantFiles {
		if out, err := exec.CommandContext(b.ctx, "install", "-D", "-m", "644", filepath.Join(b.saved, p), filepath.Join(b.bootPart, p)).CombinedOutput(); err != nil {
			return fmt.Errorf("install %s: %v\n%s", p, err, out)
		}
	}
	binds = slices.Concat(probe, []string{savedDefault, "/etc/default/grub", bootCopy, "/boot", b.bootPart, "/mnt"})
	_, err = b.chroot(binds, "grub-mkconfig", "-o", "/mnt/boot/grub/grub.cfg")
	return err
}

// chroot runs a command in the root file system being built, in a private
// mount namespace with /proc mounted and binds (pairs of host path and
// path in the root) bind-mounted; it returns the command's output. A
// folder bound on /boot is copied into a tmpfs mounted there instead: a
// file system of its own, whose root grub-mkrelpath sees as /boot (under
// a bind mount it would see the folder's path on the host).
func (b *kernelBuild) chroot(binds []string, cmd ...string) (string, error) {
	// After `shift`, $1 is the first bind's host path.
	script := `set -e; root=$1; shift; mount -t proc proc "$root/proc"`
	args := []string{"-m", "--", "sh", "-c", "", "sh", b.root}
	for i := 0; i+1 < len(binds); i += 2 {
		from, to := len(args)-6, len(args)-5
		if binds[i+1] == "/boot" {
			script += fmt.Sprintf(`; mount -t tmpfs boot "$root${%d}"; cp -a "${%d}/." "$root${%d}/"`, to, from, to)
		} else {
			script += fmt.Sprintf(`; mount --bind "${%d}" "$root${%d}"`, from, to)
		}
		args = append(args, binds[i], binds[i+1])
	}
	script += fmt.Sprintf(`; shift %d; exec chroot "$root" "$@"`, len(binds))
	args[4] = script
	args = append(args, cmd...)
	c := exec.CommandContext(b.ctx, "unshare", args...)
	c.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C.UTF-8", "PATH=/usr/sbin:/usr/bin:/sbin:/bin")
	out, err := c.CombinedOutput()
	b.log = append(b.log, strings.Join(cmd, " "))
	if err != nil {
		return "", fmt.Errorf("chroot %s %s: %v\n%s", b.root, strings.Join(cmd, " "), err, tail(out, 3000))
	}
	return string(out), nil
}
