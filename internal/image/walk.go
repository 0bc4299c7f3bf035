package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/bulwark-sec/bulwark/internal/tarstream"
	"golang.org/x/sync/errgroup"
)

// Entry is one file, directory or link in a layer.
type Entry struct {
	// Path is slash-separated and relative to the image root, with no
	// leading slash or "./" ("etc/passwd").
	Path string
	// Type is the tar type flag (tar.TypeReg, tar.TypeDir, tar.TypeSymlink...).
	Type byte
	// Mode holds the permission bits, setuid/setgid/sticky and the type.
	Mode fs.FileMode
	// Size is the content size in bytes for regular files.
	Size int64
	// UID and GID are the numeric owner.
	UID, GID int
	// Linkname is the target of a symlink or hard link.
	Linkname string
	// Layer is the layer the entry is in.
	Layer *Layer
}

// IsRegular reports whether the entry is a regular file.
// (archive/tar reports legacy TypeRegA entries as TypeReg.)
func (e *Entry) IsRegular() bool { return e.Type == tar.TypeReg }

// Handler receives the entries of a walk. Walk reads layers in parallel, so
// a handler's methods are called from several goroutines at once and must
// be safe for that. Want sees the entries of one layer in order, from one
// goroutine; so does Handle, except in a disk layer whose file system
// allows concurrent reads, where several goroutines handle its entries
// at once, in any order (see contentPool).
type Handler interface {
	// Want reports whether Handle should receive the entry and its content.
	// It is called for every entry of every layer, so it must be cheap,
	// and must not keep e (the walk reuses it; Handle may keep its e).
	Want(e *Entry) bool
	// Handle reads one wanted entry. r yields the entry's content (empty
	// for anything but regular files) and is valid only until Handle
	// returns; Handle need not read all of it. An error stops the walk.
	Handle(e *Entry, r io.Reader) error
}

// WalkOptions tunes a walk.
type WalkOptions struct {
	// Concurrency is how many layers are read at once (default: the
	// number of CPUs).
	Concurrency int
	// Layers, when not nil, restricts the walk to the layers for which it
	// returns true (the others are still counted for visibility only if
	// their paths are known; see Tree).
	Layers func(*Layer) bool
	// Progress, when not nil, receives every stored (compressed) byte as
	// it is read, for a progress bar; see Image.StoredSize.
	Progress io.Writer
}

