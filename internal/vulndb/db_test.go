package vulndb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestNormalizeName(t *testing.T) {
	for _, tc := range []struct{ eco, in, want string }{
		{"PyPI", "PyYAML", "pyyaml"},
		{"PyPI", "Django_REST.framework", "django-rest-framework"},
		{"PyPI", "a--_.b", "a-b"},
		{"PyPI", "-x-", "-x-"},
		{"pypi", " zope.interface ", "zope-interface"},
		{"npm", "@Angular/Core", "@Angular/Core"},
		{"Go", "github.com/BurntSushi/toml", "github.com/BurntSushi/toml"},
		{"NuGet", "Newtonsoft.Json", "newtonsoft.json"},
		{"Maven", "org.apache.logging.log4j:log4j-core", "org.apache.logging.log4j:log4j-core"},
		{"Debian:12", "openssl", "openssl"},
	} {
		if got := NormalizeName(tc.eco, tc.in); got != tc.want {
			t.Errorf("NormalizeName(%q, %q) = %q, want %q", tc.eco, tc.in, got, tc.want)
		}
	}
}

func TestNormalizeEcosystem(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"pypi", "PyPI", true},
		{"Go", "Go", true},
		{"CRATES.IO", "crates.io", true},
		{"debian:12", "Debian:12", true},
		{"Alpine:v3.19", "Alpine:v3.19", true},
		{"Debian:", "Debian", true},
		{"MadeUp", "MadeUp", false},
		{"", "", false},
	} {
		got, ok := NormalizeEcosystem(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("NormalizeEcosystem(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func sample() []Advisory {
	return []Advisory{
		{
			ID: "GO-2024-0001", Aliases: []string{"CVE-2024-0001", "GHSA-aaaa-bbbb-cccc"}, Summary: "first",
			Published:  time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
			Severity:   []Severity{{Type: CVSSv3, Score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", Source: "ghsa"}},
			References: []Reference{{Type: "FIX", URL: "https://example.com/fix"}},
			Affected: []Affected{
				{Ecosystem: "Go", Package: "example.com/a", Ranges: []Range{{Type: RangeSemver, Events: []Event{{Introduced: "0"}, {Fixed: "1.2.3"}}}}, Source: "osv"},
				{Ecosystem: "PyPI", Package: "py-yaml", Versions: []string{"1.0", "1.1"}, Ranges: []Range{{Type: RangeGit, Repo: "https://g/x", Events: []Event{{Introduced: "abc"}, {LastAffected: "def"}, {Limit: "fed"}}}}},
			},
			Sources: []string{"osv", "ghsa"},
			KEV:     &KEV{CVE: "CVE-2024-0001", DateAdded: "2024-02-01", Ransomware: true},
			EPSS:    &EPSS{CVE: "CVE-2024-0001", Score: 0.5, Percentile: 0.9},
		},
		{
			ID: "CVE-2024-0002",
			Affected: []Affected{{Ecosystem: "Debian:12", Package: "openssl",
				Ranges: []Range{{Type: RangeEcosystem, Events: []Event{{Introduced: "0"}}}},
				Distro: &DistroStatus{Release: "bookworm", Status: StatusNoDSA, Urgency: "low", Note: "Minor issue"}}},
		},
		{
			ID:       "GO-2024-0003",
			Affected: []Affected{{Ecosystem: "Go", Package: "example.com/a"}},
		},
	}
}

func writeSample(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	meta := Metadata{BuiltAt: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC), Sources: []SourceInfo{{Kind: "osv", Location: "x", Records: 3}}}
	if err := Write(&buf, meta, sample()); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestWriteOpenLookup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	if err := os.WriteFile(path, writeSample(t), 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m := db.Metadata()
	if m.SchemaVersion != SchemaVersion || m.Advisories != 3 || m.Packages != 3 || m.Ecosystems["Go"] != 1 {
		t.Errorf("metadata = %+v", m)
	}
	want := sample()
	for _, tc := range []struct {
		eco, name string
		ids       []string
	}{
		{"Go", "example.com/a", []string{"GO-2024-0001", "GO-2024-0003"}},
		{"go", "example.com/a", []string{"GO-2024-0001", "GO-2024-0003"}},
		{"Go", "example.com/A", nil},
		{"PyPI", "Py_YAML", []string{"GO-2024-0001"}},
		{"Debian:12", "openssl", []string{"CVE-2024-0002"}},
		{"Debian:11", "openssl", nil},
		{"Nope", "x", nil},
	} {
		got, err := db.Lookup(tc.eco, tc.name)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, a := range got {
			ids = append(ids, a.ID)
			for _, af := range a.Affected {
				if af.Package != NormalizeName(tc.eco, tc.name) {
					t.Errorf("Lookup(%s, %s) returned the entry of %s", tc.eco, tc.name, af.Package)
				}
			}
		}
		if !reflect.DeepEqual(ids, tc.ids) {
			t.Errorf("Lookup(%s, %s) = %v, want %v", tc.eco, tc.name, ids, tc.ids)
		}
	}
	// The whole record survives the round trip.
	got, _ := db.Lookup("Go", "example.com/a")
	w := want[0]
	w.Affected = w.Affected[:1]
	if !reflect.DeepEqual(got[0], w) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got[0], w)
	}
	got, _ = db.Lookup("Debian:12", "openssl")
	if !reflect.DeepEqual(got[0], want[1]) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got[0], want[1])
	}
	var keys []string
	db.Packages(func(eco, name string) bool { keys = append(keys, eco+"/"+name); return true })
	if strings.Join(keys, " ") != "Debian:12/openssl Go/example.com/a PyPI/py-yaml" {
		t.Errorf("Packages = %v", keys)
	}
	db.Close()
	if _, err := db.Lookup("Go", "example.com/a"); err == nil {
		t.Error("Lookup after Close succeeded")
	}
}

