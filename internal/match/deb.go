package match

import (
	debversion "github.com/knqyf263/go-deb-version"
)

// debComparator orders Debian and Ubuntu versions
// ([epoch:]upstream[-revision], with "~" before anything, even the end).
type debComparator struct{}

func (debComparator) Name() string { return "debian" }

func (debComparator) Compare(a, b string) (int, error) {
	va, err := debversion.NewVersion(a)
	if err != nil {
		return 0, &VersionError{Scheme: "debian", Version: a, Err: err}
	}
	vb, err := debversion.NewVersion(b)
	if err != nil {
		return 0, &VersionError{Scheme: "debian", Version: b, Err: err}
	}
	return sign(va.Compare(vb)), nil
}
