package scan

import (
	"context"
	"os"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/lint"
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
