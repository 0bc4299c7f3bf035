package secrets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/inventory/rpm"
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
	// owned maps the files that OS packages install to the layers whose
	// package file lists name them.
	owned map[string][]int
}

// NewImageHandler returns a handler scanning with the options' rules.
func NewImageHandler(opts Options) (*ImageHandler, error) {
	eng, err := opts.engine()
	if err != nil {
		return nil, err
	}
	h := &ImageHandler{eng: eng, c: newCollector(&opts), layers: map[int]int{}, owned: map[string][]int{}}
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
	if rpm.IsDB(e.Path) {
		// Binary: read for its file lists only.
		paths, err := rpm.Files(r, e.Size, e.Path)
		if err != nil {
			h.c.warn("%s: rpm database not read, the files its packages installed are reported: %v", e.Path, err)
		}
		h.own(paths, e.Layer.Index)
		h.c.skip(e.Path, SkipBinary, "")
		return nil
	}
	if isFileList(e.Path) && e.Size <= maxFileList {
		data, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		h.own(parseFileList(e.Path, data), e.Layer.Index)
		r = bytes.NewReader(data)
	}
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
	if len(ms) == 0 {
		return nil // most files: no layer reference to build
	}
	idx := h.c.add(e.Path, finding.Location{Layer: e.Layer.Ref()}, ms, nil)
	h.mu.Lock()
	for _, i := range idx {
		h.layers[i] = e.Layer.Index
	}
	h.mu.Unlock()
	return nil
}

// own records files that OS packages installed in a layer.
func (h *ImageHandler) own(paths []string, layer int) {
	h.mu.Lock()
	for _, p := range paths {
		h.owned[p] = append(h.owned[p], layer)
	}
	h.mu.Unlock()
}

// ScanConfig scans the image configuration with the same rules: each
// environment variable, label, the entrypoint and command, and every
// history line (build arguments of RUN lines included), each finding
// located at its field.
func (h *ImageHandler) ScanConfig(img *image.Image) {
	if img.Config == nil {
		return
	}
	cfg := img.Config.Config
	scan := func(field, text string, layer *image.Layer) {
		if strings.TrimSpace(text) == "" {
			return
		}
		loc := finding.Location{Field: field}
		if layer != nil {
			loc.Layer = layer.Ref()
		}
		h.c.add("", loc, h.eng.ScanBytes(field, []byte(text)), nil)
	}
	for i, env := range cfg.Env {
		scan(fmt.Sprintf("config.Env[%d]", i), env, nil)
	}
	for _, k := range slices.Sorted(maps.Keys(cfg.Labels)) {
		scan(fmt.Sprintf("config.Labels[%s]", k), k+"="+cfg.Labels[k], nil)
	}
	scan("config.Entrypoint", strings.Join(cfg.Entrypoint, " "), nil)
	scan("config.Cmd", strings.Join(cfg.Cmd, " "), nil)
	for i, hist := range img.Config.History {
		scan(fmt.Sprintf("history[%d]", i), hist.CreatedBy, img.LayerForHistory(i))
	}
}

// Finish marks the findings in files that the final image does not show
// (deleted or replaced by a later layer), leaves out those in files that
// OS packages installed (unless IncludeOSFiles) and returns the result.
func (h *ImageHandler) Finish(tree *image.Tree) *Result {
	h.c.mu.Lock()
	drop := map[int]bool{}
	osFiles := map[string]bool{}
	for i, layer := range h.layers {
		f := &h.c.res.Findings[i]
		if !h.c.opts.IncludeOSFiles && slices.Contains(h.owned[f.Location.Path], layer) {
			drop[i] = true
			osFiles[f.Location.Path] = true
			continue
		}
		if tree != nil && !tree.Visible(layer, f.Location.Path) {
			f.Location.Deleted = true
			f.Message += " (deleted by a later layer, still in layer " + fmt.Sprint(layer) + ")"
		}
	}
	if len(drop) > 0 {
		kept := h.c.res.Findings[:0]
		for i, f := range h.c.res.Findings {
			if !drop[i] {
				kept = append(kept, f)
			}
		}
		h.c.res.Findings = kept
		h.c.res.Warnings = append(h.c.res.Warnings, fmt.Sprintf("%d finding(s) in %d file(s) that OS packages installed not reported (--include-os-files reports them)", len(drop), len(osFiles)))
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
	h.ScanConfig(img)
	res := h.Finish(tree)
	res.Findings = append(res.Findings, tree.EscapeFindings()...)
	return res, nil
}
