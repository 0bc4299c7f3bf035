package scan

import (
	"context"
	"os"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/lint"
	"github.com/bulwark-sec/bulwark/internal/testutil/growth"
	"github.com/bulwark-sec/bulwark/internal/testutil/manyfiles"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

// BenchmarkRun scans the image in BULWARK_BENCH_IMAGE (an archive, such
// as bench/fixture/build-image.sh writes) with the database in
// BULWARK_BENCH_DB, all three gates on: the pipeline's hot path. For
// profiles: go test -run ^$ -bench Run -cpuprofile cpu.out ./internal/scan
func BenchmarkRun(b *testing.B) {
	archive, dbPath := os.Getenv("BULWARK_BENCH_IMAGE"), os.Getenv("BULWARK_BENCH_DB")
	if archive == "" || dbPath == "" {
		b.Skip("set BULWARK_BENCH_IMAGE and BULWARK_BENCH_DB")
	}
	db, err := vulndb.Open(dbPath)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	for b.Loop() {
		img, err := image.Open(ctx, "", image.Options{Input: archive})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Run(ctx, img, Options{Vulns: true, Lint: true, Secrets: true, DB: db, LintOptions: lint.Options{}}); err != nil {
			b.Fatal(err)
		}
		img.Close()
	}
}

// BenchmarkRunManyFiles runs the lint, secrets and inventory gates in one
// walk over many-small-files images (node_modules-like layers, 40 files a
// package; bench/scaling's shape) of 10k, 100k and 1M files; x10@N is
// the growth per tenfold input (about 10 when the cost per file is
// constant) and cpu-ns/item@N the CPU time a file. The images take about
// 230 MB in the temporary folder.
func BenchmarkRunManyFiles(b *testing.B) {
	sizes := []int{10_000, 100_000, 1_000_000}
	imgs := manyfiles.Open(b, sizes)
	growth.Report(b, sizes, func(n int) {
		if _, err := Run(context.Background(), imgs[n], Options{Lint: true, Secrets: true, SBOM: true}); err != nil {
			b.Fatal(err)
		}
	})
}
