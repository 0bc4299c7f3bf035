package disk

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// TestEBS reads a snapshot from a server speaking the EBS direct APIs on
// 127.0.0.1 with the real SDK client, and names a missing snapshot.
func TestEBS(t *testing.T) {
	file := filepath.Join(t.TempDir(), "disk")
	if err := os.WriteFile(file, gptDisk(t), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := testutil.StartEBS(t, map[string]string{"snap-1": file})
	d, err := OpenEBS(context.Background(), "snap-1")
	if err != nil {
		t.Fatal(err)
	}
	if d.Size != 1<<30 || d.Format != "ebs" {
		t.Errorf("size %d format %s, want a 1 GiB ebs volume", d.Size, d.Format)
	}
	paths, damage, err := walkAll(d)
	if err != nil || len(damage) > 0 || !strings.Contains(strings.Join(paths, " "), "etc/os-release") {
		t.Errorf("paths %v, damage %v, err %v", paths, damage, err)
	}
	if srv.Gets.Load() == 0 {
		t.Error("no block was fetched")
	}
	if _, err := OpenEBS(context.Background(), "snap-missing"); err == nil || !strings.Contains(err.Error(), "snap-missing") || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing snapshot: err = %v", err)
	}
}
