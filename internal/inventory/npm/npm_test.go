package npm

import (
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/inventory/invtest"
)

func TestWantInstalled(t *testing.T) {
	for p, want := range map[string]bool{
		"app/node_modules/lodash/package.json":                         true,
		"node_modules/@babel/core/package.json":                        true,
		"app/node_modules/a/node_modules/b/package.json":               true,
		"app/node_modules/lodash/fp/package.json":                      false,
		"app/package.json":                                             false,
		"app/node_modules/.bin/package.json":                           false,
		"app/xnode_modules/lodash/package.json":                        false,
		"usr/lib/node_modules/npm/package.json":                        true,
		"usr/lib/node_modules/npm/node_modules/@npmcli/x/package.json": true,
	} {
		if got := (Installed{}).Want(p, 100, 0o644); got != want {
			t.Errorf("Want(%s) = %v", p, got)
		}
	}
}

func TestPackageJSON(t *testing.T) {
	p, err := ParsePackageJSON([]byte(`{"name":"x","version":"1.0.0","licenses":[{"type":"MIT"},{"type":"Apache-2.0"}]}`))
	if err != nil || p == nil || strings.Join(p.Licenses, ",") != "MIT,Apache-2.0" {
		t.Errorf("%+v %v", p, err)
	}
	p, err = ParsePackageJSON([]byte(`{"name":"y","version":"2.0.0","license":{"type":"ISC"}}`))
	if err != nil || p.Licenses[0] != "ISC" {
		t.Errorf("%+v %v", p, err)
	}
	if p, err := ParsePackageJSON([]byte(`{"name":"noversion"}`)); p != nil || err != nil {
		t.Errorf("no version: %+v %v", p, err)
	}
	if _, err := ParsePackageJSON([]byte(`{"name":`)); err == nil {
		t.Error("truncated JSON accepted")
	}
}

const lockV1 = `{"name":"app","version":"1.0.0","lockfileVersion":1,"dependencies":{
 "a":{"version":"1.0.0","dependencies":{"b":{"version":"2.0.0","dev":true}}},
 "local":{"version":"file:../local"}}}`

const lockV3 = `{"name":"app","lockfileVersion":3,"packages":{
 "":{"name":"app","version":"1.0.0"},
 "node_modules/a":{"version":"1.0.0","license":"MIT"},
 "node_modules/a/node_modules/b":{"version":"2.0.0","dev":true},
 "node_modules/@s/c":{"version":"3.0.0"},
 "node_modules/ws":{"resolved":"packages/ws","link":true},
 "packages/ws":{"name":"ws","version":"0.0.1"}}}`

func TestPackageLock(t *testing.T) {
	for name, tc := range map[string]struct{ in, want string }{
		"v1": {lockV1, "a@1.0.0, b@2.0.0 dev"},
		"v3": {lockV3, "@s/c@3.0.0, a@1.0.0, b@2.0.0 dev"},
	} {
		pkgs, err := ParsePackageLock([]byte(tc.in))
		if err != nil {
			t.Fatal(err)
		}
		if got := invtest.List(pkgs); got != tc.want {
			t.Errorf("%s: got %s, want %s", name, got, tc.want)
		}
	}
}

const yarnV1 = `# yarn lockfile v1


"@babel/code-frame@^7.0.0", "@babel/code-frame@^7.10.4":
  version "7.12.13"
  resolved "https://registry.yarnpkg.com/@babel/code-frame/-/code-frame-7.12.13.tgz"

lodash@^4.17.20:
  version "4.17.21"

broken@^1:
  version "1.0 0"
`

const yarnBerry = `__metadata:
  version: 6
  cacheKey: 8

"@types/node@npm:*, @types/node@npm:^20.0.0":
  version: 20.11.5
  resolution: "@types/node@npm:20.11.5"

"app@workspace:.":
  version: 0.0.0-use.local
  resolution: "app@workspace:."
`

func TestYarnLock(t *testing.T) {
	pkgs, warnings := ParseYarnLock([]byte(yarnV1), "yarn.lock")
	if got := invtest.List(pkgs); got != "@babel/code-frame@7.12.13, lodash@4.17.21" {
		t.Errorf("v1: %s", got)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "yarn.lock: entry at line 11") {
		t.Errorf("warnings = %q", warnings)
	}
	pkgs, _ = ParseYarnLock([]byte(yarnBerry), "yarn.lock")
	if got := invtest.List(pkgs); got != "@types/node@20.11.5" {
		t.Errorf("berry: %s", got)
	}
}

func TestPnpmLock(t *testing.T) {
	for name, tc := range map[string]struct{ in, want string }{
		"v5": {"lockfileVersion: 5.4\npackages:\n  /lodash/4.17.21:\n    dev: false\n  /@types/react/18.0.0_react@18.2.0:\n    dev: true\n", "@types/react@18.0.0 dev, lodash@4.17.21"},
		"v6": {"lockfileVersion: '6.0'\npackages:\n  /lodash@4.17.21:\n    dev: false\n  /@babel/core@7.23.0(supports-color@8.1.1):\n    dev: true\n", "@babel/core@7.23.0 dev, lodash@4.17.21"},
		"v9": {"lockfileVersion: '9.0'\npackages:\n  lodash@4.17.21:\n    resolution: {integrity: sha512-x}\n  '@babel/core@7.23.0':\n    resolution: {integrity: sha512-y}\n", "@babel/core@7.23.0, lodash@4.17.21"},
	} {
		pkgs, err := ParsePnpmLock([]byte(tc.in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := invtest.List(pkgs); got != tc.want {
			t.Errorf("%s: got %s, want %s", name, got, tc.want)
		}
	}
}

func FuzzPackageJSON(f *testing.F) {
	f.Add([]byte(`{"name":"x","version":"1","license":{"type":"MIT"}}`))
	f.Fuzz(func(t *testing.T, b []byte) { ParsePackageJSON(b) }) //nolint:errcheck // must not panic
}

func FuzzPackageLock(f *testing.F) {
	f.Add([]byte(lockV1))
	f.Add([]byte(lockV3))
	f.Fuzz(func(t *testing.T, b []byte) { ParsePackageLock(b) }) //nolint:errcheck
}

func FuzzYarnLock(f *testing.F) {
	f.Add([]byte(yarnV1))
	f.Add([]byte(yarnBerry))
	f.Add([]byte("@:\n version x\n\"\":\n"))
	f.Fuzz(func(t *testing.T, b []byte) { ParseYarnLock(b, "yarn.lock") })
}

func FuzzPnpmLock(f *testing.F) {
	f.Add([]byte("packages:\n  /a/1.0.0:\n    dev: true\n  //1:\n  /@s/n@1(x):\n"))
	f.Fuzz(func(t *testing.T, b []byte) { ParsePnpmLock(b) }) //nolint:errcheck
}
