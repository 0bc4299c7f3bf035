package match

import (
	apkversion "github.com/knqyf263/go-apk-version"
)

// apkComparator orders Alpine (and Wolfi) package versions
// (1.2.3_rc1-r0 and the like).
type apkComparator struct{}

func (apkComparator) Name() string { return "apk" }

func (apkComparator) Compare(a, b string) (int, error) {
	va, err := apkversion.NewVersion(a)
	if err != nil {
		return 0, &VersionError{Scheme: "apk", Version: a, Err: err}
	}
	vb, err := apkversion.NewVersion(b)
	if err != nil {
		return 0, &VersionError{Scheme: "apk", Version: b, Err: err}
	}
	return sign(va.Compare(vb)), nil
}
