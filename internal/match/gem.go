package match

import (
	gemversion "github.com/aquasecurity/go-gem-version"
)

// gemComparator orders RubyGems versions (Gem::Version: segments split
// on "." and between digits and letters; a letter segment makes a
// prerelease).
type gemComparator struct{}

func (gemComparator) Name() string { return "rubygems" }

func (gemComparator) Compare(a, b string) (int, error) {
	va, err := gemversion.NewVersion(a)
	if err != nil {
		return 0, &VersionError{Scheme: "rubygems", Version: a, Err: err}
	}
	vb, err := gemversion.NewVersion(b)
	if err != nil {
		return 0, &VersionError{Scheme: "rubygems", Version: b, Err: err}
	}
	return sign(va.Compare(vb)), nil
}
