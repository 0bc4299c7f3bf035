package disk

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// lvmPVImage makes a 40 MiB LVM2 physical volume with LVM's own tools:
// pvcreate and vgcreate on a loop device over a file, then vgcfgrestore
// of a description with two linear logical volumes: "root" in two
// segments stored out of order (its extents 0-2 on PEs 4-6, 3-5 on PEs
// 0-2) and "var" (PE 7). Their contents (file systems made with
// mkfs.ext4 -d) are written into the file where the extents are. It
// returns the file.
func lvmPVImage(t testing.TB, vg string, rootFS, varFS []byte) string {
	t.Helper()
	for _, tool := range []string{"pvcreate", "vgcreate", "vgcfgbackup", "vgcfgrestore", "lvs", "losetup"} {
		testutil.RequireTool(t, tool)
	}
	if os.Geteuid() != 0 {
		t.Skip("loop devices need root")
	}
	dir := t.TempDir()
	pv := filepath.Join(dir, "pv.img")
	if err := os.WriteFile(pv, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(pv, 40<<20); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "-f", "--show", pv).CombinedOutput()
	if err != nil {
		t.Fatalf("losetup: %v\n%s", err, out)
	}
	loop := strings.TrimSpace(string(out))
	defer exec.Command("losetup", "-d", loop).Run() //nolint:errcheck
	cfg := "--config=backup{backup=0 archive=0} devices{filter=[\"a|^" + loop + "$|\",\"r|.*|\"]}"
	lvm := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(args[0], append([]string{cfg}, args[1:]...)...)
		cmd.Env = append(os.Environ(), "LVM_SUPPRESS_FD_WARNINGS=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	lvm("pvcreate", "-ff", "-y", loop)
	lvm("vgcreate", "-s", "4m", vg, loop)
	backup := filepath.Join(dir, "vg.txt")
	lvm("vgcfgbackup", "-f", backup, vg)
	text, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	lvs := `
	logical_volumes {
		root {
			id = "bwroot-0000-0000-0000-0000-0000-000000"
			status = ["READ", "WRITE", "VISIBLE"]
			segment_count = 2
			segment1 {
				start_extent = 0
				extent_count = 3
				type = "striped"
				stripe_count = 1
				stripes = ["pv0", 4]
			}
			segment2 {
				start_extent = 3
				extent_count = 3
				type = "striped"
				stripe_count = 1
				stripes = ["pv0", 0]
			}
		}
		var {
			id = "bwvar0-0000-0000-0000-0000-0000-000000"
			status = ["READ", "WRITE", "VISIBLE"]
			segment_count = 1
			segment1 {
				start_extent = 0
				extent_count = 1
				type = "striped"
				stripe_count = 1
				stripes = ["pv0", 7]
			}
		}
	}
}
`
	s := string(text)
	s = s[:strings.LastIndex(s, "}")] + lvs
	s = strings.Replace(s, "seqno = 1", "seqno = 2", 1)
	if err := os.WriteFile(backup, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	lvm("vgcfgrestore", "-f", backup, vg)
	// LVM itself reads the description back: the same extents.
	segs := lvm("lvs", "--noheadings", "--segments", "-o", "lv_name,seg_start_pe,seg_pe_ranges", vg)
	if got := strings.Join(strings.Fields(segs), " "); got != "root 0 "+loop+":4-6 root 3 "+loop+":0-2 var 0 "+loop+":7-7" {
		t.Fatalf("lvs says %q", got)
	}
	f, err := os.OpenFile(pv, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const mib = 1 << 20
	peStart := int64(mib) // pvcreate's default data alignment
	write := func(b []byte, pe int64) {
		if _, err := f.WriteAt(b, peStart+pe*4*mib); err != nil {
			t.Fatal(err)
		}
	}
	write(rootFS[:12*mib], 4)
	write(rootFS[12*mib:], 0)
	write(varFS, 7)
	return pv
}

// mkfsExt4 makes an ext4 file system of the given size from a folder.
func mkfsExt4(t testing.TB, src string, size int64, uuid string) []byte {
	t.Helper()
	img := filepath.Join(t.TempDir(), "fs.img")
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", "-U", uuid, "-d", src, img, fmt.Sprintf("%dk", size/1024)).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v\n%s", err, out)
	}
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLVM reads a GPT disk whose one partition is an LVM physical
// volume: the root file system is found in the logical volume root (two
// segments), and its fstab's /dev/mapper path mounts the volume var.
func TestLVM(t *testing.T) {
	testutil.RequireTool(t, "mkfs.ext4")
	testutil.RequireTool(t, "sgdisk")
	vg := fmt.Sprintf("bw-test%d", os.Getpid())
	root := testutil.GoldenRootfs(t, map[string]string{
		"etc/fstab": "/dev/mapper/" + strings.ReplaceAll(vg, "-", "--") + "-root / ext4 defaults 0 1\n/dev/" + vg + "/var /var ext4 defaults 0 2\n",
	})
	varDir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(varDir, "lib/bulwark"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(varDir, "lib/bulwark/on-var"), []byte("yes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rootFS := mkfsExt4(t, root, 24<<20, "0badc0de-0000-4000-8000-0000000000aa")
	varFS := mkfsExt4(t, varDir, 4<<20, "0badc0de-0000-4000-8000-0000000000bb")
	pv := lvmPVImage(t, vg, rootFS, varFS)

	pvBytes, err := os.ReadFile(pv)
	if err != nil {
		t.Fatal(err)
	}
	raw := filepath.Join(t.TempDir(), "disk.raw")
	const mib = 1 << 20
	if err := os.WriteFile(raw, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(raw, int64(len(pvBytes))+2*mib); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("sgdisk", fmt.Sprintf("--new=1:2048:%d", 2048+len(pvBytes)/512-1), "--typecode=1:8e00", raw).CombinedOutput(); err != nil {
		t.Fatalf("sgdisk: %v\n%s", err, out)
	}
	f, err := os.OpenFile(raw, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(pvBytes, mib); err != nil {
		t.Fatal(err)
	}
	f.Close()

	d, err := Open(raw)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	roots := d.Roots()
	if len(roots) != 1 || roots[0].Partition.Name != vg+"/root" || roots[0].Partition.Index != 2 || roots[0].Partition.Size != 24*mib {
		t.Fatalf("roots %+v, partitions %+v, warnings %v", roots, d.Partitions, d.Warnings)
	}
	if b, err := roots[0].FS.ReadFile("etc/passwd", 1<<20); err != nil || !strings.HasPrefix(string(b), "root:x:0:0") {
		t.Errorf("etc/passwd across the LV's segments: %q, %v", b, err)
	}
	mounts := d.Mounts(roots[0])
	if len(mounts) != 1 || mounts[0].Point != "var" || mounts[0].Partition.Name != vg+"/var" {
		t.Fatalf("mounts %+v, warnings %v", mounts, d.Warnings)
	}
	if b, err := mounts[0].FS.ReadFile("lib/bulwark/on-var", 100); err != nil || string(b) != "yes\n" {
		t.Errorf("var: %q, %v", b, err)
	}
}

func TestLVDevice(t *testing.T) {
	for spec, want := range map[string]string{
		"/dev/mapper/debian--vg-root": "debian-vg/root",
		"/dev/mapper/vg-my--lv":       "vg/my-lv",
		"/dev/vg0/root":               "vg0/root",
		"/dev/sda1":                   "",
		"/dev/mapper/nodash":          "",
		"UUID=abc":                    "",
	} {
		if got := lvDevice(spec); got != want {
			t.Errorf("%s: %q, want %q", spec, got, want)
		}
	}
}

// FuzzLVMConfig parses hostile volume group descriptions and maps their
// logical volumes onto a small device.
func FuzzLVMConfig(f *testing.F) {
	f.Add(`vg { id = "a" seqno = 1 extent_size = 8 physical_volumes { pv0 { id = "x" pe_start = 8 } }
logical_volumes { lv { status = ["VISIBLE"] segment1 { start_extent = 0 extent_count = 2 type = "striped" stripe_count = 1 stripes = ["pv0", 1] } } } }`)
	f.Add("a = [1, \"b\\\"\", c] # comment\nb { c { d = 1 } }")
	f.Fuzz(func(t *testing.T, text string) {
		cfg, err := parseLVMConfig(text)
		if err != nil {
			return
		}
		dev := patch(make([]byte, 64<<10), nil)
		pvs := map[string]lvmPV{"x": {part: Partition{Index: 1, Size: 64 << 10}}}
		for name, vg := range cfg.sections {
			for _, lv := range logicalVolumes(dev, name, vg, pvs, func(string) {}) {
				b := make([]byte, 1024)
				lv.dev.ReadAt(b, lv.Size/2) //nolint:errcheck
			}
		}
	})
}
