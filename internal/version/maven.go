package version

import (
	"errors"
	"strings"

	mvnversion "github.com/masahiro331/go-mvn-version"
)

// mavenComparator orders Maven versions by Maven's ComparableVersion rules
// (1.0-alpha < 1.0-beta < 1.0-rc < 1.0-SNAPSHOT < 1.0 < 1.0-sp).
type mavenComparator struct{}

func (mavenComparator) Compare(a, b string) (int, error) {
	return parseBoth("maven", mavenVersion, func(x, y mvnversion.Version) int { return x.Compare(y) }, a, b)
}

func mavenVersion(v string) (mvnversion.Version, error) {
	if strings.TrimSpace(v) == "" || strings.ContainsAny(v, " \t\n${}") {
		return mvnversion.Version{}, errors.New("empty, blank or an unresolved property")
	}
	return mvnversion.NewVersion(v)
}
