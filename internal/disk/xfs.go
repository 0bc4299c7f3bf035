package disk

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/masahiro331/go-xfs-filesystem/xfs"
)

// xfsFS reads XFS through go-xfs-filesystem (the reader trivy's VM
// scanning uses). That library reports no owners and no symlink targets,
// so entries from XFS have UID and GID -1 and an empty Linkname; any panic
// inside it is turned into an error for the file or directory at hand.
type xfsFS struct {
	fs          *xfs.FileSystem
	size        int64
	uuid, label string
}

func openXFS(r io.ReaderAt, size int64) (fsys FS, err error) {
	defer recoverTo(&err, "xfs")
	f, err := xfs.NewFS(*io.NewSectionReader(r, 0, size), newCache())
	if err != nil {
		return nil, fmt.Errorf("xfs: %w", err)
	}
	sb := f.PrimaryAG.SuperBlock
	return &xfsFS{fs: f, size: size, uuid: formatUUID(sb.UUID[:]), label: string(bytes.TrimRight(sb.Fname[:], "\x00"))}, nil
}

// recoverTo turns a panic of the XFS library into an error.
func recoverTo(err *error, what string) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%s: the file system is damaged (%v)", what, r)
	}
}

func (x *xfsFS) Type() string  { return "xfs" }
func (x *xfsFS) UUID() string  { return x.uuid }
func (x *xfsFS) Label() string { return x.label }

func (x *xfsFS) readDir(dir string) (ents []fs.DirEntry, err error) {
	defer recoverTo(&err, dirName(dir))
	if dir == "" {
		dir = "/"
	}
	return x.fs.ReadDir(strings.TrimSuffix(dir, "/"))
}

func (x *xfsFS) open(name string) (r io.Reader, err error) {
	defer recoverTo(&err, name)
	f, err := x.fs.Open(name)
	if err != nil {
		return nil, err
	}
	return &safeReader{r: f, name: name}, nil
}

// safeReader turns a panic while reading into an error.
type safeReader struct {
	r    io.Reader
	name string
}

func (s *safeReader) Read(p []byte) (n int, err error) {
	defer recoverTo(&err, s.name)
	return s.r.Read(p)
}

// Walk reports every entry depth-first, parents first.
func (x *xfsFS) Walk(ctx context.Context, fn func(*File) error, warn func(string)) error {
	var walk func(prefix string, depth int) error
	walk = func(prefix string, depth int) error {
		ents, err := x.readDir(prefix)
		if err != nil {
			warn(fmt.Sprintf("%s: %v", dirName(prefix), err))
			return nil
		}
		for _, d := range ents {
			if err := ctx.Err(); err != nil {
				return err
			}
			if !validName(d.Name()) {
				warn(fmt.Sprintf("%s: invalid name %q skipped", dirName(prefix), d.Name()))
				continue
			}
			info, err := d.Info()
			if err != nil {
				warn(fmt.Sprintf("%s%s: %v", prefix, d.Name(), err))
				continue
			}
			p := prefix + d.Name()
			f := &File{Path: p, Mode: info.Mode(), UID: -1, GID: -1}
			if f.Mode.IsRegular() {
				f.Size = info.Size()
				if f.Size < 0 || f.Size > x.size {
					warn(fmt.Sprintf("%s: size %d is larger than the file system; content skipped", p, f.Size))
					f.Size = 0
				} else {
					f.open = func() (io.Reader, error) { return x.open(p) }
				}
			}
			if err := fn(f); err != nil {
				return err
			}
			if f.Mode.IsDir() {
				if depth >= maxDepth {
					warn(fmt.Sprintf("%s: nesting deeper than %d; not entered", p, maxDepth))
					continue
				}
				if err := walk(p+"/", depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk("", 0)
}

// ReadFile reads a regular file by path. The XFS library cannot read
// symlinks, so a path through one is not found.
func (x *xfsFS) ReadFile(name string, limit int64) ([]byte, error) {
	r, err := x.open(strings.Join(splitPath(name), "/"))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(r, limit))
}

// cache is the bounded inode cache the XFS library asks for.
type cache struct{ m map[string]any }

func newCache() *cache { return &cache{m: map[string]any{}} }

const maxCached = 1 << 14

func (c *cache) Add(k string, v any) bool {
	if len(c.m) >= maxCached {
		clear(c.m)
	}
	c.m[k] = v
	return true
}

func (c *cache) Get(k string) (any, bool) {
	v, ok := c.m[k]
	return v, ok
}
