package inventory

import (
	"context"
	"io"

	"github.com/bulwark-sec/bulwark/internal/image"
)

// Handler is the image.Handler that runs the analyzers inside a walk that
// other handlers share (bulwark scan: inventory, secrets and lint in one
// pass). It reads every layer (the layer cache is not used); after the
// walk, Finish returns the SBOM exactly as Scan would.
type Handler struct {
	c    *collector
	img  *image.Image
	opts Options
}

// NewHandler returns a Handler for one walk of img.
func NewHandler(ctx context.Context, img *image.Image, opts Options) *Handler {
	return &Handler{c: newCollector(ctx, opts), img: img, opts: opts}
}

// Want implements image.Handler.
func (h *Handler) Want(e *image.Entry) bool { return h.c.Want(e) }

// Handle implements image.Handler.
func (h *Handler) Handle(e *image.Entry, r io.Reader) error { return h.c.Handle(e, r) }

// Finish turns what the walk collected into the SBOM, keeping only what
// the final image shows (tree is what the walk returned). Call it once.
func (h *Handler) Finish(tree *image.Tree) *SBOM {
	return finish(h.img, h.opts, h.c.results, tree, nil)
}
