package image

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/bulwark-sec/bulwark/internal/disk"
)

// openVM opens vm:FILE or ebs:SNAPSHOT-ID (the partition holding a Linux
// root), or with #N partition N.
func openVM(ctx context.Context, spec, kind, arg string) (*Image, error) {
	name, part := arg, -1
	if i := strings.LastIndex(arg, "#"); i >= 0 {
		if n, err := strconv.Atoi(arg[i+1:]); err == nil && n >= 0 {
			name, part = arg[:i], n
		}
	}
	var d *disk.Disk
	var err error
	if kind == KindEBS {
		d, err = disk.OpenEBS(ctx, name)
	} else {
		d, err = disk.Open(name)
	}
	if err != nil {
		return nil, err
	}
	img, err := fromDisk(spec, kind, d, part)
	if err != nil {
		d.Close()
		return nil, err
	}
	img.closer = d
	return img, nil
}

// fromDisk makes an image of a disk's Linux root file system (the one on
// partition part when part >= 0) and of the file systems its fstab mounts,
// one layer each, root first.
func fromDisk(spec, kind string, d *disk.Disk, part int) (*Image, error) {
	var root disk.Root
	if part >= 0 {
		var found bool
		for _, p := range d.Partitions {
			if p.Index == part {
				fsys, err := d.OpenPartition(p)
				if err != nil {
					return nil, err
				}
				root, found = disk.Root{Partition: p, FS: fsys}, true
			}
		}
		if !found {
			return nil, fmt.Errorf("the disk has no partition %d (it has %s)", part, partList(d))
		}
	} else {
		roots := d.Roots()
		if len(roots) == 0 {
			msg := fmt.Sprintf("no partition holds a Linux root file system (/etc/os-release) that bulwark can read (ext2/3/4, XFS); partitions: %s", partList(d))
			if len(d.Warnings) > 0 {
				msg += "; " + strings.Join(d.Warnings, "; ")
			}
			return nil, fmt.Errorf("%s; pick one with %s:FILE#N", msg, kind)
		}
		root = roots[0]
		for _, r := range roots[1:] {
			d.Warnings = append(d.Warnings, fmt.Sprintf("partition %d also holds a Linux root; read partition %d (pick another with %s:FILE#N)", r.Partition.Index, root.Partition.Index, kind))
		}
	}
	img := &Image{Name: spec, Kind: kind, Config: &v1.ConfigFile{OS: "linux"}}
	add := func(p disk.Partition, fsys disk.FS, mount string) {
		l := &Layer{Index: len(img.Layers), Size: -1, HistoryIndex: -1, fs: fsys, mount: mount}
		l.CreatedBy = fmt.Sprintf("partition %d (%s) on /%s", p.Index, fsys.Type(), mount)
		if p.Index == 0 {
			l.CreatedBy = fmt.Sprintf("whole disk (%s) on /%s", fsys.Type(), mount)
		}
		img.Layers = append(img.Layers, l)
	}
	add(root.Partition, root.FS, "")
	for _, m := range d.Mounts(root) {
		add(m.Partition, m.FS, m.Point)
	}
	img.Layers[0].warnings = d.Warnings
	return img, nil
}

func partList(d *disk.Disk) string {
	var s []string
	for _, p := range d.Partitions {
		if p.Index == 0 {
			s = append(s, fmt.Sprintf("the whole disk (%d MiB, no partition table)", p.Size>>20))
			continue
		}
		s = append(s, fmt.Sprintf("%d (%d MiB, type %s)", p.Index, p.Size>>20, p.Type))
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// walkDisk walks a file system read from a disk image. A file whose
// content cannot be read is a warning; the walk goes on. When the file
// system allows it, files are read and handled by several goroutines
// (see contentPool) while the walk goes on.
func walkDisk(ctx context.Context, l *Layer, handlers []Handler) (layerPaths, []string, error) {
	var lp layerPaths
	var warnings []string
	warn := func(s string) { warnings = append(warnings, l.String()+": "+s) }
	var pool *contentPool
	if c, ok := l.fs.(disk.ConcurrentFS); ok && c.ConcurrentReads() {
		if n := runtime.GOMAXPROCS(0); n > 1 {
			pool = newContentPool(n, func(j contentJob) (string, error) { return handleDiskFile(l, j.e, j.handlers, j.open) })
			warn = func(s string) { pool.warn(l.String() + ": " + s) }
		}
	}
	prefix := ""
	if l.mount != "" {
		// Whatever the root file system has below the mount point is hidden.
		lp.add(l.mount, pathOpaque)
		prefix = l.mount + "/"
	}
	var wanted []Handler
	err := l.fs.Walk(ctx, func(f *disk.File) error {
		e := &Entry{Path: prefix + f.Path, Type: typeFromMode(f.Mode), Mode: f.Mode, Size: f.Size,
			UID: f.UID, GID: f.GID, Linkname: f.Linkname, Layer: l}
		kind := uint64(pathEntry)
		if !f.Mode.IsDir() {
			kind |= pathNonDir
		}
		lp.add(e.Path, kind)
		wanted = wanting(wanted, handlers, e)
		if len(wanted) == 0 {
			return nil
		}
		if pool == nil {
			w, err := handleDiskFile(l, e, wanted, f.Open)
			if w != "" {
				warnings = append(warnings, w)
			}
			return err
		}
		if err := pool.failed(); err != nil {
			return err
		}
		pool.add(e, wanted, f.Open)
		return nil
	}, warn)
	if pool != nil {
		warnings, err = pool.finish(err)
	}
	return lp, append(append([]string(nil), l.warnings...), warnings...), err
}

// handleDiskFile gives one wanted entry's content to its handlers; content
// that cannot be read from the disk is a warning, not an error.
func handleDiskFile(l *Layer, e *Entry, wanted []Handler, open func() (io.Reader, error)) (string, error) {
	r, err := open()
	if err != nil {
		w := fmt.Sprintf("%s: %s: content skipped: %v", l, e.Path, err)
		if err := fanOut(e, strings.NewReader(""), wanted); err != nil {
			return "", err
		}
		return w, nil
	}
	cr := &errReader{r: io.LimitReader(r, e.Size)}
	if err := fanOut(e, cr, wanted); err != nil {
		if cr.err != nil {
			return fmt.Sprintf("%s: %s: content skipped: %v", l, e.Path, cr.err), nil
		}
		return "", err
	}
	return "", nil
}

// errReader remembers the error its reader returned, to tell damage to
// the disk from an error of a handler.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}
