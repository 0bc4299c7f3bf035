package host

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/inventory"
	"github.com/bulwark-sec/bulwark/internal/inventory/rpm"
)

// maxFile bounds how much of one configuration file is kept; larger files
// are judged on their start, with a warning.
const maxFile = 4 << 20

// maxExamples is how many paths an inventory finding (world-writable,
// unowned, setuid) names.
const maxExamples = 20

// File is what the checks know about one path of the root file system.
type File struct {
	Path     string
	Type     byte
	Mode     fs.FileMode
	UID, GID int
	Linkname string
	// Content is the file's content for the configuration files the
	// checks read (nil for others).
	Content []byte
	layer   int
}

// IsDir reports whether the entry is a directory.
func (f *File) IsDir() bool { return f.Type == tar.TypeDir }

// FS is the part of a root file system the checks read: the metadata of
// everything under the configuration folders and the content of the
// configuration files, as the final image shows them. Paths have no
// leading slash.
type FS struct {
	files map[string]*File
	// Inventory of the whole tree: world-writable entries, setuid/setgid
	// files and the owners seen, for the file system checks.
	WorldWritable []string
	SetID         []string
	Owners        map[[2]int][]string
	// Entries counts the entries walked.
	Entries int
	// RPMPackages names the packages of the rpm database, read during
	// the walk (the database is not kept); RPMPath is its path.
	RPMPackages map[string]bool
	RPMPath     string
	Warnings    []string
}

// NewFS returns an empty FS; Add fills it (tests, fuzzing).
func NewFS() *FS { return &FS{files: map[string]*File{}, Owners: map[[2]int][]string{}} }

// Add records a file. A later Add of the same path replaces it.
func (s *FS) Add(f *File) {
	f.Path = strings.TrimPrefix(path.Clean("/"+f.Path), "/")
	s.files[f.Path] = f
}

// Lstat returns the entry at p without following a final symlink.
func (s *FS) Lstat(p string) *File { return s.files[strings.TrimPrefix(path.Clean("/"+p), "/")] }

// Stat returns the entry at p, following symlinks (in every component)
// inside the root, or nil when it does not exist or the links loop.
func (s *FS) Stat(p string) *File {
	r, ok := s.resolve(p, 0)
	if !ok {
		return nil
	}
	return s.files[r]
}

// Resolve returns the path p names once every symlink is followed.
func (s *FS) Resolve(p string) (string, bool) { return s.resolve(p, 0) }

func (s *FS) resolve(p string, depth int) (string, bool) {
	if depth > 40 {
		return "", false
	}
	parts := strings.Split(strings.TrimPrefix(path.Clean("/"+p), "/"), "/")
	cur := ""
	for i, part := range parts {
		if part == "" {
			continue
		}
		next := part
		if cur != "" {
			next = cur + "/" + part
		}
		f := s.files[next]
		if f != nil && f.Type == tar.TypeSymlink {
			if f.Linkname == "" {
				// A link whose target could not be read (damaged).
				return "", false
			}
			target := f.Linkname
			if !strings.HasPrefix(target, "/") {
				target = path.Join("/", cur, target)
			}
			rest := strings.Join(parts[i+1:], "/")
			return s.resolve(path.Join(target, rest), depth+1)
		}
		cur = next
	}
	return cur, true
}

// UnknownLink reports whether p cannot be resolved because a symlink on
// its way has no known target: the reader could not read it (damaged).
// Checks then say "not checked", never judge the link as a missing file.
func (s *FS) UnknownLink(p string) bool {
	if _, ok := s.resolve(p, 0); ok {
		return false
	}
	parts := strings.Split(strings.TrimPrefix(path.Clean("/"+p), "/"), "/")
	for i := range parts {
		if f := s.files[strings.Join(parts[:i+1], "/")]; f != nil && f.Type == tar.TypeSymlink && f.Linkname == "" {
			return true
		}
	}
	return false
}

// Read returns the content of the regular file at p (symlinks followed)
// and whether it exists.
func (s *FS) Read(p string) ([]byte, bool) {
	f := s.Stat(p)
	if f == nil || f.Type != tar.TypeReg {
		return nil, false
	}
	return f.Content, true
}

