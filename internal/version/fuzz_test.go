package version

import "testing"

// fuzzComparator checks, for any two strings, that a comparator never
// panics and behaves as an order: antisymmetric and reflexive.
func fuzzComparator(f *testing.F, eco string) {
	c, ok := For(eco)
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
