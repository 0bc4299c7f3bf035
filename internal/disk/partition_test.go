package disk

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// gptDisk makes a 1 MiB + 128 KiB disk with sgdisk: partition 1 holds the
// small ext4 file system.
func gptDisk(t testing.TB) []byte {
	t.Helper()
	testutil.RequireTool(t, "sgdisk")
	fsys := smallExt4(t)
	p := filepath.Join(t.TempDir(), "disk")
	if err := os.WriteFile(p, make([]byte, 1<<20+len(fsys)+64<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("sgdisk", "--new=1:2048:+256", "--change-name=1:root", p).CombinedOutput(); err != nil {
		t.Fatalf("sgdisk: %v\n%s", err, out)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	copy(b[1<<20:], fsys)
	return b
}

// mbrDisk makes a disk with sfdisk from a script.
func mbrDisk(t *testing.T, size int, script string) []byte {
	t.Helper()
	testutil.RequireTool(t, "sfdisk")
	p := filepath.Join(t.TempDir(), "disk")
	if err := os.WriteFile(p, make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sfdisk", "-q", p)
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sfdisk: %v\n%s", err, out)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func indexes(ps []Partition) []int {
	var out []int
	for _, p := range ps {
		out = append(out, p.Index)
	}
	return out
}

func TestGPT(t *testing.T) {
	b := gptDisk(t)
	d, err := New("gpt", "raw", bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Partitions) != 1 || d.Partitions[0].Start != 1<<20 || d.Partitions[0].Size != 256*512 || d.Partitions[0].Name != "root" {
		t.Fatalf("partitions = %+v", d.Partitions)
	}
	roots := d.Roots()
	if len(roots) != 1 || !strings.Contains(string(roots[0].OSRelease), "ID=debian") {
		t.Fatalf("roots = %+v, warnings %v", roots, d.Warnings)
	}
	if got := roots[0].FS.UUID(); got != "0badc0de-0000-4000-8000-000000000001" {
		t.Errorf("UUID = %s", got)
	}

	// A damaged primary header: the backup is read, with a warning.
	bad := slices.Clone(b)
	bad[512+24] ^= 0xff
	d, err = New("gpt", "raw", bytes.NewReader(bad), int64(len(bad)))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Partitions) != 1 || len(d.Warnings) != 1 || !strings.Contains(d.Warnings[0], "CRC32") {
		t.Errorf("damaged primary: partitions %+v, warnings %v", d.Partitions, d.Warnings)
	}

	// Both copies damaged: a clear error.
	last := len(bad) - 512
	bad[last+24] ^= 0xff
	if _, err := New("gpt", "raw", bytes.NewReader(bad), int64(len(bad))); err == nil || !strings.Contains(err.Error(), "backup header") {
		t.Errorf("both headers damaged: err = %v", err)
	}

	// Entries whose CRC does not match.
	bad = slices.Clone(b)
	bad[1024+40] ^= 0xff
	bad[len(bad)-33*512+40] ^= 0xff
	if _, err := New("gpt", "raw", bytes.NewReader(bad), int64(len(bad))); err == nil || !strings.Contains(err.Error(), "entries CRC32") {
		t.Errorf("damaged entries: err = %v", err)
	}
}

func TestMBRLogical(t *testing.T) {
	b := mbrDisk(t, 8<<20, "label: dos\nstart=2048, size=2048, type=83\nstart=4096, size=10240, type=5\nstart=6144, size=1024, type=83\nstart=10240, size=1024, type=83\n")
	d, err := New("mbr", "raw", bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if got := indexes(d.Partitions); !slices.Equal(got, []int{1, 5, 6}) {
		t.Fatalf("partitions %v, want [1 5 6]; warnings %v", got, d.Warnings)
	}
	if d.Partitions[2].Start != 10240*512 || d.Partitions[2].Size != 1024*512 {
		t.Errorf("partition 6 = %+v", d.Partitions[2])
	}

	// Make the second EBR point back to the first: a loop, cut with a warning.
	ebr2 := findEBR(t, b, 2)
	binary.LittleEndian.PutUint32(b[ebr2+462+8:], 0)
	b[ebr2+462+4] = 5
	d, err = New("mbr", "raw", bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if got := indexes(d.Partitions); !slices.Equal(got, []int{1, 5, 6}) || !strings.Contains(strings.Join(d.Warnings, ";"), "loops") {
		t.Errorf("looping chain: partitions %v, warnings %v", got, d.Warnings)
	}
}

// findEBR returns the byte offset of the n-th extended boot record.
func findEBR(t *testing.T, b []byte, n int) int {
	t.Helper()
	ext := int(binary.LittleEndian.Uint32(b[446+16+8:])) * 512
	at := ext
	for i := 1; i < n; i++ {
		at = ext + int(binary.LittleEndian.Uint32(b[at+462+8:]))*512
	}
	return at
}

func TestPartitionPastEnd(t *testing.T) {
	b := mbrDisk(t, 4<<20, "label: dos\nstart=2048, size=2048, type=83\n")
	binary.LittleEndian.PutUint32(b[446+12:], 1<<30)
	d, err := New("mbr", "raw", bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Partitions) != 0 || !strings.Contains(strings.Join(d.Warnings, ";"), "beyond the end") {
		t.Errorf("partitions %+v, warnings %v", d.Partitions, d.Warnings)
	}
}

// TestXFS reads a small XFS file system found on a whole disk.
func TestXFS(t *testing.T) {
	b := smallXFS(t)
	d, err := New("xfs", "raw", bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	roots := d.Roots()
	if len(roots) != 1 || string(roots[0].OSRelease) != "ID=debian\n" || roots[0].FS.Type() != "xfs" {
		t.Fatalf("roots = %+v, warnings %v", roots, d.Warnings)
	}
	paths, damage, err := walkAll(d)
	if err != nil || len(damage) > 0 || len(paths) != 106 || !slices.Contains(paths, "etc/far") || !slices.Contains(paths, "d/n99") {
		t.Errorf("paths %v, damage %v, err %v", paths, damage, err)
	}
}
