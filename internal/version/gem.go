package version

import (
	gemversion "github.com/aquasecurity/go-gem-version"
)

// gemComparator orders RubyGems versions (Gem::Version: segments split
// on "." and between digits and letters; a letter segment makes a
// prerelease).
type gemComparator struct{}

func (gemComparator) Compare(a, b string) (int, error) {
	return parseBoth("rubygems", gemversion.NewVersion, func(x, y gemversion.Version) int { return x.Compare(y) }, a, b)
}
