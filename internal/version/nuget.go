package version

import (
	"cmp"
	"errors"
	"math/big"
	"strings"
)

// nugetComparator orders NuGet versions (NuGetVersion): up to four
// numeric parts (Major.Minor.Patch.Revision, missing ones are 0), then a
// SemVer 2.0.0 prerelease compared without regard to case; build metadata
// after "+" is ignored.
type nugetComparator struct{}

func (nugetComparator) Compare(a, b string) (int, error) {
	return parseBoth("nuget", parseNuGet, compareNuGet, a, b)
}

// compareNuGet orders two parsed NuGet versions.
func compareNuGet(va, vb nugetVersion) int {
	for i := range va.nums {
		if c := va.nums[i].Cmp(vb.nums[i]); c != 0 {
			return c
		}
	}
	return comparePrerelease(va.pre, vb.pre)
}

type nugetVersion struct {
	nums [4]*big.Int
	pre  []string
}

func parseNuGet(v string) (nugetVersion, error) {
	var out nugetVersion
	s := strings.TrimSpace(v)
	s, _, _ = strings.Cut(s, "+")
	core, pre, hasPre := strings.Cut(s, "-")
	parts := strings.Split(core, ".")
	if core == "" || len(parts) > 4 {
		return out, errors.New("want 1 to 4 numeric parts")
	}
	for i := range out.nums {
		out.nums[i] = new(big.Int)
		if i >= len(parts) {
			continue
		}
		if !allDigits(parts[i]) {
			return out, errors.New("a numeric part is not a number")
		}
		out.nums[i].SetString(parts[i], 10)
	}
	if hasPre {
		out.pre = strings.Split(strings.ToLower(pre), ".")
		for _, id := range out.pre {
			if id == "" {
				return out, errors.New("empty prerelease identifier")
			}
			for _, c := range id {
				if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '-') {
					return out, errors.New("unexpected character in the prerelease")
				}
			}
		}
	}
	return out, nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// comparePrerelease orders SemVer prerelease identifier lists: none is
// greater than any; numeric identifiers compare as numbers and sort
// before alphanumeric ones; a longer list wins a tie.
func comparePrerelease(a, b []string) int {
	switch {
	case len(a) == 0 && len(b) == 0:
		return 0
	case len(a) == 0:
		return 1
	case len(b) == 0:
		return -1
	}
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := a[i], b[i]
		xn, yn := allDigits(x), allDigits(y)
		switch {
		case xn && yn:
			bx, _ := new(big.Int).SetString(x, 10)
			by, _ := new(big.Int).SetString(y, 10)
			if c := bx.Cmp(by); c != 0 {
				return c
			}
		case xn:
			return -1
		case yn:
			return 1
		default:
			if c := strings.Compare(x, y); c != 0 {
				return c
			}
		}
	}
	return cmp.Compare(len(a), len(b))
}
