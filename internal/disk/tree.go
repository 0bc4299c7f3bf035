package disk

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"sync"
)

// inodeTree is what walkTree and readTreeFile need from a file system
// whose directories name inodes by number (ext2/3/4, XFS).
type inodeTree[N any] interface {
	// inode reads inode ino, checked against the file system's geometry.
	inode(ino uint64) (N, error)
	// stat returns an inode's type and permission bits, owner and size.
	stat(in N) (mode fs.FileMode, uid, gid uint32, size int64)
	// readDir lists a directory's entries without "." and "..".
	readDir(dir N) ([]dirent, error)
	// readlink reads a symlink's target.
	readlink(in N) (string, error)
	// open reads a regular file's content.
	open(in N) (io.Reader, error)
}

// dirent is one directory entry.
type dirent struct {
	ino  uint64
	name string
}

// walkTree reports every entry below root depth-first; a directory is
// reported before its content, and each directory inode is entered once.
func walkTree[N any](ctx context.Context, t inodeTree[N], rootIno uint64, fn func(*File) error, warn func(string)) error {
	root, err := t.inode(rootIno)
	if err != nil {
		return fmt.Errorf("root directory: %w", err)
	}
	seen := map[uint64]bool{rootIno: true}
	var walk func(dir N, prefix string, depth int) error
	walk = func(dir N, prefix string, depth int) error {
		ents, err := t.readDir(dir)
		if err != nil {
			warn(fmt.Sprintf("%s: %v", dirName(prefix), err))
		}
		for _, d := range ents {
			if err := ctx.Err(); err != nil {
				return err
			}
			p := prefix + d.name
			if !validName(d.name) {
				warn(fmt.Sprintf("%s: invalid name %q skipped", dirName(prefix), d.name))
				continue
			}
			in, err := t.inode(d.ino)
			if err != nil {
				warn(fmt.Sprintf("%s: %v", p, err))
				continue
			}
			mode, uid, gid, size := t.stat(in)
			f := &File{Path: p, Mode: mode, UID: int(uid), GID: int(gid)}
			switch {
			case mode.IsRegular():
				f.Size = size
				f.open = func() (io.Reader, error) { return t.open(in) }
			case mode&fs.ModeSymlink != 0:
				if f.Linkname, err = t.readlink(in); err != nil {
					warn(fmt.Sprintf("%s: %v", p, err))
				}
			}
			if err := fn(f); err != nil {
				return err
			}
			if !mode.IsDir() {
				continue
			}
			if seen[d.ino] || depth >= maxDepth {
				warn(fmt.Sprintf("%s: directory loop or nesting deeper than %d; not entered", p, maxDepth))
				continue
			}
			seen[d.ino] = true
			if err := walk(in, p+"/", depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(root, "", 0)
}

// readTreeFile reads a regular file by path from root, following
// symlinks; it reads at most limit bytes.
func readTreeFile[N any](t inodeTree[N], rootIno uint64, name string, limit int64) ([]byte, error) {
	root, err := t.inode(rootIno)
	if err != nil {
		return nil, err
	}
	mode := func(in N) fs.FileMode { m, _, _, _ := t.stat(in); return m }
	in, err := resolve(root, name, func(dir N, elem string) (N, bool, error) {
		var zero N
		if !mode(dir).IsDir() {
			return zero, false, fs.ErrNotExist
		}
		ents, err := t.readDir(dir)
		if err != nil {
			return zero, false, err
		}
		for _, d := range ents {
			if d.name == elem {
				in, err := t.inode(d.ino)
				return in, err == nil, err
			}
		}
		return zero, false, nil
	}, func(in N) (string, bool, error) {
		if mode(in)&fs.ModeSymlink == 0 {
			return "", false, nil
		}
		target, err := t.readlink(in)
		return target, true, err
	})
	if err != nil {
		return nil, err
	}
	if !mode(in).IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	r, err := t.open(in)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(r, limit))
}

// lastBlock keeps the block of inodes read last: the inodes of a folder's
// entries are mostly neighbours, so one read of the disk serves many.
type lastBlock struct {
	mu  sync.Mutex
	blk []byte
	off int64
}

// readAt reads b at byte off through the cached block of bs bytes that
// holds it.
func (c *lastBlock) readAt(r io.ReaderAt, bs int64, b []byte, off int64) error {
	blk := off - off%bs
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.blk == nil || c.off != blk {
		if c.blk == nil {
			c.blk = make([]byte, bs)
		}
		if _, err := r.ReadAt(c.blk, blk); err != nil {
			// A block partly beyond the end: read the inode alone.
			c.off = -1
			_, err := r.ReadAt(b, off)
			return err
		}
		c.off = blk
	}
	if off-blk+int64(len(b)) > int64(len(c.blk)) {
		_, err := r.ReadAt(b, off)
		return err
	}
	copy(b, c.blk[off-blk:])
	return nil
}
