package dpkg

import (
	"context"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/inventory"
)

const status = `Package: base-files
Status: install ok installed
Priority: required
Essential: yes
Architecture: amd64
Version: 12.4+deb12u5
Description: Debian base system miscellaneous files
 This package contains the basic filesystem hierarchy.
 .
 More text.

Package: gone
Status: purge ok not-installed
Version: 1.0

Package: libssl3
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Source: openssl (3.0.11-1~deb12u2)
Version: 3.0.11-1~deb12u2

Package: libbroken
this line has no colon
Version: 1

Package: noversion
Status: install ok installed

Package: bsdutils
Status: install ok installed
Architecture: amd64
Source: util-linux (2.38.1-5)
Version: 1:2.38.1-5+b1

Package: linux-image-6.1.0-13-amd64
Status: install ok installed
Architecture: amd64
Source: linux-signed-amd64 (6.1.55+1)
Version: 6.1.55-1
`

func TestParseStatus(t *testing.T) {
	pkgs, warnings, err := ParseStatus(strings.NewReader(status), "var/lib/dpkg/status")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pkgs {
		got = append(got, p.Name+"="+p.Version+" src="+p.SourceName+"="+p.SourceVersion+" "+p.Arch)
	}
	want := []string{
		"base-files=12.4+deb12u5 src=base-files=12.4+deb12u5 amd64",
		"libssl3=3.0.11-1~deb12u2 src=openssl=3.0.11-1~deb12u2 amd64",
		"bsdutils=1:2.38.1-5+b1 src=util-linux=2.38.1-5 amd64",
		// The signed kernel is matched as the source the tracker lists.
		"linux-image-6.1.0-13-amd64=6.1.55-1 src=linux=6.1.55-1 amd64",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(warnings) != 2 || !strings.Contains(warnings[0], "libbroken (paragraph at line 23)") || !strings.Contains(warnings[1], "noversion") {
		t.Errorf("warnings = %q, want libbroken and noversion", warnings)
	}
	for _, w := range warnings {
		if !strings.HasPrefix(w, "var/lib/dpkg/status: ") {
			t.Errorf("warning %q does not name the file", w)
		}
	}
}

// A distroless status.d file has no Status field: the package is installed.
func TestStatusD(t *testing.T) {
	a := Analyzer{}
	for p, want := range map[string]bool{
		"var/lib/dpkg/status":                 true,
		"var/lib/dpkg/status.d/libc6":         true,
		"var/lib/dpkg/status.d/libc6.md5sums": true,
		"var/lib/dpkg/status.d/sub/x":         false,
		"var/lib/dpkg/info/libc6:amd64.list":  true,
		"var/lib/dpkg/info/libc6.md5sums":     false,
		"var/lib/dpkg/status-old":             false,
	} {
		if got := a.Want(p, 10, 0o644); got != want {
			t.Errorf("Want(%s) = %v", p, got)
		}
	}
	res, err := a.Analyze(context.Background(), &inventory.File{Path: "var/lib/dpkg/status.d/tzdata",
		R: strings.NewReader("Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n")})
	if err != nil || len(res.Packages) != 1 || res.Packages[0].Name != "tzdata" {
		t.Fatalf("status.d: %+v %v", res, err)
	}
	res, err = a.Analyze(context.Background(), &inventory.File{Path: "var/lib/dpkg/status.d/python3.md5sums",
		R: strings.NewReader("0123  usr/lib/python3/dist-packages/yaml/__init__.py\nabcd  usr/share/doc/x/copyright\n")})
	if err != nil || len(res.Owned) != 1 || res.Owned[0] != "usr/lib/python3/dist-packages/yaml/__init__.py" {
		t.Fatalf("md5sums: %+v %v", res, err)
	}
	res, err = a.Analyze(context.Background(), &inventory.File{Path: "var/lib/dpkg/info/python3-yaml.list",
		R: strings.NewReader("/.\n/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA\n/usr/share/man/x.1.gz\n")})
	if err != nil || len(res.Owned) != 1 || res.Owned[0] != "usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA" {
		t.Fatalf("list: %+v %v", res, err)
	}
}

func FuzzParseStatus(f *testing.F) {
	f.Add(status)
	f.Add("Package: a\nVersion: 1\nSource: b (\n")
	f.Add(" continuation\n\n\nPackage: x\n")
	f.Fuzz(func(t *testing.T, s string) {
		pkgs, _, _ := ParseStatus(strings.NewReader(s), "status")
		for _, p := range pkgs {
			if p.Name == "" || p.Version == "" {
				t.Fatalf("package without name or version: %+v", p)
			}
		}
	})
}

func TestCopyright(t *testing.T) {
	dep5 := "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: zlib\n\nFiles: *\nCopyright: 1995-2013 Jean-loup Gailly and Mark Adler\nLicense: Zlib\n\nFiles: debian/*\nLicense: Zlib\n\nLicense: Zlib\n This software is provided 'as-is'.\n"
	res, err := Analyzer{}.Analyze(context.Background(), &inventory.File{Path: "usr/share/doc/zlib1g/copyright", R: strings.NewReader(dep5)})
	if err != nil || res == nil || strings.Join(res.Licenses["zlib1g"], ",") != "Zlib" {
		t.Errorf("DEP-5: %+v %v", res, err)
	}
	res, err = Analyzer{}.Analyze(context.Background(), &inventory.File{Path: "usr/share/doc/x/copyright", R: strings.NewReader("This is free software.\nLicense: whatever\n")})
	if err != nil || res != nil {
		t.Errorf("free-form: %+v %v", res, err)
	}
	if (Analyzer{}).Want("usr/share/doc/x/y/copyright", 10, 0o644) || !(Analyzer{}).Want("usr/share/doc/x/copyright", 10, 0o644) {
		t.Error("Want for copyright files")
	}
}

func FuzzCopyright(f *testing.F) {
	f.Add("Format: x\nLicense: MIT\n")
	f.Fuzz(func(t *testing.T, s string) { CopyrightLicenses(strings.NewReader(s)) }) //nolint:errcheck // must not panic
}
