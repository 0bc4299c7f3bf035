package version

import (
	"cmp"
	"errors"
	"strconv"
	"strings"
)

// composerComparator orders Packagist (Composer) versions the way
// composer/semver normalizes them: a leading "v" is dropped, up to four
// numeric parts (missing ones are 0), then an optional stability with an
// optional number, ordered dev < alpha (a) < beta (b) < RC < stable <
// patch (pl, p). Branch versions ("dev-main") cannot be ordered and do
// not parse.
type composerComparator struct{}

func (composerComparator) Compare(a, b string) (int, error) {
	return parseBoth("composer", parseComposer, compareComposer, a, b)
}

// compareComposer orders two parsed Composer versions.
func compareComposer(va, vb composerVersion) int {
	for i := range va.nums {
		if c := cmp.Compare(va.nums[i], vb.nums[i]); c != 0 {
			return c
		}
	}
	if c := cmp.Compare(va.stability, vb.stability); c != 0 {
		return c
	}
	for i := 0; i < len(va.stabNums) || i < len(vb.stabNums); i++ {
		var x, y int
		if i < len(va.stabNums) {
			x = va.stabNums[i]
		}
		if i < len(vb.stabNums) {
			y = vb.stabNums[i]
		}
		if c := cmp.Compare(x, y); c != 0 {
			return c
		}
	}
	return 0
}

// Composer stabilities, lowest first.
const (
	stabDev = iota
	stabAlpha
	stabBeta
	stabRC
	stabStable
	stabPatch
)

type composerVersion struct {
	nums      [4]int
	stability int
	stabNums  []int
}

func parseComposer(v string) (composerVersion, error) {
	out := composerVersion{stability: stabStable}
	s := strings.TrimSpace(v)
	if s == "" {
		return out, errors.New("empty")
	}
	if strings.HasPrefix(strings.ToLower(s), "dev-") {
		return out, errors.New("a branch, not a version")
	}
	if s[0] == 'v' || s[0] == 'V' {
		s = s[1:]
	}
	// Numeric parts.
	i, part := 0, 0
	for {
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i {
			return out, errors.New("want a number")
		}
		n, err := strconv.Atoi(s[i:j])
		if err != nil {
			return out, err
		}
		if part >= len(out.nums) {
			return out, errors.New("more than four numeric parts")
		}
		out.nums[part] = n
		part++
		i = j
		if i < len(s) && s[i] == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
			i++
			continue
		}
		break
	}
	rest := strings.ToLower(s[i:])
	if rest == "" {
		return out, nil
	}
	rest = strings.TrimLeft(rest, "-_.")
	if len(rest) == len(s[i:]) && !(rest[0] >= 'a' && rest[0] <= 'z') {
		return out, errors.New("unexpected character after the version number")
	}
	word := rest
	k := 0
	for k < len(rest) && rest[k] >= 'a' && rest[k] <= 'z' {
		k++
	}
	word, rest = rest[:k], rest[k:]
	switch word {
	case "dev":
		out.stability = stabDev
	case "alpha", "a":
		out.stability = stabAlpha
	case "beta", "b":
		out.stability = stabBeta
	case "rc":
		out.stability = stabRC
	case "stable":
		out.stability = stabStable
	case "patch", "pl", "p":
		out.stability = stabPatch
	default:
		return out, errors.New("unknown stability " + strconv.Quote(word))
	}
	for rest != "" {
		rest = strings.TrimLeft(rest, ".-")
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		if j == 0 {
			return out, errors.New("unexpected text after the stability")
		}
		n, err := strconv.Atoi(rest[:j])
		if err != nil {
			return out, err
		}
		out.stabNums = append(out.stabNums, n)
		rest = rest[j:]
	}
	return out, nil
}
