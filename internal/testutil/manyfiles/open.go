package manyfiles

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/image"
)

// Open writes, for each size, an image of that many files (40 a package,
// over 4 layers) in tb's temporary folder and opens it; the images are
// closed when tb ends. The walk and scan benchmarks use it.
func Open(tb testing.TB, sizes []int) map[int]*image.Image {
	tb.Helper()
	imgs := map[int]*image.Image{}
	for _, n := range sizes {
		archive := filepath.Join(tb.TempDir(), fmt.Sprintf("many-%d.tar", n))
		if err := Write(archive, n, 40, 4); err != nil {
			tb.Fatal(err)
		}
		img, err := image.Open(context.Background(), "", image.Options{Input: archive})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { img.Close() })
		imgs[n] = img
	}
	return imgs
}
