package rpm

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/inventory"
)

// rpmdbDir finds the real rpm databases (CentOS 7 BerkeleyDB, SLE 15
// NDB, Fedora 35 SQLite) that the go-rpmdb module ships for its own tests,
// in the module cache; nothing binary is committed here.
func rpmdbDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/knqyf263/go-rpmdb").Output()
	if err != nil {
		t.Skipf("go-rpmdb module not found: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "pkg", "testdata")
}

func analyzeFile(t *testing.T, path, name string) (*inventory.Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return Analyzer{}.Analyze(context.Background(), &inventory.File{Path: name, Size: int64(len(b)), R: bytes.NewReader(b)})
}

func TestFormats(t *testing.T) {
	dir := rpmdbDir(t)
	for _, tc := range []struct {
		file, path      string
		min             int
		name, src, vers string
	}{
		{"centos7-plain/Packages", "var/lib/rpm/Packages", 100, "openssl-libs", "openssl", "1.0.2k-12.el7"},
		{"sle15-bci/Packages.db", "usr/lib/sysimage/rpm/Packages.db", 35, "libreadline7", "bash", "7.0-19.6.1"},
		{"fedora35/rpmdb.sqlite", "usr/lib/sysimage/rpm/rpmdb.sqlite", 130, "libgcc", "gcc", "11.2.1-1.fc35"},
	} {
		res, err := analyzeFile(t, filepath.Join(dir, tc.file), tc.path)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if len(res.Packages) < tc.min {
			t.Errorf("%s: %d packages, want at least %d", tc.file, len(res.Packages), tc.min)
		}
		found := false
		for _, p := range res.Packages {
			if p.Name != tc.name {
				continue
			}
			found = true
			if p.SourceName != tc.src || p.Ecosystem != inventory.RPM || p.Release == "" || !strings.HasSuffix(p.Version, "-"+p.Release) {
				t.Errorf("%s: %+v", tc.file, p)
			}
			if tc.vers != "" && p.Version != tc.vers {
				t.Errorf("%s: %s version %s, want %s", tc.file, p.Name, p.Version, tc.vers)
			}
		}
		if !found {
			t.Errorf("%s: no %s", tc.file, tc.name)
		}
	}
}

// TestBrokenPage damages one package header in each format: that package
// is skipped with a warning naming the database, the others are reported.
func TestBrokenPage(t *testing.T) {
	dir := rpmdbDir(t)
	for _, f := range []string{"centos7-plain/Packages", "sle15-bci/Packages.db", "fedora35/rpmdb.sqlite"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		good, err := analyzeFile(t, filepath.Join(dir, f), "var/lib/rpm/"+filepath.Base(f))
		if err != nil {
			t.Fatal(err)
		}
		// The first header's entry count (il) sits right before the
		// first "\x00\x00\x00\x3f" region tag (HEADERIMMUTABLE):
		// make it huge.
		i := bytes.Index(b, []byte{0, 0, 0, 0x3f, 0, 0, 0, 7})
		if i < 8 {
			t.Fatalf("%s: no header found", f)
		}
		copy(b[i-8:], []byte{0x7f, 0xff, 0xff, 0xff})
		p := filepath.Join(t.TempDir(), filepath.Base(f))
		if strings.HasSuffix(f, ".sqlite") {
			// SQLite keeps free copies of pages; damage the live row.
			b, _ = os.ReadFile(filepath.Join(dir, f))
			os.WriteFile(p, b, 0o644)
			db, err := sql.Open("sqlite", p)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec("UPDATE Packages SET blob = x'7fffffff00000000' WHERE hnum = (SELECT MIN(hnum) FROM Packages)"); err != nil {
				t.Fatal(err)
			}
			db.Close()
		} else {
			os.WriteFile(p, b, 0o644)
		}
		res, err := analyzeFile(t, p, "var/lib/rpm/"+filepath.Base(f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(res.Packages) != len(good.Packages)-1 {
			t.Errorf("%s: %d packages, want all but one of %d", f, len(res.Packages), len(good.Packages))
		}
		if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "var/lib/rpm/"+filepath.Base(f)+": a package with a damaged header skipped") {
			t.Errorf("%s: warnings %q", f, res.Warnings)
		}
	}
	if _, err := analyzeFile(t, "/etc/hostname", "var/lib/rpm/Packages"); err == nil {
		t.Error("a file that is no rpm database was read without error")
	}
}

func TestSplitSourceRPM(t *testing.T) {
	n, v, ok := SplitSourceRPM("glibc-2.28-151.el8.src.rpm")
	if !ok || n != "glibc" || v != "2.28-151.el8" {
		t.Errorf("%s %s %v", n, v, ok)
	}
	if _, _, ok := SplitSourceRPM("nodash.src.rpm"); ok {
		t.Error("accepted a name without version")
	}
}

func FuzzSplitSourceRPM(f *testing.F) {
	f.Add("a-1-2.src.rpm")
	f.Fuzz(func(t *testing.T, s string) { SplitSourceRPM(s) })
}

func FuzzHeader(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 3, 232, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 1, 'a', 'b', 'c', 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := parseHeader(b)
		if err == nil {
			toPackage(h)
			h.files()
		}
	})
}

func TestFiles(t *testing.T) {
	dir := rpmdbDir(t)
	for _, f := range []string{"centos7-plain/Packages", "sle15-bci/Packages.db", "fedora35/rpmdb.sqlite"} {
		fh, err := os.Open(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		info, _ := fh.Stat()
		files, err := Files(fh, info.Size(), f)
		fh.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !slices.Contains(files, "usr/bin/bash") {
			t.Errorf("%s: %d files, none is usr/bin/bash", f, len(files))
		}
		for _, p := range files {
			if strings.HasPrefix(p, "/") || p == "" {
				t.Fatalf("%s: path %q", f, p)
			}
		}
	}
}
