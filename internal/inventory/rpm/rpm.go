// Package rpm reads RPM databases in all three formats (BerkeleyDB
// "Packages", NDB "Packages.db", SQLite "rpmdb.sqlite") with the pure-Go
// go-rpmdb storage readers, and parses each package header itself so that
// one damaged header skips one package, not the database. The database is
// spooled to a temporary file, since the readers open a path.
//
// go-rpmdb opens SQLite databases through the database/sql driver named
// "sqlite", which the pure-Go modernc.org/sqlite provides.
package rpm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/knqyf263/go-rpmdb/pkg/bdb"
	dbi "github.com/knqyf263/go-rpmdb/pkg/db"
	"github.com/knqyf263/go-rpmdb/pkg/ndb"
	"github.com/knqyf263/go-rpmdb/pkg/sqlite3"
	_ "modernc.org/sqlite" // the "sqlite" driver go-rpmdb uses

	"github.com/bulwark-sec/bulwark/internal/inventory"
)

const maxDB = 1 << 30

// Analyzer reads rpm databases.
type Analyzer struct{}

// Name implements inventory.Analyzer.
func (Analyzer) Name() string { return "rpm" }

// Version implements inventory.Analyzer.
func (Analyzer) Version() int { return 2 }

// Modes implements inventory.Analyzer.
func (Analyzer) Modes() inventory.Mode { return inventory.ModeImage | inventory.ModeTree }

// Want implements inventory.Analyzer.
func (Analyzer) Want(p string, size int64, _ fs.FileMode) bool {
	if size > maxDB {
		return false
	}
	dir, base := path.Split(p)
	if dir != "var/lib/rpm/" && dir != "usr/lib/sysimage/rpm/" {
		return false
	}
	return base == "Packages" || base == "Packages.db" || base == "rpmdb.sqlite"
}

// Analyze implements inventory.Analyzer.
func (Analyzer) Analyze(_ context.Context, f *inventory.File) (*inventory.Result, error) {
	res := &inventory.Result{}
	warnings, err := readHeaders(f.R, f.Size, f.Path, func(h *header) {
		pkg, warn := toPackage(h)
		if warn != "" {
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s: %s", f.Path, warn))
		}
		if pkg == nil {
			return
		}
		res.Packages = append(res.Packages, *pkg)
		for _, fn := range h.files() {
			fn = strings.TrimPrefix(fn, "/")
			if inventory.LangCandidate(fn) {
				res.Owned = append(res.Owned, fn)
			}
		}
	})
	res.Warnings = append(res.Warnings, warnings...)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// IsDB reports whether an image path is an rpm database.
func IsDB(p string) bool { return Analyzer{}.Want(p, 0, 0) }

// Files reads an rpm database (of size bytes, in any of its three formats)
// and returns the paths, without a leading slash, of every file its
// packages installed.
func Files(r io.Reader, size int64, name string) ([]string, error) {
	var out []string
	_, err := readHeaders(r, size, name, func(h *header) {
		for _, fn := range h.files() {
			if fn = strings.TrimPrefix(fn, "/"); fn != "" {
				out = append(out, fn)
			}
		}
	})
	return out, err
}

// readHeaders calls fn with the header of each package in a database; a
// package whose header is damaged is skipped with a warning, the others
// are kept.
func readHeaders(r io.Reader, size int64, name string, fn func(*header)) ([]string, error) {
	sp, err := inventory.Spool(r, size, 0, maxDB, true)
	if err != nil {
		return nil, err
	}
	defer sp.Close()
	entries, closeDB, err := open(sp.Path())
	if err != nil {
		return nil, err
	}
	defer closeDB()
	var warnings []string
	bad := 0
	// Read every entry (the reader's goroutine must run to its end).
	for e := range entries {
		if e.Err != nil {
			warnings = append(warnings, fmt.Sprintf("%s: the database is damaged, packages after this point are missing: %v", name, e.Err))
			continue
		}
		h, err := parseHeader(e.Value)
		if err != nil {
			if bad++; bad <= 10 {
				warnings = append(warnings, fmt.Sprintf("%s: a package with a damaged header skipped: %v", name, err))
			}
			continue
		}
		fn(h)
	}
	if bad > 10 {
		warnings = append(warnings, fmt.Sprintf("%s: %d packages with damaged headers skipped in all", name, bad))
	}
	return warnings, nil
}

// open opens a database in whichever of the three formats it is, as
// go-rpmdb's own Open tells them apart, and returns its entries.
func open(path string) (<-chan dbi.Entry, func(), error) {
	if db, err := sqlite3.Open(path); err == nil {
		return db.Read(), func() {}, nil
	} else if !errors.Is(err, sqlite3.ErrorInvalidSQLite3) {
		return nil, nil, fmt.Errorf("not a readable rpm database: %v", err)
	}
	if db, err := ndb.Open(path); err == nil {
		return db.Read(), func() { db.Close() }, nil
	} else if !errors.Is(err, ndb.ErrorInvalidNDB) {
		return nil, nil, fmt.Errorf("not a readable rpm database: %v", err)
	}
	db, err := bdb.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("not a readable rpm database: %v", err)
	}
	return db.Read(), func() { db.Close() }, nil
}

func toPackage(h *header) (*inventory.Package, string) {
	name, version, release := h.str(tagName), h.str(tagVersion), h.str(tagRelease)
	if name == "" || version == "" {
		return nil, "a package with no name or version skipped"
	}
	if name == "gpg-pubkey" {
		return nil, ""
	}
	pkg := &inventory.Package{Name: name, Version: version, Release: release, Arch: h.str(tagArch),
		Ecosystem: inventory.RPM, Kind: inventory.KindOS}
	if e := h.ints[tagEpoch]; len(e) > 0 {
		pkg.Epoch = int(e[0])
	}
	if release != "" {
		pkg.Version += "-" + release
	}
	if l := h.str(tagLicense); l != "" {
		pkg.Licenses = []string{l}
	}
	pkg.SourceName, pkg.SourceVersion = pkg.Name, pkg.Version
	if n, v, ok := SplitSourceRPM(h.str(tagSourceRPM)); ok {
		pkg.SourceName, pkg.SourceVersion = n, v
	}
	return pkg, ""
}

// SplitSourceRPM splits "glibc-2.28-151.el8.src.rpm" into "glibc" and
// "2.28-151.el8".
func SplitSourceRPM(s string) (string, string, bool) {
	s = strings.TrimSuffix(strings.TrimSuffix(s, ".rpm"), ".src")
	s = strings.TrimSuffix(s, ".nosrc")
	r := strings.LastIndexByte(s, '-')
	if r <= 0 {
		return "", "", false
	}
	v := strings.LastIndexByte(s[:r], '-')
	if v <= 0 {
		return "", "", false
	}
	return s[:v], s[v+1:], true
}
