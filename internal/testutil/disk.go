package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// RootUUID is the UUID of the root file system BuildDisk makes (its first
// partition).
const RootUUID = "0badc0de-0000-4000-8000-000000000001"

// DiskOptions describes a disk image for BuildDisk.
type DiskOptions struct {
	// Table is "gpt", "mbr" or "" (a file system on the whole disk).
	Table string
	// FS is "ext4" (default) or "xfs".
	FS string
	// Format is "raw" (default), "qcow2", "qcow2-compressed", "vmdk"
	// (stream-optimized, as AMI exports are) or "vmdk-sparse"
	// (monolithicSparse).
	Format string
	// SeparateVar puts the root filesystem's /var on a second partition
	// mounted by UUID in /etc/fstab (Table must be set).
	SeparateVar bool
	// SeparateBoot does the same for /boot, as Debian's guided LVM
	// layout has it (not with SeparateVar).
	SeparateBoot bool
}

// BuildDisk makes a disk image holding a copy of rootfs with Debian's own
// tools only, no mount and no loop device: mkfs.ext4 -d (or mkfs.xfs -p
// with a protofile) writes each file system straight into its partition
// (-E offset=), sfdisk or sgdisk writes the partition table, qemu-img
// convert makes qcow2 or VMDK. Each partition starts at 1 MiB steps.
func BuildDisk(t testing.TB, rootfs string, o DiskOptions) string {
	t.Helper()
	if o.FS == "" {
		o.FS = "ext4"
	}
	RequireTool(t, "mkfs."+o.FS)
	dir := t.TempDir()
	raw := filepath.Join(dir, "disk.raw")
	type part struct {
		src     string
		exclude string
		label   string
	}
	parts := []part{{src: rootfs, label: "root"}}
	sep := ""
	switch {
	case o.SeparateVar && o.SeparateBoot:
		t.Fatal("BuildDisk: SeparateVar and SeparateBoot together")
	case o.SeparateVar:
		sep = "var"
	case o.SeparateBoot:
		sep = "boot"
	}
	if sep != "" {
		parts[0].exclude = sep
		parts = append(parts, part{src: filepath.Join(rootfs, sep), label: sep})
	}
	const mib = 1 << 20
	sizes := make([]int64, len(parts))
	var total int64 = mib
	for i, p := range parts {
		sizes[i] = (dirSize(t, p.src, p.exclude)*13/10/mib + 300) * mib
		total += sizes[i]
	}
	total += mib // room for the backup GPT
	if err := os.WriteFile(raw, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(raw, total); err != nil {
		t.Fatal(err)
	}
	starts := make([]int64, len(parts))
	off := int64(mib)
	if o.Table == "" {
		off = 0
	}
	for i := range parts {
		starts[i] = off
		off += sizes[i]
	}
	switch o.Table {
	case "mbr":
		RequireTool(t, "sfdisk")
		var script strings.Builder
		script.WriteString("label: dos\n")
		for i := range parts {
			fmt.Fprintf(&script, "start=%d, size=%d, type=83\n", starts[i]/512, sizes[i]/512)
		}
		run(t, script.String(), "sfdisk", "-q", raw)
	case "gpt":
		RequireTool(t, "sgdisk")
		args := []string{}
		for i := range parts {
			args = append(args, fmt.Sprintf("--new=%d:%d:%d", i+1, starts[i]/512, (starts[i]+sizes[i])/512-1),
				fmt.Sprintf("--typecode=%d:8300", i+1), fmt.Sprintf("--change-name=%d:%s", i+1, parts[i].label))
		}
		run(t, "", "sgdisk", append(args, raw)...)
	}
	uuids := make([]string, len(parts))
	for i := len(parts) - 1; i >= 0; i-- {
		src := parts[i].src
		if parts[i].exclude != "" {
			src = stage(t, parts[i].src, parts[i].exclude, uuids[1:])
		}
		uuids[i] = fmt.Sprintf("0badc0de-0000-4000-8000-%012d", i+1) // RootUUID for the first
		switch o.FS {
		case "ext4":
			run(t, "", "mkfs.ext4", "-q", "-F", "-U", uuids[i], "-L", parts[i].label, "-d", src,
				"-E", fmt.Sprintf("offset=%d", starts[i]), raw, fmt.Sprintf("%dk", sizes[i]/1024))
		case "xfs":
			fsImg := filepath.Join(dir, "xfs.img")
			proto, modes := protofile(t, src)
			run(t, "", "mkfs.xfs", "-q", "-f", "-m", "uuid="+uuids[i], "-L", parts[i].label, "-p", proto,
				"-d", fmt.Sprintf("file=1,name=%s,size=%d", fsImg, sizes[i]))
			if len(modes) > 0 {
				run(t, "", "xfs_db", append(append([]string{"-x"}, modes...), fsImg)...)
			}
			run(t, "", "dd", "if="+fsImg, "of="+raw, "bs=1M", fmt.Sprintf("seek=%d", starts[i]/mib), "conv=notrunc,sparse", "status=none")
			os.Remove(fsImg)
		}
	}
	convert := map[string][]string{
		"qcow2":            {"-O", "qcow2"},
		"qcow2-compressed": {"-c", "-O", "qcow2"},
		"vmdk":             {"-O", "vmdk", "-o", "subformat=streamOptimized"},
		"vmdk-sparse":      {"-O", "vmdk", "-o", "subformat=monolithicSparse"},
	}
	if o.Format == "" || o.Format == "raw" {
		return raw
	}
	if args, ok := convert[o.Format]; ok {
		RequireTool(t, "qemu-img")
		out := filepath.Join(dir, "disk."+o.Format)
		run(t, "", "qemu-img", append(append([]string{"convert"}, args...), raw, out)...)
		os.Remove(raw)
		return out
	}
	t.Fatalf("BuildDisk: unknown format %q", o.Format)
	return ""
}

// stage copies a root filesystem (cp -a, hard links kept) without the
// excluded top-level directory (left empty as a mount point) and with an
// fstab that mounts it by UUID.
func stage(t testing.TB, src, exclude string, uuids []string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "rootfs")
	run(t, "", "cp", "-a", src, dst)
	if exclude != "" {
		if err := os.RemoveAll(filepath.Join(dst, exclude)); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(filepath.Join(dst, exclude), 0o755); err != nil {
			t.Fatal(err)
		}
		fstab := fmt.Sprintf("# test disk\nUUID=%s / auto defaults 0 1\nUUID=%s /%s auto defaults 0 2\n", RootUUID, uuids[0], exclude)
		if err := os.WriteFile(filepath.Join(dst, "etc/fstab"), []byte(fstab), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// protofile writes the mkfs.xfs protofile that copies a directory tree
// (names with white space are left out: the format cannot hold them). The
// format has no sticky bit: it returns the xfs_db -x commands that set
// the modes of the entries that have one.
func protofile(t testing.TB, root string) (string, []string) {
	t.Helper()
	var b strings.Builder
	var sticky []string
	b.WriteString("/dev/null\n0 0\nd--755 0 0\n")
	var walk func(dir string)
	walk = func(dir string) {
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			p := filepath.Join(dir, e.Name())
			if strings.ContainsAny(e.Name(), " \t\n") {
				continue
			}
			info, err := os.Lstat(p)
			if err != nil {
				t.Fatal(err)
			}
			st := info.Sys().(*syscall.Stat_t)
			m := info.Mode()
			if m&os.ModeSticky != 0 {
				rel, _ := filepath.Rel(root, p)
				sticky = append(sticky, "-c", "path /"+filepath.ToSlash(rel), "-c", fmt.Sprintf("write core.mode %#o", st.Mode))
			}
			mode := func(typ byte) string {
				u, g := byte('-'), byte('-')
				if m&os.ModeSetuid != 0 {
					u = 'u'
				}
				if m&os.ModeSetgid != 0 {
					g = 'g'
				}
				return fmt.Sprintf("%c%c%c%03o %d %d", typ, u, g, m.Perm(), st.Uid, st.Gid)
			}
			switch {
			case m.IsDir():
				fmt.Fprintf(&b, "%s %s\n", e.Name(), mode('d'))
				walk(p)
				b.WriteString("$\n")
			case m&os.ModeSymlink != 0:
				target, _ := os.Readlink(p)
				fmt.Fprintf(&b, "%s %s %s\n", e.Name(), mode('l'), target)
			case m.IsRegular():
				fmt.Fprintf(&b, "%s %s %s\n", e.Name(), mode('-'), p)
			case m&os.ModeNamedPipe != 0:
				fmt.Fprintf(&b, "%s %s\n", e.Name(), mode('p'))
			}
		}
	}
	walk(root)
	b.WriteString("$\n")
	out := filepath.Join(t.TempDir(), "proto")
	if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return out, sticky
}

func dirSize(t testing.TB, dir, exclude string) int64 {
	t.Helper()
	args := []string{"-sb"}
	if exclude != "" {
		args = append(args, "--exclude=./"+exclude)
	}
	cmd := exec.Command("du", append(args, ".")...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("du %s: %v", dir, err)
	}
	var n int64
	fmt.Sscan(string(out), &n)
	return n
}

func run(t testing.TB, stdin, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, tail(out, 2000))
	}
}
