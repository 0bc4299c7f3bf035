package disk

import (
	"bytes"
	"slices"
	"testing"
)

// The disk targets mutate a real image made by Debian's tools through a
// patch (4 bytes an edit: a 24-bit offset into the image and a value), so
// that inputs stay small and the fuzzer (whose minimizer is slow on large
// inputs) stays fast while any byte of the image can change.

// patch applies edits to a copy of base.
func patch(base, edits []byte) []byte {
	b := slices.Clone(base)
	for i := 0; i+4 <= len(edits); i += 4 {
		off := (int(edits[i])<<16 | int(edits[i+1])<<8 | int(edits[i+2])) % len(b)
		b[off] = edits[i+3]
	}
	return b
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
		d, err := New("fuzz", "raw", bytes.NewReader(b), int64(len(b)))
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
		e, err := openExt4(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		e.ReadFile("etc/os-release", 1<<20)                                                   //nolint:errcheck // errors are fine
		walkAll(&Disk{Partitions: []Partition{{Size: int64(len(b))}}, r: bytes.NewReader(b)}) //nolint:errcheck
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
		b = b[:len(b)-int(cut)%len(b)]
		readPartitions(bytes.NewReader(b), int64(len(b)), func(string) {}) //nolint:errcheck
	})
}
