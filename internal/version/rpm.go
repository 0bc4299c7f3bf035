package version

import (
	"errors"
	"strings"

	rpmversion "github.com/knqyf263/go-rpm-version"
)

// rpmComparator orders RPM versions, [epoch:]version[-release], with
// rpmvercmp's rules ("~" sorts before anything, "^" after the version).
type rpmComparator struct{}

func (rpmComparator) Compare(a, b string) (int, error) {
	return parseBoth("rpm", parseRPM, func(x, y rpmversion.Version) int { return x.Compare(y) }, a, b)
}

// parseRPM parses an RPM version that checkRPM accepts.
func parseRPM(v string) (rpmversion.Version, error) {
	if err := checkRPM(v); err != nil {
		return rpmversion.Version{}, err
	}
	return rpmversion.NewVersion(v), nil
}

// checkRPM refuses what rpm itself would not write: the library accepts
// any string, so an empty or garbled version would compare as something.
func checkRPM(v string) error {
	if v == "" {
		return errors.New("empty")
	}
	epoch, rest, hasEpoch := strings.Cut(v, ":")
	if hasEpoch {
		if epoch == "" || strings.Trim(epoch, "0123456789") != "" {
			return errors.New("the epoch is not a number")
		}
		v = rest
	}
	if v == "" || strings.Count(v, "-") > 1 {
		return errors.New("want [epoch:]version[-release]")
	}
	hasAlnum := false
	for _, c := range v {
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			hasAlnum = true
		case strings.ContainsRune("._+~^-", c):
		default:
			return errors.New("unexpected character")
		}
	}
	if !hasAlnum {
		return errors.New("no digits or letters")
	}
	return nil
}
