package version

import (
	"github.com/Masterminds/semver/v3"
)

// semverComparator orders SemVer 2.0.0 versions (OSV's SEMVER ranges,
// crates.io). A leading "v" and missing minor or patch numbers are
// accepted, as OSV records and lockfiles write them.
type semverComparator struct{}

func (semverComparator) Compare(a, b string) (int, error) {
	return parseBoth("semver", semver.NewVersion, func(x, y *semver.Version) int { return x.Compare(y) }, a, b)
}

// npmComparator orders npm package versions: SemVer 2.0.0 as node-semver
// parses it (a leading "v" or "=" is allowed).
type npmComparator struct{}

func (npmComparator) Compare(a, b string) (int, error) {
	return semverComparator{}.Compare(trimEq(a), trimEq(b))
}

func trimEq(v string) string {
	if len(v) > 0 && v[0] == '=' {
		return v[1:]
	}
	return v
}
