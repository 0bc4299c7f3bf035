package source

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

const td = "../testdata"

func read(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseOSV(t *testing.T) {
	for _, tc := range []struct {
		file     string
		ids      []string
		packages []string
		skipped  map[string]int
		err      string
	}{
		{file: "osv/go/GO-2023-2402.json", ids: []string{"GO-2023-2402"}, packages: []string{"Go/golang.org/x/crypto"}},
		{file: "osv/pypi/PYSEC-2021-142.yaml", ids: []string{"PYSEC-2021-142"}, packages: []string{"PyPI/pyyaml"}},
		{file: "ghsa/GHSA-8q59-q68h-6hv4.json", ids: []string{"GHSA-8q59-q68h-6hv4"}, packages: []string{"PyPI/pyyaml"}},
		{file: "osv/go/GO-2022-0617.json", skipped: map[string]int{SkipWithdrawn: 1}},
		{file: "bad/broken.json", err: "unexpected end of JSON"},
		{file: "bad/broken.yaml", err: "yaml"},
		{file: "bad/unknown-ecosystem.json", skipped: map[string]int{SkipUnknownEco: 1}},
		{file: "bad/malformed-range.json", ids: []string{"GO-0000-0002"}, packages: []string{"Go/example.com/good"}, skipped: map[string]int{SkipMalformedRange: 2}},
		{file: "bad/no-introduced.yaml", skipped: map[string]int{SkipMalformedRange: 1}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			st := NewStats("osv", "x")
			advs, err := ParseOSV("osv", tc.file, read(t, filepath.Join(td, tc.file)), st)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids, pkgs []string
			for _, a := range advs {
				ids = append(ids, a.ID)
				for _, af := range a.Affected {
					pkgs = append(pkgs, af.Ecosystem+"/"+af.Package)
				}
			}
			if !reflect.DeepEqual(ids, tc.ids) || !reflect.DeepEqual(pkgs, tc.packages) {
				t.Errorf("got %v %v, want %v %v", ids, pkgs, tc.ids, tc.packages)
			}
			if tc.skipped == nil {
				tc.skipped = map[string]int{}
			}
			if !reflect.DeepEqual(st.Skipped, tc.skipped) {
				t.Errorf("skipped %v, want %v", st.Skipped, tc.skipped)
			}
		})
	}
}

func TestParseOSVFields(t *testing.T) {
	st := NewStats("ghsa", "x")
	advs, err := ParseOSV("ghsa", "g.json", read(t, td+"/ghsa/GHSA-45x7-px36-x8w8.json"), st)
	if err != nil || len(advs) != 1 {
		t.Fatal(err, len(advs))
	}
	a := advs[0]
	if a.DatabaseSeverity != "MEDIUM" || len(a.Severity) != 1 || a.Severity[0].Type != vulndb.CVSSv3 || a.Severity[0].Source != "ghsa" {
		t.Errorf("severity: %q %+v", a.DatabaseSeverity, a.Severity)
	}
	if !reflect.DeepEqual(a.Aliases, []string{"CVE-2023-48795"}) || a.Published.IsZero() || a.Summary == "" {
		t.Errorf("fields: %+v", a)
	}
	// A JSON array of records, as some feeds serve.
	arr := []byte(`[{"id":"A-1","affected":[{"package":{"ecosystem":"npm","name":"x"}}]},{"id":"A-2","withdrawn":"2024-01-01T00:00:00Z"}]`)
	advs, err = ParseOSV("osv", "list.json", arr, st)
	if err != nil || len(advs) != 1 || advs[0].ID != "A-1" {
		t.Errorf("array: %v %+v", err, advs)
	}
}

// TestParseOSVPlatforms reads the GOOS restriction of Go advisories
// (GO-2024-2961 is Windows-only; its shape is copied here).
func TestParseOSVPlatforms(t *testing.T) {
	rec := func(imports string) []byte {
		return []byte(`{"id":"GO-2024-2961","affected":[{"package":{"ecosystem":"Go","name":"golang.org/x/crypto"},
			"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.0.0-20220525230936-793ad666bf5e"}]}],
			"ecosystem_specific":{"imports":` + imports + `}}]}`)
	}
	cases := []struct {
		imports string
		want    []string
	}{
		{`[{"path":"golang.org/x/crypto/acme/autocert","goos":["windows"]}]`, []string{"windows"}},
		{`[{"path":"a","goos":["windows","plan9"]},{"path":"b","goos":["windows"]}]`, []string{"plan9", "windows"}},
		{`[{"path":"a","goos":["windows"]},{"path":"b"}]`, nil}, // b is vulnerable everywhere
		{`[]`, nil},
		{`"not a list"`, nil},
	}
	for _, tc := range cases {
		advs, err := ParseOSV("osv", "GO-2024-2961.json", rec(tc.imports), NewStats("osv", "x"))
		if err != nil || len(advs) != 1 {
			t.Fatalf("%s: %v", tc.imports, err)
		}
		if got := advs[0].Affected[0].Platforms; !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: platforms %v, want %v", tc.imports, got, tc.want)
		}
	}
}

