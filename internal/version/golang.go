package version

import (
	"errors"
	"strings"

	"golang.org/x/mod/semver"
)

// goComparator orders Go module versions: semantic versions with a "v"
// (added when missing, since OSV writes Go versions without it),
// pseudo-versions (v0.0.0-20210428140749-89ef3d95e781, ordered by their
// timestamp as prereleases of the next version) and +incompatible builds;
// the standard library and toolchain ("stdlib", "toolchain") use the same
// form (v1.22.3, v1.21.0-rc.2).
type goComparator struct{}

func (goComparator) Compare(a, b string) (int, error) {
	return parseBoth("go", goVersion, semver.Compare, a, b)
}

func goVersion(v string) (string, error) {
	if !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	if !semver.IsValid(v) {
		return "", errors.New("not a semantic version")
	}
	return v, nil
}
