package image_test

import (
	"context"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/inventory"
	"github.com/bulwark-sec/bulwark/internal/inventory/analyzers"
	"github.com/bulwark-sec/bulwark/internal/lint"
	"github.com/bulwark-sec/bulwark/internal/testutil/growth"
	"github.com/bulwark-sec/bulwark/internal/testutil/manyfiles"
)

// BenchmarkWalk walks many-small-files images (node_modules-like layers,
// 40 files a package) of 100k, 1M and 4M files with the lint and
// inventory handlers, as bulwark lint and sbom do in one pass; x10@1M and
// x10@4M are the growth per tenfold input (about 10 when the cost per
// entry is constant). The images take 1 GB in the temporary folder.
func BenchmarkWalk(b *testing.B) {
	sizes := []int{100_000, 1_000_000, 4_000_000}
	imgs := manyfiles.Open(b, sizes)
	ctx := context.Background()
	growth.Report(b, sizes, func(n int) {
		hs := []image.Handler{lint.NewHandler(lint.Options{}), inventory.NewHandler(ctx, imgs[n], inventory.Options{Analyzers: analyzers.All()})}
		if _, err := image.Walk(ctx, imgs[n], hs, image.WalkOptions{}); err != nil {
			b.Fatal(err)
		}
	})
}
