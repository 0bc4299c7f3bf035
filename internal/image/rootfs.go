package image

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// openRootfs treats a directory as an image of one layer with no
// configuration. Symlinks are reported as links, never followed; FIFOs,
// sockets and devices are reported, never opened; mounted virtual file
// systems below the directory (/proc, /sys, /dev, /run and the like when
// it is "/", see virtualMounts) are not entered.
func openRootfs(spec, dir string) (*Image, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	img := &Image{Name: spec, Kind: KindRootfs, Config: &v1.ConfigFile{}}
	img.Layers = []*Layer{{Index: 0, dir: abs, Size: -1, HistoryIndex: -1}}
	return img, nil
}

func walkRootfs(ctx context.Context, l *Layer, handlers []Handler) (layerPaths, []string, error) {
	var lp layerPaths
	var warnings []string
	var wanted []Handler
	virtual := virtualMounts(l.dir)
	err := filepath.WalkDir(l.dir, func(p string, d fs.DirEntry, err error) error {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		rel, relErr := filepath.Rel(l.dir, p)
		if relErr != nil {
			return relErr
		}
		rel = filepath.ToSlash(rel)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("%s: skipped: %v", rel, err))
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if rel == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("%s: skipped: %v", rel, err))
			return nil
		}
		e := entryFromInfo(rel, info, l)
		if e.Type == tar.TypeSymlink {
			e.Linkname, _ = os.Readlink(p)
		}
		kind := uint64(pathEntry)
		if !info.IsDir() {
			kind |= pathNonDir
		}
		lp.add(rel, kind)
		wanted = wanting(wanted, handlers, e)
		if info.IsDir() && virtual[rel] {
			// /proc, /sys, /dev, /run...: the directory is there, what
			// is mounted on it is not part of the system on disk.
			if len(wanted) > 0 {
				if err := fanOut(e, bytes.NewReader(nil), wanted); err != nil {
					return err
				}
			}
			return fs.SkipDir
		}
		if len(wanted) == 0 {
			return nil
		}
		if !e.IsRegular() {
			return fanOut(e, bytes.NewReader(nil), wanted)
		}
		f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("%s: skipped: %v", rel, err))
			return nil
		}
		defer f.Close()
		if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
			// Replaced by a FIFO, socket or device since the walk saw it.
			warnings = append(warnings, fmt.Sprintf("%s: skipped: no longer a regular file", rel))
			return nil
		}
		return fanOut(e, io.LimitReader(f, e.Size), wanted)
	})
	return lp, warnings, err
}

func entryFromInfo(rel string, info fs.FileInfo, l *Layer) *Entry {
	e := &Entry{Path: rel, Mode: info.Mode(), Layer: l, UID: -1, GID: -1}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		e.UID, e.GID = int(st.Uid), int(st.Gid)
	}
	e.Type = typeFromMode(info.Mode())
	if e.Type == tar.TypeReg {
		e.Size = info.Size()
	}
	return e
}

// typeFromMode returns the tar type flag for a file mode.
func typeFromMode(m fs.FileMode) byte {
	switch {
	case m.IsDir():
		return tar.TypeDir
	case m&fs.ModeSymlink != 0:
		return tar.TypeSymlink
	case m&fs.ModeNamedPipe != 0:
		return tar.TypeFifo
	case m&fs.ModeCharDevice != 0:
		return tar.TypeChar
	case m&fs.ModeDevice != 0:
		return tar.TypeBlock
	}
	return tar.TypeReg
}
