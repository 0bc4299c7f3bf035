package python

import (
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/inventory/invtest"
)

func TestWant(t *testing.T) {
	for p, want := range map[string]bool{
		"usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA":         true,
		"usr/local/lib/python3.11/site-packages/six-1.16.0.egg-info/PKG-INFO": true,
		"usr/lib/python3/dist-packages/distro_info-1.5.egg-info":              true,
		"usr/lib/python3/dist-packages/x.egg/EGG-INFO/PKG-INFO":               true,
		"usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/RECORD":           false,
		"app/METADATA": false,
	} {
		if got := (Installed{}).Want(p, 100, 0o644); got != want {
			t.Errorf("Want(%s) = %v", p, got)
		}
	}
}

func TestMetadata(t *testing.T) {
	p, err := ParseMetadata([]byte("Metadata-Version: 2.1\r\nName: Flask\r\nVersion: 3.0.0\r\nClassifier: License :: OSI Approved :: BSD License\r\n\r\nName: not-this\r\n"))
	if err != nil || p.Name != "Flask" || p.Version != "3.0.0" || strings.Join(p.Licenses, ",") != "BSD License" {
		t.Errorf("%+v %v", p, err)
	}
	if _, err := ParseMetadata([]byte("Version: 1\n")); err == nil {
		t.Error("metadata without a name accepted")
	}
}

func TestRequirements(t *testing.T) {
	in := "# comment\nflask==3.0.0 --hash=sha256:abc \\\n    --hash=sha256:def\nrequests[socks]==2.31.0 ; python_version >= \"3.8\"\nnumpy>=1.0\n-r other.txt\nDjango===4.2.1\nbad name==1\n"
	pkgs, warnings := ParseRequirements([]byte(in), "requirements.txt")
	if got := invtest.List(pkgs); got != "Django@4.2.1, flask@3.0.0, requests@2.31.0" {
		t.Errorf("got %s", got)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "requirements.txt: line") {
		t.Errorf("warnings = %q", warnings)
	}
}

func TestTOMLLocks(t *testing.T) {
	poetry := "[[package]]\nname = \"requests\"\nversion = \"2.31.0\"\ncategory = \"main\"\n\n[[package]]\nname = \"pytest\"\nversion = \"8.0.0\"\ncategory = \"dev\"\n\n[metadata]\nlock-version = \"2.0\"\n"
	pkgs, err := ParseTOMLLock([]byte(poetry))
	if err != nil || invtest.List(pkgs) != "pytest@8.0.0 dev, requests@2.31.0" {
		t.Errorf("poetry: %s %v", invtest.List(pkgs), err)
	}
	uv := "version = 1\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\nsource = { editable = \".\" }\n\n[[package]]\nname = \"idna\"\nversion = \"3.6\"\nsource = { registry = \"https://pypi.org/simple\" }\n"
	pkgs, err = ParseTOMLLock([]byte(uv))
	if err != nil || invtest.List(pkgs) != "idna@3.6" {
		t.Errorf("uv: %s %v", invtest.List(pkgs), err)
	}
	if _, err := ParseTOMLLock([]byte("[[package]\nname=")); err == nil {
		t.Error("broken TOML accepted")
	}
}

func TestPipfileLock(t *testing.T) {
	pkgs, err := ParsePipfileLock([]byte(`{"_meta":{},"default":{"idna":{"version":"==3.6"}},"develop":{"pytest":{"version":"==8.0.0"}}}`))
	if err != nil || invtest.List(pkgs) != "idna@3.6, pytest@8.0.0 dev" {
		t.Errorf("%s %v", invtest.List(pkgs), err)
	}
}

func FuzzMetadata(f *testing.F) {
	f.Add([]byte("Name: a\nVersion: 1\nLicense: MIT\n\nbody"))
	f.Fuzz(func(t *testing.T, b []byte) { ParseMetadata(b) }) //nolint:errcheck // must not panic
}

func FuzzRequirements(f *testing.F) {
	f.Add([]byte("a==1\nb[x]==2;python_version<'3'\n"))
	f.Fuzz(func(t *testing.T, b []byte) { ParseRequirements(b, "r.txt") })
}

func FuzzTOMLLock(f *testing.F) {
	f.Add([]byte("[[package]]\nname = \"a\"\nversion = \"1\"\n"))
	f.Fuzz(func(t *testing.T, b []byte) { ParseTOMLLock(b) }) //nolint:errcheck
}

func FuzzPipfileLock(f *testing.F) {
	f.Add([]byte(`{"default":{"a":{"version":"==1"}}}`))
	f.Fuzz(func(t *testing.T, b []byte) { ParsePipfileLock(b) }) //nolint:errcheck
}
