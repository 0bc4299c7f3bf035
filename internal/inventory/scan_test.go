package inventory_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/inventory"
	"github.com/bulwark-sec/bulwark/internal/inventory/analyzers"
	"github.com/bulwark-sec/bulwark/internal/inventory/invtest"
)

const osRelease = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
`

const status0 = `Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u4
Description: GNU C Library
 shared libraries

Package: python3-yaml
Status: install ok installed
Architecture: amd64
Source: pyyaml (6.0-3)
Version: 6.0-3+b2

Package: removed-pkg
Status: deinstall ok config-files
Version: 1.0
`

// status1 adds one package to status0, as apt in a later layer would.
const status1 = status0 + `
Package: curl
Status: install ok installed
Architecture: amd64
Version: 7.88.1-10+deb12u5
`

const yamlMeta = "Metadata-Version: 2.1\nName: PyYAML\nVersion: 6.0\nLicense: MIT\n\nlong description\n"

// testImage has a base layer with two dpkg packages, a dpkg-owned Python
// distribution and a second one of its own, an npm package; the second
// layer installs curl (rewriting the status file), deletes the npm
// package and replaces app metadata.
func testImage(t testing.TB) string {
	t.Helper()
	base := invtest.Layer(t,
		invtest.File{Path: "etc/os-release", Content: osRelease},
		invtest.File{Path: "var/lib/dpkg/status", Content: status0},
		invtest.File{Path: "var/lib/dpkg/info/python3-yaml.list", Content: "/.\n/usr\n/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA\n"},
		invtest.File{Path: "usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA", Content: yamlMeta},
		invtest.File{Path: "usr/local/lib/python3.11/site-packages/requests-2.31.0.dist-info/METADATA", Content: "Name: requests\nVersion: 2.31.0\nLicense-Expression: Apache-2.0\n"},
		invtest.File{Path: "app/node_modules/left-pad/package.json", Content: `{"name":"left-pad","version":"1.3.0","license":"WTFPL"}`},
		invtest.File{Path: "app/node_modules/@scope/kept/package.json", Content: `{"name":"@scope/kept","version":"2.0.0"}`},
	)
	top := invtest.Layer(t,
		invtest.File{Path: "var/lib/dpkg/status", Content: status1},
		invtest.File{Path: "app/node_modules/.wh.left-pad"},
		invtest.File{Path: "usr/local/lib/python3.11/site-packages/broken.dist-info/METADATA", Content: "no headers here"},
	)
	return invtest.Archive(t, base, top)
}

func scan(t *testing.T, spec string, cache *inventory.Cache) *inventory.SBOM {
	t.Helper()
	img, err := image.Open(context.Background(), spec, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	s, err := inventory.Scan(context.Background(), img, inventory.Options{Analyzers: analyzers.All(), Mode: inventory.ModeImage, Cache: cache, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func find(s *inventory.SBOM, eco, name string) *inventory.Package {
	for i := range s.Packages {
		if s.Packages[i].Ecosystem == eco && s.Packages[i].Name == name {
			return &s.Packages[i]
		}
	}
	return nil
}

func TestScanImage(t *testing.T) {
	s := scan(t, testImage(t), nil)
	checkTestImage(t, s)
}

func checkTestImage(t *testing.T, s *inventory.SBOM) {
	t.Helper()
	if s.Target.OS == nil || s.Target.OS.ID != "debian" || s.Target.OS.Version != "12" || s.Target.OS.Codename != "bookworm" {
		t.Errorf("OS = %+v, want debian 12 bookworm", s.Target.OS)
	}
	var names []string
	for _, p := range s.Packages {
		names = append(names, p.Ecosystem+"/"+p.Name+"@"+p.Version)
	}
	want := []string{"Debian/curl@7.88.1-10+deb12u5", "Debian/libc6@2.36-9+deb12u4", "Debian/python3-yaml@6.0-3+b2",
		"PyPI/requests@2.31.0", "npm/@scope/kept@2.0.0"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("packages:\n got %v\nwant %v", names, want)
	}
	libc := find(s, "Debian", "libc6")
	if libc == nil {
		t.Fatal("no libc6")
	}
	if libc.SourceName != "glibc" || libc.SourceVersion != "2.36-9+deb12u4" {
		t.Errorf("libc6 source = %s %s", libc.SourceName, libc.SourceVersion)
	}
	if got := libc.PURL; got != "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12" {
		t.Errorf("libc6 purl = %s", got)
	}
	if l := libc.Locations[0]; l.Path != "var/lib/dpkg/status" || l.Layer == nil || l.Layer.Index != 0 {
		t.Errorf("libc6 location = %+v, want the status file, added by layer 0", l)
	}
	if y := find(s, "Debian", "python3-yaml"); y == nil || y.SourceName != "pyyaml" || y.SourceVersion != "6.0-3" {
		t.Errorf("python3-yaml source = %+v", y)
	}
	if c := find(s, "Debian", "curl"); c == nil || c.Locations[0].Layer.Index != 1 {
		t.Errorf("curl should be attributed to layer 1: %+v", c)
	}
	if r := find(s, "PyPI", "requests"); r == nil || r.PURL != "pkg:pypi/requests@2.31.0" || len(r.Licenses) != 1 || r.Licenses[0] != "Apache-2.0" {
		t.Errorf("requests = %+v", r)
	}
	if k := find(s, "npm", "@scope/kept"); k == nil || k.PURL != "pkg:npm/%40scope/kept@2.0.0" {
		t.Errorf("@scope/kept = %+v", k)
	}
	found := false
	for _, w := range s.Warnings {
		if strings.Contains(w, "broken.dist-info/METADATA") {
			found = true
		}
	}
	if !found {
		t.Errorf("no warning names the broken METADATA: %q", s.Warnings)
	}
}

func TestScanCache(t *testing.T) {
	archive := testImage(t)
	dir := t.TempDir()
	cache := &inventory.Cache{Dir: dir}
	first := scan(t, archive, cache)
	checkTestImage(t, first)
	entries, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(entries) != 2 {
		t.Fatalf("want one cache entry per layer stack (2), got %d", len(entries))
	}
	// Second scan: everything from the cache, same answer.
	second := scan(t, archive, cache)
	checkTestImage(t, second)

	// Damage every entry: the scan ignores them, warns, and rewrites them.
	for _, e := range entries {
		if err := os.WriteFile(e, []byte("0000\n{not json"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var warned []string
	cache.Warn = func(m string) { warned = append(warned, m) }
	third := scan(t, archive, cache)
	checkTestImage(t, third)
	if len(warned) == 0 {
		t.Error("a damaged cache entry was used without a warning")
	}
	for _, e := range entries {
		b, _ := os.ReadFile(e)
		if strings.Contains(string(b), "{not json") {
			t.Errorf("%s was not rewritten", e)
		}
	}
	if err := cache.Clean(); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.json")); len(left) != 0 {
		t.Errorf("clean left %v", left)
	}
}

// TestScanSiblingFromCache scans an image, then another built on the
// same base layer: the base comes from the cache and a deletion in the
// new top layer still applies to it.
func TestScanSiblingFromCache(t *testing.T) {
	base := invtest.Layer(t,
		invtest.File{Path: "etc/os-release", Content: osRelease},
		invtest.File{Path: "var/lib/dpkg/status", Content: status0},
		invtest.File{Path: "app/node_modules/left-pad/package.json", Content: `{"name":"left-pad","version":"1.3.0"}`},
	)
	cache := &inventory.Cache{Dir: t.TempDir()}
	a := scan(t, invtest.Archive(t, base), cache)
	if find(a, "npm", "left-pad") == nil {
		t.Fatal("left-pad missing from the base image")
	}
	top := invtest.Layer(t, invtest.File{Path: "app/node_modules/.wh.left-pad"},
		invtest.File{Path: "var/lib/dpkg/status", Content: status1},
		invtest.File{Path: "app/node_modules/right-pad/package.json", Content: `{"name":"right-pad","version":"0.1.0"}`})
	b := scan(t, invtest.Archive(t, base, top), cache)
	if find(b, "npm", "left-pad") != nil {
		t.Error("left-pad was deleted by the top layer but is still reported")
	}
	if p := find(b, "npm", "right-pad"); p == nil || p.Locations[0].Layer.Index != 1 {
		t.Errorf("right-pad = %+v", p)
	}
	// The top layer rewrote the status file: libc6 still comes from the
	// cached base layer, curl from the top one.
	if p := find(b, "Debian", "libc6"); p == nil || p.Locations[0].Layer.Index != 0 {
		t.Errorf("libc6 = %+v, want it attributed to the cached base layer", p)
	}
	if p := find(b, "Debian", "curl"); p == nil || p.Locations[0].Layer.Index != 1 {
		t.Errorf("curl = %+v", p)
	}
}

// BenchmarkScan measures the whole inventory of the small test image
// (walk, analyzers, merge), without the cache.
func BenchmarkScan(b *testing.B) {
	archive := testImage(b)
	img, err := image.Open(context.Background(), archive, image.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer img.Close()
	opts := inventory.Options{Analyzers: analyzers.All(), Mode: inventory.ModeImage}
	for b.Loop() {
		if _, err := inventory.Scan(context.Background(), img, opts); err != nil {
			b.Fatal(err)
		}
	}
}
