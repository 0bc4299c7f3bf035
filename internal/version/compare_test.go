package version

import (
	"errors"
	"testing"
)

// Hand-checked orderings from each ecosystem's specification: Debian
// Policy 5.6.12, apk-tools' version.c, rpmvercmp, the Go module reference,
// semver.org 11, PEP 440, Maven ComparableVersion, Gem::Version, composer/
// semver and NuGetVersion.
var compareTests = []struct {
	eco  string
	a, b string
	want int // -1, 0, 1; 2 means an error naming BadVersion
	bad  string
}{
	// Debian: epochs, "~", revisions.
	{"Debian:12", "1.0", "1.0-0", 0, ""},
	{"Debian:12", "1.0", "1.0-1", -1, ""},
	{"Debian:12", "1.0~rc1", "1.0", -1, ""},
	{"Debian:12", "1.0~~", "1.0~", -1, ""},
	{"Debian:12", "1:1.0", "2.0", 1, ""},
	{"Debian:12", "1.0-1", "1.0-1+deb12u1", -1, ""},
	{"Debian:12", "2.36-9+deb12u3", "2.36-9+deb12u4", -1, ""},
	{"Debian:12", "1.2+b1", "1.2", 1, ""},
	{"Ubuntu:22.04", "2.35-0ubuntu3.1", "2.35-0ubuntu3.10", -1, ""},
	{"Debian:12", "a1.0", "1.0", 2, "a1.0"},
	{"Debian:12", "1.0", "", 2, ""},
	// apk.
	{"Alpine:v3.19", "1.2.3-r0", "1.2.3-r1", -1, ""},
	{"Alpine:v3.19", "1.2.3_rc1-r0", "1.2.3-r0", -1, ""},
	{"Alpine:v3.19", "1.2.3_p1-r0", "1.2.3-r0", 1, ""},
	{"Alpine:v3.19", "1.10-r0", "1.9-r0", 1, ""},
	{"Alpine:v3.19", "1.2.3a-r0", "1.2.3-r0", 1, ""},
	{"Alpine:v3.19", "3.0.12-r1", "3.0.12-r1", 0, ""},
	{"Alpine:v3.19", "abc", "1.0", 2, "abc"},
	// rpm.
	{"Rocky Linux:9", "1.0-1", "1.0-2", -1, ""},
	{"Rocky Linux:9", "1:1.0-1", "2.0-1", 1, ""},
	{"Rocky Linux:9", "1.0~rc1-1", "1.0-1", -1, ""},
	{"Rocky Linux:9", "1.0^git1-1", "1.0-1", 1, ""},
	{"Rocky Linux:9", "1.10-1", "1.9-1", 1, ""},
	{"Rocky Linux:9", "1.0a-1", "1.0-1", 1, ""},
	{"Rocky Linux:9", "0:1.0-1", "1.0-1", 0, ""},
	{"Rocky Linux:9", "x:1.0-1", "1.0-1", 2, "x:1.0-1"},
	{"Rocky Linux:9", "1.0", "", 2, ""},
	// Go, with pseudo-versions, +incompatible and the toolchain.
	{"Go", "v0.0.0-20210428140749-89ef3d95e781", "0.0.0-20210520170846-37e1c6afe023", -1, ""},
	{"Go", "v0.0.0-20210428140749-89ef3d95e781", "0.1.0", -1, ""},
	{"Go", "v1.2.4-0.20210101000000-abcdefabcdef", "1.2.3", 1, ""},
	{"Go", "v1.22.3", "1.21.0-rc.2", 1, ""},
	{"Go", "v1.21.0-0", "1.21.0-rc.1", -1, ""},
	{"Go", "v2.0.0+incompatible", "2.0.0", 0, ""},
	{"Go", "latest", "1.0.0", 2, "latest"},
	{"Go", "v1.2.3.4", "1.0.0", 2, "v1.2.3.4"},
	// SemVer 2.0.0 section 11 and crates.io.
	{"crates.io", "1.0.0-alpha", "1.0.0-alpha.1", -1, ""},
	{"crates.io", "1.0.0-alpha.1", "1.0.0-alpha.beta", -1, ""},
	{"crates.io", "1.0.0-alpha.beta", "1.0.0-beta", -1, ""},
	{"crates.io", "1.0.0-beta.2", "1.0.0-beta.11", -1, ""},
	{"crates.io", "1.0.0-rc.1", "1.0.0", -1, ""},
	{"crates.io", "1.0.0+build.5", "1.0.0", 0, ""},
	{"crates.io", "a.b.c", "1.0.0", 2, "a.b.c"},
	// npm.
	{"npm", "=1.2.3", "1.2.3", 0, ""},
	{"npm", "4.17.20", "4.17.21", -1, ""},
	{"npm", "10.0.0", "9.99.99", 1, ""},
	{"npm", "latest", "1.0.0", 2, "latest"},
	// PEP 440.
	{"PyPI", "1.0.dev0", "1.0a1", -1, ""},
	{"PyPI", "1.0a1", "1.0b1", -1, ""},
	{"PyPI", "1.0b1", "1.0rc1", -1, ""},
	{"PyPI", "1.0rc1", "1.0", -1, ""},
	{"PyPI", "1.0", "1.0.post1", -1, ""},
	{"PyPI", "1!0.5", "2.0", 1, ""},
	{"PyPI", "1.0+local.1", "1.0", 1, ""},
	{"PyPI", "1.0", "1.0.0", 0, ""},
	{"PyPI", "not a version", "1.0", 2, "not a version"},
	// Maven.
	{"Maven", "1.0-alpha-1", "1.0-beta", -1, ""},
	{"Maven", "1.0-beta", "1.0-rc1", -1, ""},
	{"Maven", "1.0-rc1", "1.0-SNAPSHOT", -1, ""},
	{"Maven", "1.0-SNAPSHOT", "1.0", -1, ""},
	{"Maven", "1.0", "1.0-sp1", -1, ""},
	{"Maven", "1.0", "1.0.0", 0, ""},
	{"Maven", "2.14.1", "2.15.0", -1, ""},
	{"Maven", "2.17.1", "2.17.0", 1, ""},
	{"Maven", "${project.version}", "1.0", 2, "${project.version}"},
	// RubyGems.
	{"RubyGems", "1.0.0.pre", "1.0.0", -1, ""},
	{"RubyGems", "1.0.a", "1.0", -1, ""},
	{"RubyGems", "1.10", "1.9", 1, ""},
	{"RubyGems", "1.0", "1.0.0", 0, ""},
	{"RubyGems", "junk", "1.0", 2, "junk"},
	// Composer.
	{"Packagist", "1.0.0-dev", "1.0.0-alpha1", -1, ""},
	{"Packagist", "1.0.0-alpha1", "1.0.0-beta2", -1, ""},
	{"Packagist", "1.0.0-beta2", "1.0.0-RC1", -1, ""},
	{"Packagist", "1.0.0-RC1", "1.0.0", -1, ""},
	{"Packagist", "1.0.0", "1.0.0-p1", -1, ""},
	{"Packagist", "v1.2.3", "1.2.3", 0, ""},
	{"Packagist", "1.2", "1.2.0.0", 0, ""},
	{"Packagist", "5.4.10", "5.4.9", 1, ""},
	{"Packagist", "1.0.0-beta2", "1.0.0-beta10", -1, ""},
	{"Packagist", "dev-main", "1.0", 2, "dev-main"},
	// NuGet.
	{"NuGet", "1.0.0-alpha", "1.0.0-Beta", -1, ""},
	{"NuGet", "1.0.0-ALPHA", "1.0.0-alpha", 0, ""},
	{"NuGet", "1.0", "1.0.0.0", 0, ""},
	{"NuGet", "1.0.0.1", "1.0.0", 1, ""},
	{"NuGet", "1.0.0+meta", "1.0.0", 0, ""},
	{"NuGet", "1.0.0-rc.2", "1.0.0-rc.10", -1, ""},
	{"NuGet", "1.0.0.0.0", "1.0", 2, "1.0.0.0.0"},
}

