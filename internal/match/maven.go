package match

import (
	"errors"
	"strings"

	mvnversion "github.com/masahiro331/go-mvn-version"
)

// mavenComparator orders Maven versions by Maven's ComparableVersion rules
// (1.0-alpha < 1.0-beta < 1.0-rc < 1.0-SNAPSHOT < 1.0 < 1.0-sp).
type mavenComparator struct{}

func (mavenComparator) Name() string { return "maven" }

func (mavenComparator) Compare(a, b string) (int, error) {
	va, err := mavenVersion(a)
	if err != nil {
		return 0, &VersionError{Scheme: "maven", Version: a, Err: err}
	}
	vb, err := mavenVersion(b)
	if err != nil {
		return 0, &VersionError{Scheme: "maven", Version: b, Err: err}
	}
	return sign(va.Compare(vb)), nil
}

func mavenVersion(v string) (mvnversion.Version, error) {
	if strings.TrimSpace(v) == "" || strings.ContainsAny(v, " \t\n${}") {
		return mvnversion.Version{}, errors.New("empty, blank or an unresolved property")
	}
	return mvnversion.NewVersion(v)
}
