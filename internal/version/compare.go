// Package version orders versions the way each ecosystem does: one
// comparator per version scheme (Debian, apk, rpm, Go, SemVer, npm,
// PEP 440, Maven, RubyGems, Composer, NuGet), one file each, registered in
// one table and selected by For.
package version

import (
	"fmt"
	"strings"
)

// Comparator compares two versions of one ecosystem. Compare returns -1,
// 0 or +1, or an error naming the version that does not parse.
type Comparator interface {
	// Compare orders a and b.
	Compare(a, b string) (int, error)
}

// Error says that a version string does not parse in a scheme.
type Error struct {
	Scheme  string
	Version string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s version %q does not parse: %v", e.Scheme, e.Version, e.Err)
	}
	return fmt.Sprintf("%s version %q does not parse", e.Scheme, e.Version)
}

func (e *Error) Unwrap() error { return e.Err }

// comparators maps an ecosystem (the part of an OSV ecosystem name before
// ":", lower case) to its comparator: the one table every ecosystem is
// registered in.
var comparators = map[string]Comparator{
	"debian":      debComparator{},
	"ubuntu":      debComparator{},
	"alpine":      apkComparator{},
	"wolfi":       apkComparator{},
	"chainguard":  apkComparator{},
	"rpm":         rpmComparator{},
	"red hat":     rpmComparator{},
	"rocky linux": rpmComparator{},
	"almalinux":   rpmComparator{},
	"suse":        rpmComparator{},
	"opensuse":    rpmComparator{},
	"photon os":   rpmComparator{},
	"mageia":      rpmComparator{},
	"openeuler":   rpmComparator{},
	"azure linux": rpmComparator{},
	"go":          goComparator{},
	"npm":         npmComparator{},
	"pypi":        pep440Comparator{},
	"maven":       mavenComparator{},
	"rubygems":    gemComparator{},
	"crates.io":   semverComparator{},
	"packagist":   composerComparator{},
	"nuget":       nugetComparator{},
}

// For returns the comparator of an OSV ecosystem name ("Debian:12",
// "PyPI"), or false when bulwark has none for it.
func For(ecosystem string) (Comparator, bool) {
	base, _, _ := strings.Cut(ecosystem, ":")
	c, ok := comparators[strings.ToLower(strings.TrimSpace(base))]
	return c, ok
}

// Semver is the comparator of OSV's SEMVER range type (SemVer 2.0.0).
var Semver Comparator = semverComparator{}

// Go is the comparator of Go module versions, whose OSV SEMVER ranges
// keep Go's own ordering (pseudo-versions, "+incompatible").
var Go Comparator = goComparator{}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// parseBoth parses a and b with parse and compares them with compare; the
// error names the one that does not parse.
func parseBoth[V any](scheme string, parse func(string) (V, error), compare func(V, V) int, a, b string) (int, error) {
	va, err := parse(a)
	if err != nil {
		return 0, &Error{Scheme: scheme, Version: a, Err: err}
	}
	vb, err := parse(b)
	if err != nil {
		return 0, &Error{Scheme: scheme, Version: b, Err: err}
	}
	return sign(compare(va, vb)), nil
}
