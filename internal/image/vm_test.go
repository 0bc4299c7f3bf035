package image_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/inventory"
	"github.com/bulwark-sec/bulwark/internal/inventory/analyzers"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// TestVMPackages builds disk images from a real debootstrap root filesystem
// with Debian's tools and checks that the Debian packages bulwark reads from
// vm:FILE are exactly what dpkg-query lists on that root filesystem.
func TestVMPackages(t *testing.T) {
	if testing.Short() {
		t.Skip("needs debootstrap and disk tools")
	}
	rootfs := testutil.DebianRootfs(t)
	want := testutil.DpkgQuery(t, rootfs)
	for _, tc := range []struct {
		name string
		opts testutil.DiskOptions
		ebs  bool // served as an EBS snapshot
	}{
		{"gpt-ext4-raw", testutil.DiskOptions{Table: "gpt"}, false},
		{"mbr-ext4-separate-var", testutil.DiskOptions{Table: "mbr", SeparateVar: true}, false},
		{"whole-disk-ext4", testutil.DiskOptions{}, false},
		{"gpt-qcow2", testutil.DiskOptions{Table: "gpt", Format: "qcow2"}, false},
		{"mbr-qcow2-compressed", testutil.DiskOptions{Table: "mbr", Format: "qcow2-compressed"}, false},
		{"gpt-vmdk-stream-optimized", testutil.DiskOptions{Table: "gpt", Format: "vmdk"}, false},
		{"gpt-vmdk-monolithic-sparse", testutil.DiskOptions{Table: "gpt", Format: "vmdk-sparse"}, false},
		{"gpt-xfs-separate-var", testutil.DiskOptions{Table: "gpt", FS: "xfs", SeparateVar: true}, false},
		{"ebs-snapshot", testutil.DiskOptions{Table: "gpt"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := testutil.BuildDisk(t, rootfs, tc.opts)
			spec := "vm:" + file
			var ebs *testutil.EBS
			if tc.ebs {
				ebs = testutil.StartEBS(t, map[string]string{"snap-0123456789abcdef0": file})
				spec = "ebs:snap-0123456789abcdef0"
			}
			img, err := image.Open(context.Background(), spec, image.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer img.Close()
			if tc.opts.SeparateVar && len(img.Layers) != 2 {
				t.Errorf("a disk with a separate /var has %d layers, want 2 (root and /var)", len(img.Layers))
			}
			sb, err := inventory.Scan(context.Background(), img, inventory.Options{Analyzers: analyzers.All(), Mode: inventory.ModeImage})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range sb.Packages {
				if p.Ecosystem == "Debian" {
					got = append(got, p.Name+" "+p.Version)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("packages from vm:%s differ from dpkg-query's (%d vs %d):\n got %v\nwant %v", file, len(got), len(want), got, want)
			}
			if sb.Target.OS == nil || !strings.Contains(sb.Target.OS.ID, "debian") {
				t.Errorf("OS = %+v, want debian", sb.Target.OS)
			}
			for _, w := range sb.Warnings {
				t.Errorf("warning: %s", w)
			}
			if ebs != nil {
				// Only the blocks the file system reads are fetched.
				gets, listed := ebs.Gets.Load(), ebs.Listed["snap-0123456789abcdef0"]
				t.Logf("EBS: %d of %d blocks fetched", gets, listed)
				if gets == 0 || gets >= int64(listed)*3/4 {
					t.Errorf("fetched %d of the %d blocks the snapshot lists; want some but far from all", gets, listed)
				}
			}
		})
	}
}

// TestVMNotADisk checks that a file holding no partition table and no file
// system bulwark reads is refused with a message that says so in words.
func TestVMNotADisk(t *testing.T) {
	f := t.TempDir() + "/notes.txt"
	if err := os.WriteFile(f, []byte(strings.Repeat("not a disk\n", 1000)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := image.Open(context.Background(), "vm:"+f, image.Options{})
	if err == nil {
		t.Fatal("a text file opened as a disk image")
	}
	if !strings.Contains(err.Error(), "the whole disk (0 MiB, no partition table)") {
		t.Errorf("error %q does not say the disk has no partition table", err)
	}
}
