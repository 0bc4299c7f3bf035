package inventory_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/inventory"
	"github.com/bulwark-sec/bulwark/internal/inventory/invtest"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// TestReferenceImage scans a real Debian root filesystem (debootstrap,
// with extra packages), Go programs built from pinned module versions and
// an npm tree from the registry, and compares every ecosystem with what
// the ecosystem's own tool says: dpkg-query, go version -m, npm's hidden
// lockfile.
func TestReferenceImage(t *testing.T) {
	if !testutil.Integration() {
		t.Skip("builds a Debian root filesystem with debootstrap; set BULWARK_INTEGRATION=1")
	}
	for _, tool := range []string{"debootstrap", "dpkg-query", "go", "npm"} {
		testutil.RequireTool(t, tool)
	}
	ctx := context.Background()
	base, app, dirs, err := invtest.ReferenceImages(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cache := &inventory.Cache{Dir: t.TempDir()}
	s := scan(t, app, cache)

	if os := s.Target.OS; os == nil || os.ID != "debian" || os.Version != "12" || os.Codename != "bookworm" {
		t.Errorf("OS = %+v", s.Target.OS)
	}
	got := map[string][]string{}
	for _, p := range s.Packages {
		line := p.Name + " " + p.Version
		if p.Ecosystem == inventory.Debian {
			line += " " + p.SourceName + " " + p.SourceVersion
		}
		got[p.Ecosystem] = append(got[p.Ecosystem], line)
		want := map[string]int{inventory.Debian: 0, inventory.Go: 1, inventory.NPM: 2, inventory.Maven: 3, inventory.PyPI: 3}[p.Ecosystem]
		if l := p.Locations[0].Layer; l == nil || l.Index != want {
			t.Errorf("%s %s: layer %+v, want %d", p.Ecosystem, p.Name, l, want)
		}
	}
	compare(t, "Debian", got[inventory.Debian], dpkgQuery(t, dirs["rootfs"]))
	compare(t, "Go", got[inventory.Go], goVersionM(t, dirs["gobin"]))
	compare(t, "npm", got[inventory.NPM], npmLock(t, filepath.Join(dirs["npm"], "node_modules", ".package-lock.json")))
	// Debian's jars under /usr/share/java belong to dpkg; their copies in
	// app/lib are Maven packages (pom.properties inside them).
	lang3 := find(s, inventory.Maven, "org.apache.commons:commons-lang3")
	if lang3 == nil || lang3.Version != "3.12.0" || len(lang3.Locations) != 1 || !strings.HasPrefix(lang3.Locations[0].Path, "app/lib/") {
		t.Errorf("commons-lang3 = %+v", lang3)
	}
	// PyYAML in /usr/lib/python3/dist-packages is Debian's python3-yaml
	// (in its .list); the copy of its metadata in /usr/local is not.
	yaml := find(s, inventory.PyPI, "PyYAML")
	if yaml == nil || len(yaml.Locations) != 1 || !strings.HasPrefix(yaml.Locations[0].Path, "usr/local/lib/python3.11/site-packages/") {
		t.Errorf("PyYAML = %+v, want only the copy outside dpkg's file lists", yaml)
	}

	// The same image again comes from the cache; the base image too, as
	// its only layer is the first of the app image.
	again := scan(t, app, cache)
	if !reflect.DeepEqual(names(again), names(s)) {
		t.Error("the cached scan differs from the first")
	}
	if b := scan(t, base, cache); len(b.Packages) != len(got[inventory.Debian]) {
		t.Errorf("base image from the cache: %d packages, want %d", len(b.Packages), len(got[inventory.Debian]))
	}
}

func names(s *inventory.SBOM) []string {
	var out []string
	for _, p := range s.Packages {
		out = append(out, p.PURL)
	}
	return out
}

func compare(t *testing.T, eco string, got, want []string) {
	t.Helper()
	sort.Strings(got)
	sort.Strings(want)
	if len(want) == 0 {
		t.Errorf("%s: the reference tool listed nothing", eco)
	}
	g, w := map[string]bool{}, map[string]bool{}
	for _, x := range got {
		g[x] = true
	}
	for _, x := range want {
		w[x] = true
		if !g[x] {
			t.Errorf("%s: missing %s", eco, x)
		}
	}
	for _, x := range got {
		if !w[x] {
			t.Errorf("%s: extra %s", eco, x)
		}
	}
}

func dpkgQuery(t *testing.T, rootfs string) []string {
	out, err := exec.Command("dpkg-query", "--admindir="+filepath.Join(rootfs, "var/lib/dpkg"), "-W",
		"-f=${db:Status-Status}\t${Package} ${Version} ${source:Package} ${source:Version}\n").Output()
	if err != nil {
		t.Fatal(err)
	}
	var pkgs []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if st, p, ok := strings.Cut(line, "\t"); ok && st == "installed" {
			pkgs = append(pkgs, p)
		}
	}
	return pkgs
}

// goVersionM lists the modules of every program in dir as go version -m
// does: the main module, each dependency (or its replacement) and stdlib.
func goVersionM(t *testing.T, dir string) []string {
	out, err := exec.Command("go", "version", "-m", dir).Output()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var mods []string
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			mods = append(mods, s)
		}
	}
	var last string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(strings.TrimSpace(line), "\t")
		switch {
		case len(f) == 1 && strings.HasSuffix(f[0], "") && strings.Contains(line, ": go"):
			_, v, _ := strings.Cut(line, ": go")
			add("stdlib v" + strings.Fields(v)[0])
		case len(f) >= 3 && (f[0] == "mod" || f[0] == "dep"):
			last = f[1] + " " + f[2]
			add(last)
		case len(f) >= 3 && f[0] == "=>":
			delete(seen, last)
			for i, m := range mods {
				if m == last {
					mods = append(mods[:i], mods[i+1:]...)
					break
				}
			}
			add(f[1] + " " + f[2])
		}
	}
	return mods
}

func npmLock(t *testing.T, path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
			Name    string `json:"name"`
			Link    bool   `json:"link"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(b, &lock); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var pkgs []string
	for k, p := range lock.Packages {
		i := strings.LastIndex(k, "node_modules/")
		if i < 0 || p.Link {
			continue
		}
		n := k[i+len("node_modules/"):]
		if p.Name != "" {
			n = p.Name
		}
		if s := n + " " + p.Version; !seen[s] {
			seen[s] = true
			pkgs = append(pkgs, s)
		}
	}
	return pkgs
}
