package disk

import (
	"io"
	"testing"
)

// The disk targets mutate a real image made by Debian's tools through a
// patch (4 bytes an edit: a 24-bit offset into the image and a value), so
// that inputs stay small and the fuzzer (whose minimizer is slow on large
// inputs) stays fast while any byte of the image can change.

// patched is base with edits applied, read without copying base.
type patched struct {
	base  []byte
	edits map[int64]byte
}

// patch applies edits (see above) to base.
func patch(base, edits []byte) *patched {
	p := &patched{base: base, edits: map[int64]byte{}}
	for i := 0; i+4 <= len(edits); i += 4 {
		off := (int(edits[i])<<16 | int(edits[i+1])<<8 | int(edits[i+2])) % len(base)
		p.edits[int64(off)] = edits[i+3]
	}
	return p
}

func (p *patched) size() int64 { return int64(len(p.base)) }

func (p *patched) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 || off >= p.size() {
		return 0, io.EOF
	}
	n := copy(b, p.base[off:])
	for o, v := range p.edits {
		if o >= off && o < off+int64(n) {
			b[o-off] = v
		}
	}
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

// edit encodes one patch record.
func edit(off int, v byte) []byte { return []byte{byte(off >> 16), byte(off >> 8), byte(off), v} }

// FuzzDisk opens a patched GPT disk holding an ext4 root, finds its roots
// and reads every file: it must end with a result or an error, never a
// panic or a hang.
func FuzzDisk(f *testing.F) {
	base := gptDisk(f)
	f.Add([]byte{})
	f.Add(edit(512+80, 0xff))                              // GPT entry count
	f.Add(append(edit(1<<20+1024+0x28, 1), edit(1, 0)...)) // inodes per group
	f.Fuzz(func(t *testing.T, edits []byte) {
		b := patch(base, edits)
		d, err := New("fuzz", "raw", b, b.size())
		if err != nil {
			return
		}
		walkAll(d) //nolint:errcheck // errors are fine, panics are not
	})
}

// FuzzExt4 reads a patched ext4 file system.
func FuzzExt4(f *testing.F) {
	base := smallExt4(f)
	f.Add([]byte{})
	f.Add(edit(1024+0x18, 9)) // block size
	f.Fuzz(func(t *testing.T, edits []byte) {
		b := patch(base, edits)
		e, err := openExt4(b, b.size())
		if err != nil {
			return
		}
		e.ReadFile("etc/os-release", 1<<20)                             //nolint:errcheck // errors are fine
		walkAll(&Disk{Partitions: []Partition{{Size: b.size()}}, r: b}) //nolint:errcheck
	})
}

// FuzzPartitions reads the partition table of a patched GPT disk (its
// first 34 sectors), cut to a fuzzed length.
func FuzzPartitions(f *testing.F) {
	base := gptDisk(f)[:34*512]
	f.Add([]byte{}, uint16(0))
	f.Add(edit(450, 0x05), uint16(0)) // an MBR extended partition
	f.Fuzz(func(t *testing.T, edits []byte, cut uint16) {
		b := patch(base, edits)
		b.base = b.base[:len(b.base)-int(cut)%len(b.base)]
		readPartitions(b, b.size(), func(string) {}) //nolint:errcheck
	})
}

// FuzzQcow2 reads a patched compressed qcow2 image of the GPT disk.
func FuzzQcow2(f *testing.F) {
	base := convert(f, gptDisk(f), "-c", "-O", "qcow2", "-o", "cluster_size=4096")
	f.Add([]byte{})
	f.Add(edit(36, 0xff)) // L1 size
	f.Fuzz(func(t *testing.T, edits []byte) {
		b := patch(base, edits)
		q, err := openQcow2(b, b.size())
		if err != nil {
			return
		}
		if d, err := New("fuzz", "qcow2", q, q.size); err == nil {
			walkAll(d) //nolint:errcheck // errors are fine, panics are not
		}
	})
}

// FuzzVMDK reads a patched stream-optimized VMDK image of the GPT disk.
func FuzzVMDK(f *testing.F) {
	base := convert(f, gptDisk(f), "-O", "vmdk", "-o", "subformat=streamOptimized")
	f.Add([]byte{})
	f.Add(edit(20, 0x80)) // grain size
	f.Fuzz(func(t *testing.T, edits []byte) {
		b := patch(base, edits)
		v, size, err := openVMDK(b, b.size())
		if err != nil {
			return
		}
		if d, err := New("fuzz", "vmdk", v, size); err == nil {
			walkAll(d) //nolint:errcheck // errors are fine, panics are not
		}
	})
}

// FuzzXFS reads a patched XFS file system: superblock, inodes, short-form
// and block directories, symlinks in the inode and in a remote block.
func FuzzXFS(f *testing.F) {
	base := smallXFS(f)
	f.Add([]byte{})
	f.Add(edit(4, 0x40))    // block size
	f.Add(edit(0x7C, 0x1f)) // allocation group size log
	f.Fuzz(func(t *testing.T, edits []byte) {
		b := patch(base, edits)
		x, err := openXFS(b, b.size())
		if err != nil {
			return
		}
		x.ReadFile("etc/far", 1<<20)                                    //nolint:errcheck // errors are fine
		walkAll(&Disk{Partitions: []Partition{{Size: b.size()}}, r: b}) //nolint:errcheck
	})
}
