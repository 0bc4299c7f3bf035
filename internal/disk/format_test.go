package disk

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// convert turns a raw disk into another format with qemu-img.
func convert(t testing.TB, raw []byte, args ...string) []byte {
	t.Helper()
	testutil.RequireTool(t, "qemu-img")
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.raw"), filepath.Join(dir, "out.img")
	if err := os.WriteFile(in, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("qemu-img", append(append([]string{"convert"}, args...), in, out)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func openBytes(t testing.TB, b []byte) (*Disk, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "disk")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Open(p)
	if d != nil {
		t.Cleanup(func() { d.Close() })
	}
	return d, err
}

// TestFormats reads the same GPT disk as raw, qcow2 (plain and
// compressed) and VMDK (stream-optimized and monolithic sparse): every
// format must give the same bytes and find the same root.
func TestFormats(t *testing.T) {
	raw := gptDisk(t)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"qcow2", []string{"-O", "qcow2"}},
		{"qcow2-compressed", []string{"-c", "-O", "qcow2", "-o", "cluster_size=4096"}},
		{"qcow2-zstd", []string{"-c", "-O", "qcow2", "-o", "compression_type=zstd"}},
		{"vmdk", []string{"-O", "vmdk", "-o", "subformat=streamOptimized"}},
		{"vmdk-sparse", []string{"-O", "vmdk", "-o", "subformat=monolithicSparse"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := openBytes(t, convert(t, raw, tc.args...))
			if err != nil {
				t.Fatal(err)
			}
			if d.Format != strings.Split(tc.name, "-")[0] || d.Size != int64(len(raw)) {
				t.Errorf("format %s size %d, want %s %d", d.Format, d.Size, tc.name, len(raw))
			}
			got := make([]byte, len(raw))
			if _, err := d.r.ReadAt(got, 0); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, raw) {
				t.Error("the bytes read differ from the raw disk's")
			}
			if roots := d.Roots(); len(roots) != 1 {
				t.Errorf("%d roots, want 1; warnings %v", len(roots), d.Warnings)
			}
		})
	}
}

// TestQcow2Backing refuses an overlay: its content is partly in a file
// bulwark must not open.
func TestQcow2Backing(t *testing.T) {
	testutil.RequireTool(t, "qemu-img")
	dir := t.TempDir()
	base, over := filepath.Join(dir, "base.qcow2"), filepath.Join(dir, "over.qcow2")
	for _, args := range [][]string{{"create", "-f", "qcow2", base, "1M"}, {"create", "-f", "qcow2", "-b", base, "-F", "qcow2", over}} {
		if b, err := exec.Command("qemu-img", args...).CombinedOutput(); err != nil {
			t.Fatalf("qemu-img: %v\n%s", err, b)
		}
	}
	if _, err := Open(over); err == nil || !strings.Contains(err.Error(), "backing file") || !strings.Contains(err.Error(), "base.qcow2") {
		t.Errorf("err = %v, want the backing file named and refused", err)
	}
}

// TestTruncatedImages cuts images short: opening or reading must fail
// with an error that says so, never panic.
func TestTruncatedImages(t *testing.T) {
	raw := gptDisk(t)
	for _, args := range [][]string{{"-O", "qcow2"}, {"-O", "vmdk", "-o", "subformat=streamOptimized"}, {"-O", "vmdk", "-o", "subformat=monolithicSparse"}} {
		img := convert(t, raw, args...)
		for _, cut := range []int{len(img) / 2, len(img) / 3, 300} {
			d, err := openBytes(t, img[:cut])
			if err != nil {
				continue
			}
			paths, damage, err := walkAll(d)
			if err == nil && len(paths) > 0 && len(damage) == 0 {
				t.Errorf("%v cut to %d bytes of %d: read without an error or warning", args, cut, len(img))
			}
		}
	}
}
