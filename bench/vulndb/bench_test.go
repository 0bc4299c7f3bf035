// Package vulndbbench measures the vulnerability database on the real
// advisory data in ../shared/vulndata (the Go vulnerability database, the
// PyPA advisory database and the GHSA sample): build time, open time,
// lookup time for 500 packages, and file size against the compressed
// sources. Run ./run.sh, or go test -bench . -benchtime 5x.
package vulndbbench

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/vulndb"
	"github.com/bulwark-sec/bulwark/internal/vulndb/build"
)

func dataDir(b *testing.B) string {
	d := os.Getenv("BULWARK_VULNDATA")
	if d == "" {
		d = "../../../shared/vulndata"
	}
	if _, err := os.Stat(filepath.Join(d, "go-vulndb-osv.tar.gz")); err != nil {
		b.Skipf("no advisory data at %s (set BULWARK_VULNDATA): %v", d, err)
	}
	return d
}

func options(b *testing.B, out string) build.Options {
	d := dataDir(b)
	return build.Options{
		Output: out,
		OSV:    []string{filepath.Join(d, "go-vulndb-osv.tar.gz"), filepath.Join(d, "pypa-advisory-osv-yaml.tar.gz")},
		GHSA:   []string{filepath.Join(d, "ghsa")},
	}
}

func built(b *testing.B) string {
	out := filepath.Join(b.TempDir(), "vulndb.bwdb")
	if _, err := build.Build(context.Background(), options(b, out)); err != nil {
		b.Fatal(err)
	}
	return out
}

// BenchmarkBuild builds the database from the full Go and PyPI data plus
// the GHSA sample, and reports the file size against the sources'.
func BenchmarkBuild(b *testing.B) {
	out := filepath.Join(b.TempDir(), "vulndb.bwdb")
	o := options(b, out)
	var sum *build.Summary
	for b.Loop() {
		var err error
		if sum, err = build.Build(context.Background(), o); err != nil {
			b.Fatal(err)
		}
	}
	var src int64
	for _, p := range o.OSV {
		fi, _ := os.Stat(p)
		src += fi.Size()
	}
	ghsa, _ := filepath.Glob(filepath.Join(o.GHSA[0], "*.json"))
	for _, p := range ghsa {
		fi, _ := os.Stat(p)
		src += fi.Size()
	}
	b.ReportMetric(float64(sum.Size), "db-bytes")
	b.ReportMetric(float64(src), "source-bytes")
	b.ReportMetric(float64(sum.Advisories), "advisories")
}

// BenchmarkOpen opens the database (header, checksum, index).
func BenchmarkOpen(b *testing.B) {
	path := built(b)
	for b.Loop() {
		db, err := vulndb.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		db.Close()
	}
}

// packages picks n package keys spread over the whole database.
func packages(b *testing.B, db *vulndb.DB, n int) [][2]string {
	var all [][2]string
	db.Packages(func(eco, name string) bool { all = append(all, [2]string{eco, name}); return true })
	if len(all) < n {
		b.Fatalf("only %d packages", len(all))
	}
	out := make([][2]string, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, all[i*len(all)/n])
	}
	return out
}

// BenchmarkLookup500Cold opens the database and looks up every advisory
// of 500 packages, as one scan does (block cache empty at the start).
func BenchmarkLookup500Cold(b *testing.B) {
	path := built(b)
	db, err := vulndb.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	pkgs := packages(b, db, 500)
	db.Close()
	found := 0
	for b.Loop() {
		db, err := vulndb.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		found = 0
		for _, p := range pkgs {
			advs, err := db.Lookup(p[0], p[1])
			if err != nil {
				b.Fatal(err)
			}
			found += len(advs)
		}
		db.Close()
	}
	b.ReportMetric(float64(found), "advisories")
}

// BenchmarkLookup500Warm repeats the 500 lookups on an open database.
func BenchmarkLookup500Warm(b *testing.B) {
	db, err := vulndb.Open(built(b))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	pkgs := packages(b, db, 500)
	for b.Loop() {
		for _, p := range pkgs {
			if _, err := db.Lookup(p[0], p[1]); err != nil {
				b.Fatal(err)
			}
		}
	}
}
