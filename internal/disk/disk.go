// Package disk reads virtual machine disk images (raw, qcow2, VMDK) and
// EBS snapshots without mounting them: partition tables (MBR, GPT), ext2/3/4
// and XFS file systems, the Linux root file systems they hold (found by
// /etc/os-release) and the other file systems their fstab mounts.
package disk

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/regular"
)

// Disk is an opened disk image: a byte-addressable device and its
// partitions.
type Disk struct {
	// Name is the disk as the user gave it.
	Name string
	// Format is "raw", "qcow2", "vmdk" or "ebs".
	Format string
	// Size is the virtual size of the disk in bytes.
	Size int64
	// Partitions are the partitions read from its table (one of Index 0
	// for a disk without one).
	Partitions []Partition
	// Warnings lists damage that was skipped (bad partition entries...).
	Warnings []string

	r      io.ReaderAt
	closer io.Closer
}

// Close releases the image file.
func (d *Disk) Close() error {
	if d.closer == nil {
		return nil
	}
	return d.closer.Close()
}

// Open opens a disk image file, detecting its format from its content.
func Open(file string) (*Disk, error) {
	f, st, err := regular.Open(file)
	if err != nil {
		return nil, err
	}
	dev, format, size, err := openImage(f, st.Size())
	if err != nil {
		f.Close()
		return nil, err
	}
	d, err := New(file, format, dev, size)
	if err != nil {
		f.Close()
		return nil, err
	}
	d.closer = f
	return d, nil
}

// New reads the partition table of a device of the given size.
func New(name, format string, dev io.ReaderAt, size int64) (*Disk, error) {
	d := &Disk{Name: name, Format: format, Size: size, r: dev}
	if size < sector {
		return nil, fmt.Errorf("the disk is %d bytes, too small to hold a partition table or file system", size)
	}
	parts, err := readPartitions(dev, size, d.warn)
	if err != nil {
		return nil, err
	}
	next := 1
	for _, p := range parts {
		next = max(next, p.Index+1)
	}
	d.Partitions = append(parts, readLVM(dev, parts, next, d.warn)...)
	return d, nil
}

func (d *Disk) warn(s string) { d.Warnings = append(d.Warnings, s) }

// openImage detects the image format and returns the virtual device.
func openImage(f *os.File, size int64) (io.ReaderAt, string, int64, error) {
	magic := make([]byte, 4)
	if _, err := f.ReadAt(magic, 0); err != nil && size >= 4 {
		return nil, "", 0, err
	}
	switch {
	case bytes.Equal(magic, []byte("QFI\xfb")):
		q, err := openQcow2(f, size)
		if err != nil {
			return nil, "", 0, fmt.Errorf("qcow2: %w", err)
		}
		return q, "qcow2", q.size, nil
	case bytes.Equal(magic, []byte("KDMV")):
		v, vsize, err := openVMDK(f, size)
		if err != nil {
			return nil, "", 0, fmt.Errorf("vmdk: %w", err)
		}
		return v, "vmdk", vsize, nil
	}
	return f, "raw", size, nil
}

// Root is a file system of the disk holding a Linux root (/etc/os-release).
type Root struct {
	// Partition is where it is.
	Partition Partition
	// FS is its file system.
	FS FS
	// OSRelease is the content of its os-release file.
	OSRelease []byte
}

// OpenPartition opens the file system of one partition.
func (d *Disk) OpenPartition(p Partition) (FS, error) {
	fsys, err := openFS(d.r, p)
	if err != nil {
		return nil, fmt.Errorf("partition %d: %w", p.Index, err)
	}
	return fsys, nil
}

