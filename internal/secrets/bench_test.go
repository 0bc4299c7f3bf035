package secrets

import (
	"context"
	"os"
	"testing"
)

// BenchmarkScanDir scans the tree named by BULWARK_BENCH_TREE (made by
// bench/secrets/gen); it is skipped without one.
func BenchmarkScanDir(b *testing.B) {
	dir := os.Getenv("BULWARK_BENCH_TREE")
	if dir == "" {
		b.Skip("set BULWARK_BENCH_TREE to a tree made by bench/secrets/gen")
	}
	for b.Loop() {
		res, err := ScanDir(context.Background(), dir, DirOptions{})
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(res.Bytes)
	}
}