// Walk streams every layer of the image once, offering each entry to the
// handlers, and returns the Tree that says which entries the final image
// shows. Whiteout entries are never offered: they are applied. Nothing is
// written to disk. Each layer's stored digest is verified as it is read,
// so a layer that does not match its manifest fails the walk.
func Walk(ctx context.Context, img *Image, handlers []Handler, opts WalkOptions) (*Tree, error) {
	tree := &Tree{layers: make([]layerPaths, len(img.Layers))}
	n := opts.Concurrency
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(n)
	for _, l := range img.Layers {
		if opts.Layers != nil && !opts.Layers(l) {
			continue
		}
		g.Go(func() error {
			lp, warnings, err := walkLayer(ctx, l, handlers, opts.Progress)
			if err != nil {
				return fmt.Errorf("%s: %w", l, err)
			}
			tree.mu.Lock()
			tree.layers[l.Index] = lp
			tree.Warnings = append(tree.Warnings, warnings...)
			tree.mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for i := range tree.layers {
		tree.layers[i].sort()
	}
	return tree, nil
}

func walkLayer(ctx context.Context, l *Layer, handlers []Handler, progress io.Writer) (layerPaths, []string, error) {
	if l.dir != "" {
		return walkRootfs(ctx, l, handlers)
	}
	if l.fs != nil {
		return walkDisk(ctx, l, handlers)
	}
	var lp layerPaths
	raw, err := l.open()
	if err != nil {
		return lp, nil, err
	}
	defer raw.Close()
	if progress != nil {
		raw = readCloser{io.TeeReader(raw, progress), raw}
	}
	dec, err := decompress(raw)
	if err != nil {
		return lp, nil, err
	}
	defer dec.Close()
	// Decompress (and check the blob's digest) a few buffers ahead of the
	// tar reader and the handlers, on another core.
	// The tar reader parses the read-ahead buffers in place.
	r := newReadAhead(dec, readAheadSize, readAheadBuffers)
	defer r.Close()
	var tarStream tarstream.Chunks = r
	if l.verifyDiffID {
		c, err := newDigestCheck(l.DiffID, -1, l.String()+" (uncompressed)")
		if err != nil {
			return lp, nil, err
		}
		tarStream = verifiedChunks{r, c}
	}
	tr := tarstream.NewChunkReader(tarStream)
	var wanted []Handler
	// e is offered to Want; only an entry some handler wants is copied
	// to the heap for Handle (Want must not keep e).
	var e Entry
	for count := 0; ; count++ {
		if count&1023 == 0 && ctx.Err() != nil {
			return lp, nil, ctx.Err()
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return lp, nil, fmt.Errorf("reading entry %d: %w", count, describeReadErr(err))
		}
		if reason := escapeReason(hdr.Name, hdr.Typeflag, hdr.Linkname); reason != "" {
			lp.recordEscape(l, hdr.Name, reason)
			continue
		}
		p := cleanEntryPath(hdr.Name)
		if p == "" {
			continue // the root directory itself
		}
		dir, base := path.Split(p)
		if strings.HasPrefix(base, whiteoutPrefix) {
			if base == opaqueMarker {
				lp.add(strings.TrimSuffix(dir, "/"), pathOpaque)
			} else {
				lp.add(dir+strings.TrimPrefix(base, whiteoutPrefix), pathWhiteout)
			}
			continue
		}
		e = Entry{Path: p, Type: hdr.Typeflag, Mode: hdr.Mode, Size: hdr.Size,
			UID: hdr.Uid, GID: hdr.Gid, Linkname: hdr.Linkname, Layer: l}
		if hdr.Typeflag == tar.TypeDir {
			lp.add(p, pathEntry)
		} else {
			lp.add(p, pathEntry|pathNonDir)
		}
		wanted = wanting(wanted, handlers, &e)
		if len(wanted) > 0 {
			var content io.Reader = tr
			if !e.IsRegular() {
				content = bytes.NewReader(nil)
			}
			he := e
			if err := fanOut(&he, content, wanted); err != nil {
				return lp, nil, err
			}
		}
	}
	// Drain what follows the end-of-archive marker so that the digest of
	// the whole stream is checked.
	for {
		if _, err := tarStream.Next(); err == io.EOF {
			break
		} else if err != nil {
			return lp, nil, describeReadErr(err)
		}
	}
	if _, err := io.Copy(io.Discard, raw); err != nil {
		return lp, nil, describeReadErr(err)
	}
	return lp, nil, nil
}

const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
	// fanOutBuffer is the largest file given to several handlers from
	// memory; larger ones are streamed to them through pipes.
	fanOutBuffer = 1 << 20
	// readAheadBuffers of readAheadSize bytes are decompressed ahead of
	// the tar reader, per layer being read.
	readAheadSize    = 512 << 10
	readAheadBuffers = 4
)

// cleanEntryPath normalises a tar entry name (one escapeReason accepted)
// to a path relative to the image root, "" for the root itself.
func cleanEntryPath(name string) string {
	if isClean(name) {
		return name // most names: path.Clean would return them as they are
	}
	p := path.Clean(name)
	if p == "." {
		return ""
	}
	return p
}

// isClean reports whether path.Clean leaves name as it is and name is not
// "." or "": no empty, "." or ".." element, no leading or trailing slash.
// It looks for "//" and for the dots that start an element, not at every
// byte, as it runs for every entry of every layer.
func isClean(name string) bool {
	if name == "" || name[0] == '/' || name[len(name)-1] == '/' || strings.Contains(name, "//") {
		return false
	}
	if dotElem(name) {
		return false
	}
	for rest := name; ; {
		i := strings.Index(rest, "/.")
		if i < 0 {
			return true
		}
		if dotElem(rest[i+1:]) {
			return false
		}
		rest = rest[i+2:]
	}
}

// dotElem reports whether s starts with a "." or ".." element.
func dotElem(s string) bool {
	return s == "." || s == ".." || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../")
}

// wanting returns the handlers that want e, in buf's storage.
func wanting(buf, handlers []Handler, e *Entry) []Handler {
	buf = buf[:0]
	for _, h := range handlers {
		if h.Want(e) {
			buf = append(buf, h)
		}
	}
	return buf
}

// fanOut gives one entry's content to every handler that wants it.
func fanOut(e *Entry, content io.Reader, hs []Handler) error {
	if len(hs) == 1 {
		if err := hs[0].Handle(e, content); err != nil {
			return fmt.Errorf("%s: %w", e.Path, describeReadErr(err))
		}
		return nil
	}
	if e.Size <= fanOutBuffer {
		// Read once into a buffer of the walk's (no growth copies, no
		// fresh pages for every file), given to each handler in turn.
		bp := fanOutBufs.Get().(*[]byte)
		defer fanOutBufs.Put(bp)
		b, err := readUpTo(content, (*bp)[:e.Size])
		if err != nil {
			return fmt.Errorf("%s: %w", e.Path, describeReadErr(err))
		}
		for _, h := range hs {
			if err := h.Handle(e, Buffered{bytes.NewReader(b), b}); err != nil {
				return fmt.Errorf("%s: %w", e.Path, describeReadErr(err))
			}
		}
		return nil
	}
	// Large file: one pipe per handler, each handler in its own goroutine.
	// A handler that returns closes its pipe; the copy goes on for the
	// others and stops once none is left reading (a file that every
	// handler has seen enough of is not read to its end).
	pipes := make([]*io.PipeWriter, len(hs))
	errs := make([]error, len(hs))
	var wg sync.WaitGroup
	for i, h := range hs {
		pr, pw := io.Pipe()
		pipes[i] = pw
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = h.Handle(e, pr)
			pr.CloseWithError(errHandled)
		}()
	}
	_, copyErr := io.Copy(&fanWriter{pipes: slices.Clone(pipes)}, content)
	if copyErr == errHandled {
		copyErr = nil
	}
	for _, pw := range pipes {
		pw.CloseWithError(copyErr)
	}
	wg.Wait()
	if copyErr != nil {
		return fmt.Errorf("%s: %w", e.Path, describeReadErr(copyErr))
	}
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("%s: %w", e.Path, describeReadErr(err))
		}
	}
	return nil
}

