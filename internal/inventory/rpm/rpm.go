// Package rpm reads RPM databases in all three formats (BerkeleyDB
// "Packages", NDB "Packages.db", SQLite "rpmdb.sqlite") with the pure-Go
// go-rpmdb reader. The database is spooled to a temporary file, since the
// reader opens a path.
//
// go-rpmdb opens SQLite databases through the database/sql driver named
// "sqlite", which the pure-Go modernc.org/sqlite provides.
package rpm

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"

	rpmdb "github.com/knqyf263/go-rpmdb/pkg"
	_ "modernc.org/sqlite" // the "sqlite" driver go-rpmdb uses

	"github.com/bulwark-sec/bulwark/internal/inventory"
)

const maxDB = 1 << 30

// Analyzer reads rpm databases.
type Analyzer struct{}

// Name implements inventory.Analyzer.
func (Analyzer) Name() string { return "rpm" }

// Version implements inventory.Analyzer.
func (Analyzer) Version() int { return 1 }

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
	sp, err := inventory.Spool(f.R, f.Size, 0, maxDB, true)
	if err != nil {
		return nil, err
	}
	defer sp.Close()
	// go-rpmdb tells the format from the content.
	db, err := rpmdb.Open(sp.Path())
	if err != nil {
		return nil, fmt.Errorf("not a readable rpm database: %v", err)
	}
	defer db.Close()
	list, err := db.ListPackages()
	if err != nil {
		return nil, fmt.Errorf("rpm database unreadable: %v", err)
	}
	res := &inventory.Result{}
	for _, p := range list {
		pkg, warn := toPackage(p)
		if warn != "" {
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s: %s", f.Path, warn))
			continue
		}
		res.Packages = append(res.Packages, pkg)
		files, err := p.InstalledFileNames()
		if err != nil {
			continue
		}
		for _, fn := range files {
			fn = strings.TrimPrefix(fn, "/")
			if inventory.LangCandidate(fn) {
				res.Owned = append(res.Owned, fn)
			}
		}
	}
	return res, nil
}

func toPackage(p *rpmdb.PackageInfo) (inventory.Package, string) {
	if p.Name == "" || p.Version == "" {
		return inventory.Package{}, "a package with no name or version skipped"
	}
	if p.Name == "gpg-pubkey" {
		return inventory.Package{}, ""
	}
	pkg := inventory.Package{Name: p.Name, Version: p.Version, Release: p.Release, Epoch: p.EpochNum(), Arch: p.Arch,
		Ecosystem: inventory.RPM, Kind: inventory.KindOS}
	if p.Release != "" {
		pkg.Version += "-" + p.Release
	}
	if p.License != "" {
		pkg.Licenses = []string{p.License}
	}
	pkg.SourceName, pkg.SourceVersion = pkg.Name, pkg.Version
	if n, v, ok := SplitSourceRPM(p.SourceRpm); ok {
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
