package sbom

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/santhosh-tekuri/jsonschema/v6"
	spdxjson "github.com/spdx/tools-golang/json"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/inventory"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func testSBOM() *inventory.SBOM {
	layer := &finding.LayerRef{Index: 0, Digest: "sha256:1111111111111111111111111111111111111111111111111111111111111111", DiffID: "sha256:2222222222222222222222222222222222222222222222222222222222222222"}
	os := &inventory.OS{ID: "debian", Name: "Debian GNU/Linux 12 (bookworm)", Version: "12", Codename: "bookworm"}
	pkgs := []inventory.Package{
		{Name: "libssl3", Version: "3.0.11-1~deb12u2", Ecosystem: "Debian", Kind: "os", Arch: "amd64", SourceName: "openssl", SourceVersion: "3.0.11-1~deb12u2",
			Locations: []inventory.Location{{Path: "var/lib/dpkg/status", Layer: layer}}},
		{Name: "github.com/spf13/cobra", Version: "v1.8.0", Ecosystem: "Go", Kind: "lang",
			Locations: []inventory.Location{{Path: "usr/bin/app", Layer: layer}, {Path: "usr/bin/other", Layer: layer}}},
		{Name: "@babel/core", Version: "7.23.0", Ecosystem: "npm", Kind: "lang", Licenses: []string{"MIT"},
			Locations: []inventory.Location{{Path: "app/node_modules/@babel/core/package.json", Layer: layer}}},
		{Name: "PyYAML", Version: "6.0", Ecosystem: "PyPI", Kind: "lang", Licenses: []string{"MIT License", "BSD-3-Clause"},
			Locations: []inventory.Location{{Path: "usr/lib/python3/site-packages/PyYAML-6.0.dist-info/METADATA", Layer: layer}}},
		{Name: "org.slf4j:slf4j-api", Version: "2.0.9", Ecosystem: "Maven", Kind: "lang", Dev: true,
			Locations: []inventory.Location{{Path: "app/app.jar", Layer: layer}}},
	}
	for i := range pkgs {
		pkgs[i].PURL = inventory.PURL(&pkgs[i], os)
	}
	return &inventory.SBOM{Tool: "bulwark", ToolVersion: "1.2.3", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Target:   finding.Target{Name: "registry.example/app:1", Kind: "image", Digest: "sha256:3333333333333333333333333333333333333333333333333333333333333333", OS: os},
		Packages: pkgs, Warnings: []string{"app/broken.jar: skipped by the java-archive analyzer: not a readable zip archive"}}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n%s", name, got)
	}
}

func TestGolden(t *testing.T) {
	for _, f := range []struct {
		write func(io.Writer, *inventory.SBOM) error
		file  string
	}{{Table, "table.golden"}, {CycloneDX, "cyclonedx.golden.json"}, {SPDX, "spdx.golden.json"}} {
		var buf bytes.Buffer
		if err := f.write(&buf, testSBOM()); err != nil {
			t.Fatal(err)
		}
		golden(t, f.file, buf.Bytes())
	}
}

func compile(t *testing.T, files map[string]string, main string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	for url, path := range files {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if err := c.AddResource(url, doc); err != nil {
			t.Fatal(err)
		}
	}
	s, err := c.Compile(main)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func moduleDir(t *testing.T, mod string) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", mod).Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("module %s not found: %v", mod, err)
	}
	return strings.TrimSpace(string(out))
}

func validate(t *testing.T, s *jsonschema.Schema, b []byte) {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(doc); err != nil {
		t.Errorf("not valid against the schema: %v", err)
	}
}