// errHandled closes the pipe of a handler that returned.
var errHandled = errors.New("handled")

// fanWriter writes to the pipes of the handlers still reading, and fails
// with errHandled once none is.
type fanWriter struct {
	pipes []*io.PipeWriter // nil: that handler returned
}

func (w *fanWriter) Write(p []byte) (int, error) {
	live := false
	for i, pw := range w.pipes {
		if pw == nil {
			continue
		}
		if _, err := pw.Write(p); err != nil {
			w.pipes[i] = nil
			continue
		}
		live = true
	}
	if !live {
		return 0, errHandled
	}
	return len(p), nil
}

// Buffered is the content Handle gets when the walk holds a whole entry
// in memory (a file of at most 1 MiB that several handlers want). Bytes
// returns that content without a copy: it is valid only until Handle
// returns and must not be modified.
type Buffered struct {
	*bytes.Reader
	b []byte
}

// Bytes returns the whole content.
func (c Buffered) Bytes() []byte { return c.b }

// fanOutBufs holds the buffers of fanOut, fanOutBuffer bytes each.
var fanOutBufs = sync.Pool{New: func() any { b := make([]byte, fanOutBuffer); return &b }}

// readUpTo reads r into buf until buf is full or r ends (io.EOF), and
// returns what it read; any other error of r is returned.
func readUpTo(r io.Reader, buf []byte) ([]byte, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err == io.EOF {
			break
		}
		if err != nil {
			return buf[:n], err
		}
	}
	return buf[:n], nil
}

// describeReadErr turns the decompressor's and tar reader's terse errors
// into ones that say what is wrong with the input.
func describeReadErr(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("unexpected end of data: the layer is truncated (%w)", err)
	}
	return err
}
