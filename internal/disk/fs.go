package disk

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// File is one entry of a file system, as FS.Walk reports it.
type File struct {
	// Path is slash-separated and relative to the file system's root
	// ("etc/passwd").
	Path string
	// Mode holds the permission bits, setuid/setgid/sticky and the type.
	Mode fs.FileMode
	// Size is the content size in bytes of a regular file.
	Size int64
	// UID and GID are the numeric owner.
	UID, GID int
	// Linkname is a symlink's target.
	Linkname string

	open func() (io.Reader, error)
}

// Open returns the content of a regular file (empty for anything else).
func (f *File) Open() (io.Reader, error) {
	if f.open == nil || !f.Mode.IsRegular() {
		return strings.NewReader(""), nil
	}
	return f.open()
}

// FS is a file system read from a disk without mounting it.
type FS interface {
	// Type is "ext4" (for ext2/3/4) or "xfs".
	Type() string
	// UUID is the file system UUID as fstab's UUID= names it.
	UUID() string
	// Label is the volume label as fstab's LABEL= names it.
	Label() string
	// Walk reports every entry below the root, parents before children.
	// Damage confined to one file or directory is reported to warn and
	// the walk goes on; an error from fn stops it.
	Walk(ctx context.Context, fn func(*File) error, warn func(string)) error
	// ReadFile reads a regular file by path, following symlinks within
	// the file system; it reads at most limit bytes.
	ReadFile(name string, limit int64) ([]byte, error)
}

// ConcurrentFS is an FS whose files can be opened, and their contents
// read, from several goroutines at once while its Walk goes on (the
// readers below it, down to the disk image, are safe for concurrent
// use). A walk may then read and analyse files on every core.
type ConcurrentFS interface {
	FS
	// ConcurrentReads reports whether File.Open and its readers may be
	// used concurrently.
	ConcurrentReads() bool
}

// detectFS names the file system that starts at off ("" if none is known).
func detectFS(r io.ReaderAt, off int64) string {
	b := make([]byte, 2)
	if _, err := r.ReadAt(b, off+1024+0x38); err == nil && binary.LittleEndian.Uint16(b) == 0xEF53 {
		return "ext4"
	}
	b = make([]byte, 4)
	if _, err := r.ReadAt(b, off); err == nil && string(b) == "XFSB" {
		return "xfs"
	}
	return ""
}

// openFS opens the file system of a partition.
func openFS(r io.ReaderAt, p Partition) (FS, error) {
	if p.dev != nil {
		r = p.dev
	}
	sr := io.NewSectionReader(r, p.Start, p.Size)
	switch detectFS(sr, 0) {
	case "ext4":
		return openExt4(sr, p.Size)
	case "xfs":
		return openXFS(sr, p.Size)
	}
	return nil, errNoFS
}

var errNoFS = fmt.Errorf("no ext2/3/4 or XFS file system")

// maxSymlinks bounds the symlinks followed while resolving one path.
const maxSymlinks = 40

// resolve walks name from the root with lookup (one component in one
// directory) and readlink, following symlinks (relative and absolute, both
// confined to the file system) and returning the final node.
func resolve[N any](root N, name string, lookup func(dir N, elem string) (N, bool, error), link func(N) (string, bool, error)) (N, error) {
	var zero N
	stack := []N{root}
	parts := splitPath(name)
	hops := 0
	for len(parts) > 0 {
		elem := parts[0]
		parts = parts[1:]
		if elem == ".." {
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
			continue
		}
		next, ok, err := lookup(stack[len(stack)-1], elem)
		if err != nil {
			return zero, err
		}
		if !ok {
			return zero, fs.ErrNotExist
		}
		target, isLink, err := link(next)
		if err != nil {
			return zero, err
		}
		if !isLink {
			stack = append(stack, next)
			continue
		}
		if hops++; hops > maxSymlinks {
			return zero, fmt.Errorf("%s: too many levels of symbolic links", name)
		}
		if strings.HasPrefix(target, "/") {
			stack = stack[:1]
		}
		parts = append(splitPath(target), parts...)
	}
	return stack[len(stack)-1], nil
}

func splitPath(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" && s != "." {
			out = append(out, s)
		}
	}
	return out
}

// unixMode converts st_mode bits to an fs.FileMode.
func unixMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	if m&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if m&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	switch m & 0o170000 {
	case 0o140000:
		mode |= fs.ModeSocket
	case 0o120000:
		mode |= fs.ModeSymlink
	case 0o100000:
	case 0o060000:
		mode |= fs.ModeDevice
	case 0o040000:
		mode |= fs.ModeDir
	case 0o020000:
		mode |= fs.ModeCharDevice | fs.ModeDevice
	case 0o010000:
		mode |= fs.ModeNamedPipe
	default:
		mode |= fs.ModeIrregular
	}
	return mode
}

// validName reports whether a directory entry name is usable in a path.
func validName(n string) bool {
	return n != "" && n != "." && n != ".." && !strings.ContainsAny(n, "/\x00")
}

func dirName(prefix string) string {
	if prefix == "" {
		return "/"
	}
	return strings.TrimSuffix(prefix, "/")
}
