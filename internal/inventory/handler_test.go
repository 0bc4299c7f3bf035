package inventory_test

import (
	"context"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/inventory"
	"github.com/bulwark-sec/bulwark/internal/inventory/analyzers"
)

// TestHandler checks that the handler, in a walk of its own, gives what
// Scan gives.
func TestHandler(t *testing.T) {
	ctx := context.Background()
	img, err := image.Open(ctx, testImage(t), image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	h := inventory.NewHandler(ctx, img, inventory.Options{Analyzers: analyzers.All(), Mode: inventory.ModeImage})
	tree, err := image.Walk(ctx, img, []image.Handler{h}, image.WalkOptions{Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	checkTestImage(t, h.Finish(tree))
}
