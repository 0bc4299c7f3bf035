package build

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const td = "../testdata"

func testOptions(out string) Options {
	return Options{
		Output:        out,
		OSV:           []string{td + "/osv", td + "/bad"},
		GHSA:          []string{td + "/ghsa"},
		NVD:           []string{td + "/nvd"},
		DebianTracker: td + "/distro/debian-tracker.json",
		AlpineSecDB:   []string{td + "/distro/alpine-v3.19-main.json"},
		KEV:           td + "/exploit/kev.json",
		EPSS:          td + "/exploit/epss.csv",
		Now:           func() time.Time { return time.Date(2024, 6, 2, 10, 0, 0, 0, time.UTC) },
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join(td, "golden", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file; got:\n%s", name, got)
	}
}

// TestBuildGolden builds from every kind of source and checks what Lookup
// returns for packages that exercise merging, normalization, distribution
// statuses and enrichment.
func TestBuildGolden(t *testing.T) {
	out := filepath.Join(t.TempDir(), "db.bwdb")
	sum, err := Build(context.Background(), testOptions(out))
	if err != nil {
		t.Fatal(err)
	}
	summary := strings.ReplaceAll(sum.String(), out, "OUT")
	summary = summary[:strings.LastIndex(summary, " in ")] + "\n"
	golden(t, "build-summary.txt", []byte(summary))

	db, err := vulndb.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	queries := []struct{ eco, name string }{
		{"Go", "golang.org/x/crypto"},      // GO-2023-2402 merged with GHSA-45x7-px36-x8w8
		{"PyPI", "PyYAML"},                 // PEP 503: stored as pyyaml
		{"pypi", "py_yaml"},                // not the same project: nothing
		{"Go", "github.com/gin-gonic/gin"}, // GO-2023-1737 + GHSA, EPSS
		{"npm", "jsonwebtoken"},            // GHSA only; NVD entry is Rejected
		{"Debian:12", "openssh"},           // fixed + ignored
		{"Debian:11", "libssh"},            // no-dsa
		{"Debian:12", "libssh"},            // postponed
		{"Debian:10", "openssh"},           // end-of-life
		{"Debian:11", "curl"},              // fixed_version 0: not affected
		{"Debian:12", "curl"},              // fixed, KEV; undetermined TEMP
		{"Debian:13", "zlib"},              // open, CVSS v4 from NVD
		{"Alpine:v3.19", "openssh"},        // several CVEs in one secfixes entry
		{"Alpine:v3.19", "busybox"},        // comment after the CVE
		{"Go", "example.com/good"},         // kept entry of a record with a malformed one
		{"Go", "example.com/bad"},          // dropped
		{"MadeUpEcosystem", "thing"},       // dropped
	}
	type result struct {
		Query      string            `json:"query"`
		Advisories []vulndb.Advisory `json:"advisories"`
	}
	var results []result
	for _, q := range queries {
		advs, err := db.Lookup(q.eco, q.name)
		if err != nil {
			t.Fatalf("Lookup(%s, %s): %v", q.eco, q.name, err)
		}
		results = append(results, result{q.eco + " " + q.name, advs})
	}
	got, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "lookup.json", append(got, '\n'))
}

func TestBuildErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	html := filepath.Join(dir, "all.zip")
	if err := os.WriteFile(html, []byte("<!DOCTYPE html><html><body>Sign in</body></html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	badTracker := filepath.Join(dir, "tracker.json")
	if err := os.WriteFile(badTracker, []byte(`{"openssh": {"CVE-1": {"releases": `), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "db.bwdb")
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"no output", Options{OSV: []string{td + "/osv"}}, "pass -o FILE"},
		{"no source", Options{Output: out}, "no advisory source"},
		{"missing path", Options{Output: out, OSV: []string{filepath.Join(dir, "nope")}}, "nope: no such file"},
		{"empty directory", Options{Output: out, OSV: []string{empty}}, "holds no .json or .yaml records"},
		{"HTML instead of zip", Options{Output: out, OSV: []string{html}}, "is an HTML page"},
		{"truncated tracker", Options{Output: out, DebianTracker: badTracker}, "Debian tracker data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Build(context.Background(), tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed build left %s behind", out)
	}
}