func TestCompare(t *testing.T) {
	for _, tt := range compareTests {
		c, ok := For(tt.eco)
		if !ok {
			t.Fatalf("no comparator for %s", tt.eco)
		}
		got, err := c.Compare(tt.a, tt.b)
		if tt.want == 2 {
			var ve *Error
			if !errors.As(err, &ve) {
				t.Errorf("%s: Compare(%q, %q) = %d, %v; want a Error", tt.eco, tt.a, tt.b, got, err)
			} else if tt.bad != "" && ve.Version != tt.bad {
				t.Errorf("%s: Compare(%q, %q) error names %q, want %q", tt.eco, tt.a, tt.b, ve.Version, tt.bad)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: Compare(%q, %q): %v", tt.eco, tt.a, tt.b, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s: Compare(%q, %q) = %d, want %d", tt.eco, tt.a, tt.b, got, tt.want)
		}
		// Antisymmetry.
		if back, err := c.Compare(tt.b, tt.a); err != nil || back != -tt.want {
			t.Errorf("%s: Compare(%q, %q) = %d, %v; want %d", tt.eco, tt.b, tt.a, back, err, -tt.want)
		}
	}
}

func TestFor(t *testing.T) {
	for _, eco := range []string{"Hex", "Pub", "SwiftURL", ""} {
		if _, ok := For(eco); ok {
			t.Errorf("For(%q) found one; want none", eco)
		}
	}
	for _, eco := range []string{"Debian:11", "debian", "Alpine:v3.20", "Go", "crates.io", "NuGet"} {
		if _, ok := For(eco); !ok {
			t.Errorf("For(%q): none", eco)
		}
	}
}