func TestOpenBad(t *testing.T) {
	good := writeSample(t)
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	newer := mod(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[8:], SchemaVersion+1); return b })
	for _, tc := range []struct {
		name    string
		data    []byte
		corrupt bool
		want    string
	}{
		{"empty", nil, true, "bad header"},
		{"not a database", []byte("<html><body>Not found</body></html>" + strings.Repeat(" ", 64)), true, "bad header"},
		{"truncated", good[:len(good)-10], true, "truncated"},
		{"flipped byte", mod(func(b []byte) []byte { b[len(b)-5] ^= 0xff; return b }), true, "checksum mismatch"},
		{"newer schema", newer, false, fmt.Sprintf("schema version %d, but this bulwark reads schema version %d", SchemaVersion+1, SchemaVersion)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "db")
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Open(path)
			if err == nil {
				t.Fatal("Open succeeded")
			}
			if errors.Is(err, ErrCorrupt) != tc.corrupt || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q: corrupt=%v, want corrupt=%v and %q", err, errors.Is(err, ErrCorrupt), tc.corrupt, tc.want)
			}
			if !strings.Contains(err.Error(), "bulwark db update") {
				t.Errorf("error %q does not say what to do", err)
			}
			var se *SchemaError
			if errors.As(err, &se) != !tc.corrupt {
				t.Errorf("SchemaError = %v", se)
			}
		})
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "db update") {
		t.Errorf("missing file: %v", err)
	}
}

func TestStaleWarning(t *testing.T) {
	built := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	m := Metadata{BuiltAt: built}
	if w := StaleWarning(m, built.Add(47*time.Hour), DefaultMaxAge); w != "" {
		t.Errorf("fresh database warned: %s", w)
	}
	w := StaleWarning(m, built.Add(10*24*time.Hour), DefaultMaxAge)
	if !strings.Contains(w, "10 days ago") || !strings.Contains(w, "more than the maximum age of 2 days") {
		t.Errorf("warning = %q", w)
	}
	if w := StaleWarning(m, built.Add(100*24*time.Hour), 0); w != "" {
		t.Errorf("max age 0 warned: %s", w)
	}
}

func TestParseAge(t *testing.T) {
	for in, want := range map[string]time.Duration{"2d": 48 * time.Hour, "36h": 36 * time.Hour, "0": 0, "0d": 0} {
		if got, err := ParseAge(in); err != nil || got != want {
			t.Errorf("ParseAge(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "d", "-1d", "2 days", "-3h", "1.5d"} {
		if _, err := ParseAge(in); err == nil {
			t.Errorf("ParseAge(%q) accepted", in)
		}
	}
}

// FuzzOpen checks that no file content makes Open or Lookup panic.
func FuzzOpen(f *testing.F) {
	good := writeSample(f)
	f.Add(good)
	f.Add(good[:100])
	f.Fuzz(func(t *testing.T, data []byte) {
		// Fix the size and checksum so the fuzzer reaches the parsers.
		if len(data) >= headerSize && string(data[:len(magic)]) == magic {
			binary.LittleEndian.PutUint64(data[16:], uint64(len(data)))
			binary.LittleEndian.PutUint32(data[24:], crcOf(data[headerSize:]))
		}
		db, err := OpenBytes("fuzz", data)
		if err != nil {
			return
		}
		defer db.Close()
		db.Packages(func(eco, name string) bool {
			_, _ = db.Lookup(eco, name)
			return true
		})
	})
}

// FuzzDecodeAdvisory checks the record decoder on arbitrary bytes.
func FuzzDecodeAdvisory(f *testing.F) {
	for _, a := range sample() {
		f.Add(appendAdvisory(nil, &a))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, _, err := decodeAdvisory(data)
		if err != nil {
			return
		}
		// What decodes must encode and decode to the same thing.
		b, _, err := decodeAdvisory(appendAdvisory(nil, &a))
		if err != nil || !reflect.DeepEqual(a, b) {
			t.Fatalf("re-decoding differs: %v\n%#v\n%#v", err, a, b)
		}
	})
}
