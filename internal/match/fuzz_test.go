package match

import (
	"testing"

	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

// fuzzComparator checks, for any two strings, that a comparator never
// panics and behaves as an order: antisymmetric and reflexive.
func fuzzComparator(f *testing.F, eco string) {
	c, ok := ComparatorFor(eco)
	if !ok {
		f.Fatalf("no comparator for %s", eco)
	}
	for _, tt := range compareTests {
		if tt.eco == eco {
			f.Add(tt.a, tt.b)
		}
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, errA := c.Compare(a, b)
		ba, errB := c.Compare(b, a)
		if (errA == nil) != (errB == nil) {
			t.Fatalf("Compare(%q,%q) err %v but reversed err %v", a, b, errA, errB)
		}
		if errA != nil {
			return
		}
		if ab != -ba {
			t.Fatalf("Compare(%q,%q)=%d but Compare(%q,%q)=%d", a, b, ab, b, a, ba)
		}
		if aa, err := c.Compare(a, a); err != nil || aa != 0 {
			t.Fatalf("Compare(%q,%q)=%d, %v", a, a, aa, err)
		}
	})
}

func FuzzDebian(f *testing.F)   { fuzzComparator(f, "Debian:12") }
func FuzzApk(f *testing.F)      { fuzzComparator(f, "Alpine:v3.19") }
func FuzzRPM(f *testing.F)      { fuzzComparator(f, "Rocky Linux:9") }
func FuzzGo(f *testing.F)       { fuzzComparator(f, "Go") }
func FuzzSemver(f *testing.F)   { fuzzComparator(f, "crates.io") }
func FuzzNPM(f *testing.F)      { fuzzComparator(f, "npm") }
func FuzzPEP440(f *testing.F)   { fuzzComparator(f, "PyPI") }
func FuzzMaven(f *testing.F)    { fuzzComparator(f, "Maven") }
func FuzzRubyGems(f *testing.F) { fuzzComparator(f, "RubyGems") }
func FuzzComposer(f *testing.F) { fuzzComparator(f, "Packagist") }
func FuzzNuGet(f *testing.F)    { fuzzComparator(f, "NuGet") }

// FuzzEvaluate checks that range evaluation never panics, that a verdict
// with a fixed version is affected, and that an affected verdict's fixed
// version is above the installed one.
func FuzzEvaluate(f *testing.F) {
	f.Add("Maven", "1.5", "1.0", "1.2", "2.0", "")
	f.Add("Go", "v0.0.0-20210428140749-89ef3d95e781", "0", "0.0.0-20210520170846-37e1c6afe023", "", "")
	f.Add("PyPI", "1.4", "0", "", "", "1.4")
	f.Add("npm", "1.0.0", "x", "y", "z", "w")
	f.Fuzz(func(t *testing.T, eco, version, in, fx, in2, la string) {
		c, ok := ComparatorFor(eco)
		if !ok {
			c = Semver
		}
		var evs []vulndb.Event
		for _, e := range []vulndb.Event{{Introduced: in}, {Fixed: fx}, {Introduced: in2}, {LastAffected: la}} {
			if e != (vulndb.Event{}) {
				evs = append(evs, e)
			}
		}
		af := vulndb.Affected{Ranges: []vulndb.Range{{Type: "ECOSYSTEM", Events: evs}}, Versions: []string{la}}
		v, err := Evaluate(c, &af, version)
		if err != nil {
			return
		}
		if v.Fixed != "" {
			if !v.Affected {
				t.Fatalf("fixed %q but not affected", v.Fixed)
			}
			if cmp, err := c.Compare(version, v.Fixed); err != nil || cmp >= 0 {
				t.Fatalf("version %q affected with fix %q not above it (%d, %v)", version, v.Fixed, cmp, err)
			}
		}
	})
}