// TestCycloneDXSchema validates the output against the CycloneDX 1.6
// schema shipped in the cyclonedx-go module, and reads it back.
func TestCycloneDXSchema(t *testing.T) {
	dir := filepath.Join(moduleDir(t, "github.com/CycloneDX/cyclonedx-go"), "schema")
	jsf := filepath.Join(dir, "jsf-0.82.schema.json")
	if _, err := os.Stat(jsf); err != nil {
		jsf = filepath.Join(dir, "jsf-0.82.schemax.json")
	}
	s := compile(t, map[string]string{
		"http://cyclonedx.org/schema/bom-1.6.schema.json":  filepath.Join(dir, "bom-1.6.schema.json"),
		"http://cyclonedx.org/schema/spdx.schema.json":     filepath.Join(dir, "spdx.schema.json"),
		"http://cyclonedx.org/schema/jsf-0.82.schema.json": jsf,
	}, "http://cyclonedx.org/schema/bom-1.6.schema.json")
	for _, sb := range []*inventory.SBOM{testSBOM(), {Tool: "bulwark", Target: finding.Target{Name: "empty", Kind: "dir"}}} {
		var buf bytes.Buffer
		if err := CycloneDX(&buf, sb); err != nil {
			t.Fatal(err)
		}
		validate(t, s, buf.Bytes())
		var bom cdx.BOM
		if err := cdx.NewBOMDecoder(bytes.NewReader(buf.Bytes()), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
			t.Fatal(err)
		}
		n := 0
		if bom.Components != nil {
			n = len(*bom.Components)
		}
		if n != len(sb.Packages)+btoi(sb.Target.OS != nil) {
			t.Errorf("read back %d components", n)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestSPDXSchema validates the output against the SPDX 2.3 JSON schema
// (from the syft module, which the sbom benchmark installs; fetched
// through the Go module proxy when missing) and reads it back.
func TestSPDXSchema(t *testing.T) {
	const syft = "github.com/anchore/syft@v1.57.0"
	out, err := exec.Command("go", "mod", "download", "-json", syft).Output()
	if err != nil {
		if testutil.Integration() {
			t.Fatalf("go mod download %s: %v", syft, err)
		}
		t.Skipf("the SPDX schema comes from %s, which could not be downloaded: %v", syft, err)
	}
	var dir string
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), `"Dir": "`); ok {
			dir = strings.TrimSuffix(v, `",`)
		}
	}
	s := compile(t, map[string]string{"http://spdx.org/rdf/terms/2.3": filepath.Join(dir, "schema", "spdx-json", "spdx-schema-2.3.json")}, "http://spdx.org/rdf/terms/2.3")
	var buf bytes.Buffer
	if err := SPDX(&buf, testSBOM()); err != nil {
		t.Fatal(err)
	}
	validate(t, s, buf.Bytes())
	doc, err := spdxjson.Read(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Packages) != len(testSBOM().Packages)+2 {
		t.Errorf("read back %d packages", len(doc.Packages))
	}
}

// TestJSONStreamed: JSON, which encodes one package at a time, writes what
// encoding/json writes for the whole SBOM at once.
func TestJSONStreamed(t *testing.T) {
	full := testSBOM()
	full.Warnings = []string{"w <&>"}
	for _, sb := range []*inventory.SBOM{full, {Tool: "bulwark", Target: finding.Target{Name: `"packages": []`, Kind: "dir"}, Warnings: []string{"x"}}} {
		var got, want bytes.Buffer
		if err := JSON(&got, sb); err != nil {
			t.Fatal(err)
		}
		out := *sb
		if out.Packages == nil {
			out.Packages = []inventory.Package{}
		}
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(&out); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("streamed:\n%s\nencoding/json:\n%s", &got, &want)
		}
	}
}

// TestSPDXFastPaths checks that the loops that spare most names and
// licences the regular expressions give what the expressions give.
func TestSPDXFastPaths(t *testing.T) {
	for _, s := range []string{"", "lodash", "@babel/core", "a b", "MIT", "GPL-2.0+", "Apache-2.0 OR MIT", "(MIT)",
		"BSD-3-Clause AND (MIT OR X11)", "é", "a..b", "x_y", "-", "+", "MIT,Apache"} {
		if got, want := spdxIDPart(s), spdxIDChars.ReplaceAllString(s, "-"); got != want {
			t.Errorf("spdxIDPart(%q) = %q, the expression gives %q", s, got, want)
		}
		if licenseID(s) && !spdxLicense.MatchString(s) {
			t.Errorf("licenseID(%q) accepts what spdxLicense refuses", s)
		}
	}
}
