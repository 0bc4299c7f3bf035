package cli

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// TestPipelineFileFlag: the pipeline file is --file; -f still works there,
// with a deprecation note on stderr, since -f means --format elsewhere.
func TestPipelineFileFlag(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "ci.yaml")
	code, _, stderr := runCLI(t, "pipeline", "validate", "--file", missing)
	if code != 2 || !strings.Contains(stderr, missing) || strings.Contains(stderr, "note:") {
		t.Errorf("--file: exit %d: %s", code, stderr)
	}
	code, _, stderr = runCLI(t, "pipeline", "validate", "-f", missing)
	if code != 2 || !strings.Contains(stderr, missing) || !strings.Contains(stderr, "note: -f: deprecated: use --file") {
		t.Errorf("-f: exit %d, want the file read and a deprecation note: %s", code, stderr)
	}
}

// TestJUnitFromGates: lint, scan and secrets write JUnit XML: one suite per
// gate, a failure for each finding that fails it, none for the rest.
func TestJUnitFromGates(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("DOCKER_CONTENT_TRUST", "1")
	withAdd := archiveWith(t, testutil.Step{CreatedBy: "ADD app.tar /app", Layer: testutil.Layer(t, testutil.File{Path: "app/x", Content: "x"})})
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "deploy.sh"), "export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY7q\nexport AWS_ACCESS_KEY_ID=AKIAQYLPMN5HHHFPZAM2\n")
	type suites struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	cases := []struct {
		args     []string
		code     int
		failing  string // a failure message must name this
		suiteFor string
	}{
		{[]string{"lint", "--input", withAdd, "-f", "junit"}, 1, "CIS-DI-0009", "lint"},
		{[]string{"lint", "--input", withAdd, "-f", "junit", "-i", "CIS-DI-0009"}, 0, "", "lint"},
		{[]string{"scan", "--input", withAdd, "--scanners", "lint", "-f", "junit"}, 1, "CIS-DI-0009", "lint"},
		{[]string{"secrets", src, "-f", "junit"}, 1, "aws", "secrets"},
	}
	for _, tc := range cases {
		code, stdout, stderr := runCLI(t, tc.args...)
		if code != tc.code {
			t.Fatalf("%v: exit %d, want %d: %s", tc.args, code, tc.code, stderr)
		}
		if !strings.HasPrefix(stdout, "<?xml") {
			t.Fatalf("%v: not XML:\n%s", tc.args, stdout)
		}
		var doc suites
		if err := xml.Unmarshal([]byte(stdout), &doc); err != nil {
			t.Fatalf("%v: %v\n%s", tc.args, err, stdout)
		}
		if len(doc.Suites) == 0 || !strings.Contains(doc.Suites[0].Name, tc.suiteFor) {
			t.Errorf("%v: suites %+v, want the %s gate's", tc.args, doc.Suites, tc.suiteFor)
		}
		if (tc.failing == "") != (doc.Failures == 0) {
			t.Errorf("%v: %d failures, want failures: %v\n%s", tc.args, doc.Failures, tc.failing != "", stdout)
		}
		if tc.failing != "" && !strings.Contains(strings.ToLower(stdout), strings.ToLower(tc.failing)) {
			t.Errorf("%v: no failure names %s:\n%s", tc.args, tc.failing, stdout)
		}
	}
	// -o writes the same document to a file.
	out := filepath.Join(t.TempDir(), "lint.xml")
	runCLI(t, "lint", "--input", withAdd, "-f", "junit", "-o", out)
	if b, err := os.ReadFile(out); err != nil || !strings.Contains(string(b), "CIS-DI-0009") {
		t.Errorf("-o %s: %v\n%s", out, err, b)
	}
}

// TestSBOMSPDXAlias: sbom -f spdx is SPDX JSON.
func TestSBOMSPDXAlias(t *testing.T) {
	t.Chdir(t.TempDir())
	img := archiveWith(t)
	code, stdout, stderr := runCLI(t, "sbom", "--input", img, "-f", "spdx", "--no-cache")
	if code != 0 || !strings.Contains(stdout, `"spdxVersion"`) {
		t.Errorf("sbom -f spdx: exit %d, want SPDX JSON: %s\n%.300s", code, stderr, stdout)
	}
}

// TestScanDirGitignore: scan DIR leaves out what .gitignore excludes, as
// secrets DIR does (--no-gitignore keeps it), and a source folder's
// findings name files, not "layer 0" of a "rootfs".
func TestScanDirGitignore(t *testing.T) {
	t.Chdir(t.TempDir())
	src := t.TempDir()
	secret := "export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY7q\nexport AWS_ACCESS_KEY_ID=AKIAQYLPMN5HHHFPZAM2\n"
	writeFile(t, filepath.Join(src, ".gitignore"), "build/\n*.log\n")
	writeFile(t, filepath.Join(src, "deploy.sh"), secret)
	writeFile(t, filepath.Join(src, "build", "old.sh"), secret)
	writeFile(t, filepath.Join(src, "sub", ".gitignore"), "local.env\n")
	writeFile(t, filepath.Join(src, "sub", "local.env"), secret)
	writeFile(t, filepath.Join(src, "sub", "kept.env"), secret)
	writeFile(t, filepath.Join(src, "debug.log"), secret)
	files := func(args ...string) []string {
		t.Helper()
		_, stdout, stderr := runCLI(t, append([]string{"scan", src, "--scanners", "secret", "-f", "json"}, args...)...)
		var got []string
		for _, f := range scanJSON(t, stdout).Findings {
			if f.Location.Layer != nil {
				t.Errorf("finding in %s names layer %d of a source folder", f.Location.Path, f.Location.Layer.Index)
			}
			if !slices.Contains(got, f.Location.Path) {
				got = append(got, f.Location.Path)
			}
		}
		slices.Sort(got)
		if strings.Contains(stderr, "rootfs") || strings.Contains(stdout, "rootfs") {
			t.Errorf("a source folder is labelled rootfs: %s", stderr)
		}
		return got
	}
	if got := files(); !slices.Equal(got, []string{"deploy.sh", "sub/kept.env"}) {
		t.Errorf("scan DIR reported %v, want deploy.sh and sub/kept.env only", got)
	}
	if got := files("--no-gitignore"); len(got) != 5 {
		t.Errorf("--no-gitignore reported %v, want all 5 files", got)
	}
	code, stdout, _ := runCLI(t, "scan", src, "--scanners", "secret")
	if code != 1 || strings.Contains(stdout, "layer 0") {
		t.Errorf("table: exit %d, want 1 and no layer label:\n%s", code, stdout)
	}
}
