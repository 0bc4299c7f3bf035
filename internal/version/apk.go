package version

import (
	apkversion "github.com/knqyf263/go-apk-version"
)

// apkComparator orders Alpine (and Wolfi) package versions
// (1.2.3_rc1-r0 and the like).
type apkComparator struct{}

func (apkComparator) Compare(a, b string) (int, error) {
	return parseBoth("apk", apkversion.NewVersion, func(x, y apkversion.Version) int { return x.Compare(y) }, a, b)
}
