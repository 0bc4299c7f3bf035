package inventory_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/inventory"
	"github.com/bulwark-sec/bulwark/internal/inventory/analyzers"
	"github.com/bulwark-sec/bulwark/internal/inventory/invtest"
)

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTree scans a source tree: lockfiles count, and a package both
// installed in node_modules and locked appears once, with both files.
func TestTree(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"web/package-lock.json":                `{"lockfileVersion":3,"packages":{"":{"name":"web"},"node_modules/lodash":{"version":"4.17.21"},"node_modules/jest":{"version":"29.7.0","dev":true}}}`,
		"web/node_modules/lodash/package.json": `{"name":"lodash","version":"4.17.21","license":"MIT"}`,
		"api/requirements.txt":                 "flask==3.0.0\n",
		"api/poetry.lock":                      "[[package]]\nname = \"flask\"\nversion = \"3.0.0\"\n",
		"svc/Cargo.lock":                       "[[package]]\nname = \"serde\"\nversion = \"1.0.197\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
		"svc/go.sum":                           "ignored\n",
		"php/composer.lock":                    `{"packages":[{"name":"monolog/monolog","version":"3.5.0"}]}`,
		"rb/Gemfile.lock":                      "GEM\n  specs:\n    rack (3.0.8)\n",
		"java/pom.xml":                         "<project><dependencies><dependency><groupId>junit</groupId><artifactId>junit</artifactId><version>4.13.2</version></dependency></dependencies></project>",
		"net/packages.lock.json":               `{"dependencies":{"net8.0":{"Serilog":{"type":"Direct","resolved":"3.1.1"}}}}`,
	})
	img, err := image.Open(context.Background(), dir, image.Options{Trees: true})
	if err != nil {
		t.Fatal(err)
	}
	if img.Kind != image.KindDir || img.Name != dir {
		t.Fatalf("image.Open(%s, Trees) = %s %q, want a source tree under its own name", dir, img.Kind, img.Name)
	}
	s, err := inventory.Scan(context.Background(), img, inventory.Options{Analyzers: analyzers.All(), Mode: inventory.ModeTree})
	if err != nil {
		t.Fatal(err)
	}
	if s.Target.Kind != "dir" {
		t.Errorf("target kind %q", s.Target.Kind)
	}
	want := map[string]int{"npm/lodash": 2, "npm/jest": 1, "PyPI/flask": 2, "crates.io/serde": 1, "Packagist/monolog/monolog": 1,
		"RubyGems/rack": 1, "Maven/junit:junit": 1, "NuGet/Serilog": 1}
	if len(s.Packages) != len(want) {
		t.Errorf("got %d packages, want %d: %+v", len(s.Packages), len(want), s.Packages)
	}
	for _, p := range s.Packages {
		n, ok := want[p.Ecosystem+"/"+p.Name]
		if !ok || len(p.Locations) != n {
			t.Errorf("%s/%s: %d locations %+v, want %d", p.Ecosystem, p.Name, len(p.Locations), p.Locations, n)
		}
		if p.Locations[0].Layer != nil {
			t.Errorf("%s: a source tree has no layers: %+v", p.Name, p.Locations[0].Layer)
		}
		if p.Name == "lodash" && (p.Dev || len(p.Licenses) != 1) {
			t.Errorf("lodash: %+v", p)
		}
		if p.Name == "jest" && !p.Dev {
			t.Errorf("jest is a dev dependency: %+v", p)
		}
	}
}

// TestDistroless scans an image laid out as distroless ones are: no
// status file, one file per package in status.d with its md5sums, whose
// files are not reported again as Python packages; Ubuntu's dpkg packages
// are in the Ubuntu ecosystem.
func TestDistroless(t *testing.T) {
	img := invtest.Archive(t, invtest.Layer(t,
		invtest.File{Path: "etc/os-release", Content: "ID=ubuntu\nVERSION_ID=\"22.04\"\nVERSION_CODENAME=jammy\n"},
		invtest.File{Path: "var/lib/dpkg/status.d/libc6", Content: "Package: libc6\nVersion: 2.35-0ubuntu3.6\nArchitecture: amd64\nSource: glibc\n"},
		invtest.File{Path: "var/lib/dpkg/status.d/python3-six", Content: "Package: python3-six\nVersion: 1.16.0-3\nArchitecture: all\nSource: six\n"},
		invtest.File{Path: "var/lib/dpkg/status.d/python3-six.md5sums", Content: "d41d8cd98f00b204e9800998ecf8427e  usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO\n"},
		invtest.File{Path: "usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO", Content: "Name: six\nVersion: 1.16.0\n"},
	))
	s := scan(t, img, nil)
	if len(s.Packages) != 2 {
		t.Fatalf("packages: %+v", s.Packages)
	}
	for _, p := range s.Packages {
		if p.Ecosystem != inventory.Ubuntu || p.Kind != inventory.KindOS {
			t.Errorf("%s: ecosystem %s kind %s", p.Name, p.Ecosystem, p.Kind)
		}
	}
	if p := find(s, inventory.Ubuntu, "libc6"); p == nil || p.PURL != "pkg:deb/ubuntu/libc6@2.35-0ubuntu3.6?arch=amd64&distro=ubuntu-22.04" || p.SourceName != "glibc" {
		t.Errorf("libc6 = %+v", p)
	}
}
