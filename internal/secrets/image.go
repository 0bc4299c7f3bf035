package secrets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/image"
)

// ImageHandler is the image.Handler that finds secrets in every regular
// file of every layer, including files a later layer deletes. `bulwark
// secrets IMAGE` uses it alone; `bulwark scan` adds it to its single walk.
// After the walk, Finish marks the findings in deleted files.
type ImageHandler struct {
	eng  *Engine
	c    *collector
	bufs sync.Pool

	mu     sync.Mutex
	layers map[int]int // finding index -> layer index
}

// NewImageHandler returns a handler scanning with the options' rules.
func NewImageHandler(opts Options) (*ImageHandler, error) {
	eng, err := opts.engine()
	if err != nil {
		return nil, err
	}
	h := &ImageHandler{eng: eng, c: newCollector(&opts), layers: map[int]int{}}
	h.bufs.New = func() any { b := make([]byte, BufferSize); return &b }
	return h, nil
}

// Want takes every non-empty regular file not excluded by the allowlist.
func (h *ImageHandler) Want(e *image.Entry) bool {
	if !e.IsRegular() || e.Size == 0 {
		return false
	}
	if h.c.opts.MaxFileSize > 0 && e.Size > h.c.opts.MaxFileSize {
		h.c.skip(e.Path, SkipTooLarge, "")
		return false
	}
	if h.c.skipPath(e.Path) {
		h.c.skip(e.Path, SkipAllowlisted, "")
		return false
	}
	return true
}

// Handle scans one file's content.
func (h *ImageHandler) Handle(e *image.Entry, r io.Reader) error {
	bp := h.bufs.Get().(*[]byte)
	defer h.bufs.Put(bp)
	ms, err := h.eng.ScanReader(e.Path, r, *bp, true)
	if errors.Is(err, ErrBinary) {
		h.c.skip(e.Path, SkipBinary, "")
		return nil
	}
	if err != nil {
		// The layer stream itself failed: the walk reports it.
		return err
	}
	h.c.scanned(e.Size)
	idx := h.c.add(e.Path, finding.Location{Layer: e.Layer.Ref()}, ms, nil)
	if len(idx) > 0 {
		h.mu.Lock()
		for _, i := range idx {
			h.layers[i] = e.Layer.Index
		}
		h.mu.Unlock()
	}
	return nil
}

// Finish marks the findings in files that the final image does not show
// (deleted or replaced by a later layer) and returns the result.
func (h *ImageHandler) Finish(tree *image.Tree) *Result {
	h.c.mu.Lock()
	for i, layer := range h.layers {
		f := &h.c.res.Findings[i]
		if tree != nil && !tree.Visible(layer, f.Location.Path) {
			f.Location.Deleted = true
			f.Message += " (deleted by a later layer, still in layer " + fmt.Sprint(layer) + ")"
		}
	}
	h.c.mu.Unlock()
	res := h.c.result()
	if tree != nil {
		res.Warnings = append(res.Warnings, tree.Warnings...)
	}
	return res
}

// ScanImage walks every layer of an opened image once and scans its files.
func ScanImage(ctx context.Context, img *image.Image, opts Options) (*Result, error) {
	h, err := NewImageHandler(opts)
	if err != nil {
		return nil, err
	}
	tree, err := image.Walk(ctx, img, []image.Handler{h}, image.WalkOptions{Concurrency: opts.Workers, Progress: opts.Progress})
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", img.Name, err)
	}
	return h.Finish(tree), nil
}