func TestWalkRecords(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range []string{"GO-2023-2402.json", "dir/", "README.txt", "PYSEC-2021-142.yaml"} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(name, "/") {
			w.Write([]byte("{}"))
		}
	}
	zw.Close()
	zipPath := filepath.Join(t.TempDir(), "all.zip")
	os.WriteFile(zipPath, buf.Bytes(), 0o644)
	for _, tc := range []struct {
		path string
		want []string
	}{
		{zipPath, []string{"GO-2023-2402.json", "PYSEC-2021-142.yaml"}},
		{td + "/osv", []string{"go/GO-2022-0617.json", "go/GO-2022-0969.json", "go/GO-2023-1737.json", "go/GO-2023-2402.json", "pypi/PYSEC-2021-142.yaml", "pypi/PYSEC-2022-190.yaml"}},
		{td + "/osv/go/GO-2022-0969.json", []string{"GO-2022-0969.json"}},
	} {
		var got []string
		if err := WalkRecords(tc.path, func(f File) error { got = append(got, f.Name); return nil }); err != nil {
			t.Fatal(err)
		}
		sort.Strings(got)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("WalkRecords(%s) = %v, want %v", tc.path, got, tc.want)
		}
	}
	bad := filepath.Join(t.TempDir(), "all.zip")
	os.WriteFile(bad, buf.Bytes()[:buf.Len()/2], 0o644)
	err := WalkRecords(bad, func(File) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "not a valid zip") {
		t.Errorf("truncated zip: %v", err)
	}
}