// Glob returns the paths matching pattern (path.Match syntax, on the
// resolved folder), sorted. The folder part is resolved through symlinks.
func (s *FS) Glob(pattern string) []string {
	dir, base := path.Split(strings.TrimPrefix(path.Clean("/"+pattern), "/"))
	dir = strings.TrimSuffix(dir, "/")
	if strings.ContainsAny(dir, "*?[") {
		var out []string
		full := strings.TrimPrefix(path.Clean("/"+pattern), "/")
		for p := range s.files {
			if m, _ := path.Match(full, p); m {
				out = append(out, p)
			}
		}
		sort.Strings(out)
		return out
	}
	rdir, ok := s.resolve(dir, 0)
	if !ok {
		return nil
	}
	var out []string
	for p := range s.files {
		if path.Dir(p) != rdir && !(rdir == "" && !strings.Contains(p, "/")) {
			continue
		}
		if m, _ := path.Match(base, path.Base(p)); m {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// Under returns every path below folder dir (resolved), sorted.
func (s *FS) Under(dir string) []string {
	rdir, ok := s.resolve(dir, 0)
	if !ok {
		return nil
	}
	var out []string
	for p := range s.files {
		if strings.HasPrefix(p, rdir+"/") {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// metaDirs are the folders whose every entry's metadata is kept.
var metaDirs = []string{"etc/", "boot/", "var/log/", "usr/lib/systemd/", "lib/systemd/", "usr/lib/sysctl.d/", "lib/sysctl.d/", "usr/lib/modprobe.d/", "lib/modprobe.d/", "usr/lib/motd.d/"}

// metaFiles are single paths whose metadata is kept.
var metaFiles = map[string]bool{"var/lib/dpkg/status": true, "usr/lib/os-release": true, "var/tmp": true, "dev/shm": true, "var/log": true,
	"var/lib/rpm/rpmdb.sqlite": true, "var/lib/rpm/Packages": true, "var/lib/rpm/Packages.db": true,
	"usr/lib/sysimage/rpm/rpmdb.sqlite": true, "usr/lib/sysimage/rpm/Packages": true, "usr/lib/sysimage/rpm/Packages.db": true,
	// The audit tools (CIS "audit tools mode"), where merged-/usr
	// systems keep them.
	"usr/sbin/auditctl": true, "usr/sbin/aureport": true, "usr/sbin/ausearch": true, "usr/sbin/autrace": true, "usr/sbin/auditd": true, "usr/sbin/augenrules": true}

// contentPrefixes are read in full.
var contentPrefixes = []string{"etc/", "boot/grub/grub.cfg", "boot/grub2/grub.cfg", "boot/grub2/user.cfg", "boot/grub2/grubenv", "boot/loader/entries/", "usr/lib/motd.d/", "usr/lib/sysctl.d/", "lib/sysctl.d/", "usr/lib/modprobe.d/", "lib/modprobe.d/", "var/lib/dpkg/status", "usr/lib/os-release", "root/.bashrc", "root/.profile", "root/.bash_profile", "usr/lib/systemd/journald.conf.d/", "usr/lib/systemd/timesyncd.conf.d/"}

// wantMeta says whether an entry's metadata is kept: everything at the
// top level (merged /usr links), the configuration folders, home folders
// and their dot files.
func wantMeta(p string) bool {
	depth := strings.Count(p, "/")
	if depth == 0 || metaFiles[p] {
		return true
	}
	for _, d := range metaDirs {
		if strings.HasPrefix(p, d) {
			return true
		}
	}
	switch {
	case strings.HasPrefix(p, "root/"):
		return depth == 1
	case strings.HasPrefix(p, "home/"):
		return depth == 1 || depth == 2 && strings.HasPrefix(path.Base(p), ".")
	}
	return false
}

func wantContent(p string) bool {
	for _, d := range contentPrefixes {
		if strings.HasPrefix(p, d) {
			return true
		}
	}
	return false
}

// Handler collects, during an image walk, what the host checks read. It
// is safe for the concurrent use image.Walk makes of it.
type Handler struct {
	mu      sync.Mutex
	seen    []*File
	modules []string
	ww      []*File
	setid   []*File
	owners  map[[2]int][]string
	entries int
	warns   []string
	rpmDBs  []*rpmDB
}

// rpmDB is an rpm database seen in the walk, as package names.
type rpmDB struct {
	file  *File
	names map[string]bool
}

// NewHandler returns a Handler for one walk.
func NewHandler() *Handler { return &Handler{owners: map[[2]int][]string{}} }

// Want implements image.Handler. It also records, for every entry, what
// the file system inventories need.
func (h *Handler) Want(e *image.Entry) bool {
	// CIS 7.1.11 looks at regular files and folders (device nodes such
	// as /dev/null are world-writable by design); a folder with the
	// sticky bit is fine.
	ww := e.Mode&0o002 != 0 && (e.Type == tar.TypeReg || e.Type == tar.TypeDir && e.Mode&fs.ModeSticky == 0)
	setid := e.Type == tar.TypeReg && e.Mode&(fs.ModeSetuid|fs.ModeSetgid) != 0
	kernelModule := strings.HasPrefix(e.Path, "lib/modules/") || strings.HasPrefix(e.Path, "usr/lib/modules/")
	h.mu.Lock()
	h.entries++
	k := [2]int{e.UID, e.GID}
	if len(h.owners[k]) < maxExamples {
		h.owners[k] = append(h.owners[k], e.Path)
	}
	if ww || setid {
		f := &File{Path: e.Path, Type: e.Type, Mode: e.Mode, UID: e.UID, GID: e.GID, layer: e.Layer.Index}
		if ww {
			h.ww = append(h.ww, f)
		}
		if setid {
			h.setid = append(h.setid, f)
		}
	}
	if kernelModule && strings.Contains(e.Path, ".ko") {
		h.modules = append(h.modules, e.Path)
	}
	h.mu.Unlock()
	return wantMeta(e.Path)
}

// Handle implements image.Handler.
func (h *Handler) Handle(e *image.Entry, r io.Reader) error {
	f := &File{Path: e.Path, Type: e.Type, Mode: e.Mode, UID: e.UID, GID: e.GID, Linkname: e.Linkname, layer: e.Layer.Index}
	var warn string
	if e.IsRegular() && rpm.IsDB(e.Path) {
		return h.readRPM(f, e, r)
	}
	if e.IsRegular() && wantContent(e.Path) {
		b, err := io.ReadAll(io.LimitReader(r, maxFile+1))
		if err != nil {
			return err
		}
		if len(b) > maxFile {
			warn = fmt.Sprintf("host: /%s is larger than %d bytes; only its start was checked", e.Path, maxFile)
			b = b[:maxFile]
		}
		f.Content = b
	}
	h.mu.Lock()
	h.seen = append(h.seen, f)
	if warn != "" {
		h.warns = append(h.warns, warn)
	}
	h.mu.Unlock()
	return nil
}

// readRPM records the names of the packages in an rpm database. A
// database that cannot be read leaves a warning: the package checks then
// see no rpm packages.
func (h *Handler) readRPM(f *File, e *image.Entry, r io.Reader) error {
	res, err := rpm.Analyzer{}.Analyze(context.Background(), &inventory.File{Path: e.Path, Size: e.Size, Mode: e.Mode, R: r})
	db := &rpmDB{file: f, names: map[string]bool{}}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seen = append(h.seen, f)
	if err != nil {
		h.warns = append(h.warns, fmt.Sprintf("host: /%s: %v", e.Path, err))
		return nil
	}
	for _, p := range res.Packages {
		db.names[p.Name] = true
	}
	h.rpmDBs = append(h.rpmDBs, db)
	return nil
}

// Finish builds the FS the final image shows, once the walk is done.
func (h *Handler) Finish(tree *image.Tree) *FS {
	s := NewFS()
	visible := func(f *File) bool { return tree == nil || tree.Visible(f.layer, f.Path) }
	for _, f := range h.seen {
		if visible(f) {
			if old := s.files[f.Path]; old == nil || old.layer <= f.layer {
				s.files[f.Path] = f
			}
		}
	}
	for _, f := range h.ww {
		if visible(f) {
			s.WorldWritable = append(s.WorldWritable, f.Path)
		}
	}
	for _, f := range h.setid {
		if visible(f) {
			s.SetID = append(s.SetID, f.Path)
		}
	}
	for _, db := range h.rpmDBs {
		if visible(db.file) && s.files[db.file.Path] == db.file {
			s.RPMPackages, s.RPMPath = db.names, db.file.Path
		}
	}
	for _, m := range h.modules {
		s.Add(&File{Path: m, Type: tar.TypeReg})
	}
	sort.Strings(s.WorldWritable)
	sort.Strings(s.SetID)
	s.Owners = h.owners
	s.Entries = h.entries
	s.Warnings = h.warns
	return s
}
