package apk

import (
	"strings"
	"testing"
)

const installed = `C:Q1Z0kQ3uI8ux0ZrVn6cF2D4zUjDZA=
P:musl
V:1.2.4-r2
A:x86_64
S:383152
I:622592
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Timo Teräs <timo.teras@iki.fi>
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755

P:py3-yaml
V:6.0.1-r1
A:x86_64
L:MIT
o:py-yaml
F:usr/lib/python3.11/site-packages/PyYAML-6.0.1.dist-info
R:METADATA
R:RECORD

P:broken
this is not a field

V:1.0
`

func TestParse(t *testing.T) {
	pkgs, owned, warnings, err := Parse(strings.NewReader(installed), "lib/apk/db/installed")
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 2 {
		t.Fatalf("got %d packages: %+v", len(pkgs), pkgs)
	}
	m := pkgs[0]
	if m.Name != "musl" || m.Version != "1.2.4-r2" || m.Arch != "x86_64" || m.SourceName != "musl" || m.Licenses[0] != "MIT" || m.Ecosystem != "Alpine" {
		t.Errorf("musl = %+v", m)
	}
	if pkgs[1].SourceName != "py-yaml" {
		t.Errorf("origin = %q, want py-yaml", pkgs[1].SourceName)
	}
	if len(owned) != 2 || owned[0] != "usr/lib/python3.11/site-packages/PyYAML-6.0.1.dist-info/METADATA" {
		t.Errorf("owned = %q", owned)
	}
	if len(warnings) != 2 {
		t.Errorf("warnings = %q, want the broken paragraph and the nameless one", warnings)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(installed)
	f.Add("P:\nV:\n\nR:x\n")
	f.Fuzz(func(t *testing.T, s string) {
		pkgs, _, _, _ := Parse(strings.NewReader(s), "installed")
		for _, p := range pkgs {
			if p.Name == "" || p.Version == "" {
				t.Fatalf("package without name or version: %+v", p)
			}
		}
	})
}