// Roots returns every partition whose file system holds /etc/os-release
// (or /usr/lib/os-release). Partitions that hold no readable file system
// are skipped, with a warning when they look like they should.
func (d *Disk) Roots() []Root {
	var roots []Root
	for _, p := range d.Partitions {
		if gptSkip[p.Type] != "" || p.Type == "0x82" || p.Type == "0x8e" {
			continue
		}
		fsys, err := d.OpenPartition(p)
		if err != nil {
			if !strings.Contains(err.Error(), errNoFS.Error()) {
				d.warn(err.Error())
			}
			continue
		}
		if rel := osRelease(fsys); rel != nil {
			roots = append(roots, Root{Partition: p, FS: fsys, OSRelease: rel})
		}
	}
	return roots
}

func osRelease(fsys FS) []byte {
	for _, p := range []string{"etc/os-release", "usr/lib/os-release"} {
		if b, err := fsys.ReadFile(p, 64<<10); err == nil {
			return b
		}
	}
	return nil
}

// Mount is a file system that a root's fstab mounts below /.
type Mount struct {
	// Point is the mount point, relative ("usr", "var/log").
	Point string
	// Partition is where the file system is.
	Partition Partition
	// FS is the file system.
	FS FS
}

// Mounts reads the root's /etc/fstab and opens every ext2/3/4 or XFS file
// system of this disk that it mounts by UUID=, LABEL= or PARTUUID=.
// Entries naming file systems that are not on this disk (or by device
// path, which a disk image cannot resolve) become warnings.
func (d *Disk) Mounts(root Root) []Mount {
	fstab, err := root.FS.ReadFile("etc/fstab", 1<<20)
	if err != nil {
		return nil
	}
	var mounts []Mount
	for _, line := range strings.Split(string(fstab), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 3 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		spec, point, typ := fields[0], path.Clean(fields[1]), fields[2]
		if point == "/" || !strings.HasPrefix(point, "/") || (typ != "ext2" && typ != "ext3" && typ != "ext4" && typ != "xfs" && typ != "auto") {
			continue
		}
		m, ok := d.findFS(spec, root.Partition.Index)
		if !ok {
			d.warn(fmt.Sprintf("fstab mounts %s on %s, which is not a file system bulwark found on this disk; its files are not read", spec, point))
			continue
		}
		m.Point = strings.TrimPrefix(point, "/")
		mounts = append(mounts, m)
	}
	return mounts
}

func (d *Disk) findFS(spec string, rootIndex int) (Mount, bool) {
	key, val, _ := strings.Cut(spec, "=")
	for _, p := range d.Partitions {
		if p.Index == rootIndex {
			continue
		}
		if p.dev != nil && lvDevice(spec) == p.Name {
			if fsys, err := openFS(d.r, p); err == nil {
				return Mount{Partition: p, FS: fsys}, true
			}
		}
		fsys, err := openFS(d.r, p)
		if err != nil {
			continue
		}
		switch strings.ToUpper(key) {
		case "PARTUUID":
			if p.UUID != "" && strings.EqualFold(p.UUID, val) {
				return Mount{Partition: p, FS: fsys}, true
			}
		case "UUID":
			if strings.EqualFold(fsys.UUID(), val) {
				return Mount{Partition: p, FS: fsys}, true
			}
		case "LABEL":
			if fsys.Label() == val {
				return Mount{Partition: p, FS: fsys}, true
			}
		}
	}
	return Mount{}, false
}

// lvDevice returns the "VG/LV" an fstab device path names
// (/dev/VG/LV, or /dev/mapper/VG-LV with "-" in names doubled), or "".
func lvDevice(spec string) string {
	if rest, ok := strings.CutPrefix(spec, "/dev/mapper/"); ok {
		for i := 0; i < len(rest); i++ {
			if rest[i] == '-' {
				if i+1 < len(rest) && rest[i+1] == '-' {
					i++
					continue
				}
				return strings.ReplaceAll(rest[:i], "--", "-") + "/" + strings.ReplaceAll(rest[i+1:], "--", "-")
			}
		}
		return ""
	}
	if rest, ok := strings.CutPrefix(spec, "/dev/"); ok && strings.Count(rest, "/") == 1 {
		return rest
	}
	return ""
}