func TestParseDebianTracker(t *testing.T) {
	st := NewStats("debian-tracker", "x")
	advs, err := ParseDebianTracker("t.json", read(t, td+"/distro/debian-tracker.json"), st)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range advs {
		for _, af := range a.Affected {
			got = append(got, strings.Join([]string{a.ID, af.Ecosystem, af.Package, af.Distro.Status, af.Distro.FixedVersion}, " "))
		}
	}
	want := []string{
		"CVE-2008-3234 Debian:12 openssh ignored ",
		"CVE-2023-38545 Debian:12 curl fixed 7.88.1-10+deb12u4",
		"CVE-2023-45853 Debian:13 zlib open ",
		"CVE-2023-48795 Debian:11 libssh no-dsa ",
		"CVE-2023-48795 Debian:12 libssh postponed ",
		"CVE-2023-48795 Debian:11 openssh fixed 1:8.4p1-5+deb11u3",
		"CVE-2023-48795 Debian:12 openssh fixed 1:9.2p1-2+deb12u2",
		"CVE-2023-48795 Debian:10 openssh end-of-life ",
		"TEMP-0000000-F7A20F Debian:12 curl undetermined ",
	}
	sort.Strings(got)
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, bad := range []string{`[]`, `{"x": {"CVE-1": {"releases": {"bookworm": {"status": 3}}}}}`, `{"x": {}`} {
		if _, err := ParseDebianTracker("bad", []byte(bad), st); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestParseAlpineSecDB(t *testing.T) {
	st := NewStats("alpine-secdb", "x")
	advs, err := ParseAlpineSecDB("a.json", read(t, td+"/distro/alpine-v3.19-main.json"), st)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range advs {
		for _, af := range a.Affected {
			got = append(got, a.ID+" "+af.Ecosystem+" "+af.Package+" "+af.Distro.FixedVersion)
		}
	}
	want := []string{
		"CVE-2023-38545 Alpine:v3.19 curl 8.4.0-r0",
		"CVE-2023-38546 Alpine:v3.19 curl 8.4.0-r0",
		"CVE-2023-42363 Alpine:v3.19 busybox 1.36.1-r15",
		"CVE-2023-48795 Alpine:v3.19 openssh 9.6_p1-r0",
		"CVE-2023-51384 Alpine:v3.19 openssh 9.6_p1-r0",
		"CVE-2023-51385 Alpine:v3.19 openssh 9.6_p1-r0",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := ParseAlpineSecDB("x", []byte(`{"packages": []}`), st); err == nil || !strings.Contains(err.Error(), "distroversion") {
		t.Errorf("no distroversion: %v", err)
	}
}

func TestParseNVD(t *testing.T) {
	st := NewStats("nvd", "x")
	advs, page, err := ParseNVD("p.json", read(t, td+"/nvd/page-0.json"), st)
	if err != nil {
		t.Fatal(err)
	}
	if page.TotalResults != 4 || len(advs) != 3 || st.Skipped[SkipRejected] != 1 {
		t.Fatalf("page %+v, %d advisories, skipped %v", page, len(advs), st.Skipped)
	}
	curl := advs[1]
	if curl.ID != "CVE-2023-38545" || len(curl.Severity) != 2 || curl.Severity[1].Type != vulndb.CVSSv2 || !strings.HasPrefix(curl.Summary, "This flaw") {
		t.Errorf("curl: %+v", curl)
	}
	for _, bad := range []string{`{"format": "NVD_CPE", "products": []}`, `{"foo": 1}`, `nope`} {
		if _, _, err := ParseNVD("bad", []byte(bad), st); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestParseKEVAndEPSS(t *testing.T) {
	st := NewStats("kev", "x")
	kev, err := ParseKEV("kev.json", read(t, td+"/exploit/kev.json"), st)
	if err != nil {
		t.Fatal(err)
	}
	if len(kev) != 2 || !kev["CVE-2020-14343"].Ransomware || kev["CVE-2023-38545"].Ransomware || kev["CVE-2023-38545"].DueDate != "2024-01-31" {
		t.Errorf("kev = %+v", kev)
	}
	st = NewStats("epss", "x")
	epss, err := ParseEPSS("epss.csv", read(t, td+"/exploit/epss.csv"), st)
	if err != nil {
		t.Fatal(err)
	}
	if len(epss) != 4 || epss["CVE-2023-48795"].Score != 0.96151 || st.Skipped[SkipBadRow] != 2 || st.Date.Format("2006-01-02") != "2024-06-01" {
		t.Errorf("epss = %+v, stats %+v", epss, st)
	}
	for _, bad := range []string{"", "<!DOCTYPE html><html></html>", "a,b,c\n1,2,3\n"} {
		if _, err := ParseEPSS("bad", []byte(bad), st); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// The fuzz tests feed every loader arbitrary bytes: none may panic, and
// what they return must be usable (IDs and affected packages set).

func checkAdvisories(t *testing.T, advs []vulndb.Advisory) {
	for _, a := range advs {
		if a.ID == "" {
			t.Fatalf("advisory without ID: %+v", a)
		}
		for _, af := range a.Affected {
			if af.Ecosystem == "" || af.Package == "" {
				t.Fatalf("affected entry without package: %+v", af)
			}
		}
	}
}

func FuzzParseOSV(f *testing.F) {
	for _, p := range []string{"osv/go/GO-2023-2402.json", "ghsa/GHSA-27h2-hvpr-p74q.json", "bad/malformed-range.json"} {
		f.Add("r.json", read(f, filepath.Join(td, p)))
	}
	f.Add("r.yaml", read(f, td+"/osv/pypi/PYSEC-2021-142.yaml"))
	f.Add("r.yaml", read(f, td+"/bad/no-introduced.yaml"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		advs, err := ParseOSV("osv", name, data, NewStats("osv", "fuzz"))
		if err == nil {
			checkAdvisories(t, advs)
		}
	})
}

func FuzzWalkRecordBytes(f *testing.F) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("a.json")
	w.Write([]byte(`{"id":"x"}`))
	zw.Close()
	f.Add(buf.Bytes())
	f.Add([]byte(`{"id":"x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = WalkRecordBytes("fuzz", data, func(File) error { return nil })
	})
}

func FuzzParseNVD(f *testing.F) {
	f.Add(read(f, td+"/nvd/page-0.json"))
	f.Fuzz(func(t *testing.T, data []byte) {
		advs, _, err := ParseNVD("fuzz", data, NewStats("nvd", "fuzz"))
		if err == nil {
			checkAdvisories(t, advs)
		}
	})
}

func FuzzParseDebianTracker(f *testing.F) {
	f.Add(read(f, td+"/distro/debian-tracker.json"))
	f.Fuzz(func(t *testing.T, data []byte) {
		advs, err := ParseDebianTracker("fuzz", data, NewStats("debian-tracker", "fuzz"))
		if err == nil {
			checkAdvisories(t, advs)
		}
	})
}

func FuzzParseAlpineSecDB(f *testing.F) {
	f.Add(read(f, td+"/distro/alpine-v3.19-main.json"))
	f.Fuzz(func(t *testing.T, data []byte) {
		advs, err := ParseAlpineSecDB("fuzz", data, NewStats("alpine-secdb", "fuzz"))
		if err == nil {
			checkAdvisories(t, advs)
		}
	})
}

func FuzzParseKEV(f *testing.F) {
	f.Add(read(f, td+"/exploit/kev.json"))
	f.Fuzz(func(t *testing.T, data []byte) {
		kev, err := ParseKEV("fuzz", data, NewStats("kev", "fuzz"))
		for id := range kev {
			if err != nil || !vulndb.IsCVE(id) {
				t.Fatalf("bad KEV entry %q (err %v)", id, err)
			}
		}
	})
}

func FuzzParseEPSS(f *testing.F) {
	f.Add(read(f, td+"/exploit/epss.csv"))
	f.Fuzz(func(t *testing.T, data []byte) {
		epss, err := ParseEPSS("fuzz", data, NewStats("epss", "fuzz"))
		for id, e := range epss {
			if err != nil || !vulndb.IsCVE(id) || e.Score < 0 || e.Score > 1 {
				t.Fatalf("bad EPSS entry %q %+v (err %v)", id, e, err)
			}
		}
	})
}
