package version

import (
	debversion "github.com/knqyf263/go-deb-version"
)

// debComparator orders Debian and Ubuntu versions
// ([epoch:]upstream[-revision], with "~" before anything, even the end).
type debComparator struct{}

func (debComparator) Compare(a, b string) (int, error) {
	return parseBoth("debian", debversion.NewVersion, func(x, y debversion.Version) int { return x.Compare(y) }, a, b)
}
