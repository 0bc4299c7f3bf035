package match

import (
	pep440 "github.com/aquasecurity/go-pep440-version"
)

// pep440Comparator orders Python versions by PEP 440 (epochs, pre-, post-
// and dev-releases, local versions).
type pep440Comparator struct{}

func (pep440Comparator) Name() string { return "pep440" }

func (pep440Comparator) Compare(a, b string) (int, error) {
	va, err := pep440.Parse(a)
	if err != nil {
		return 0, &VersionError{Scheme: "pep440", Version: a, Err: err}
	}
	vb, err := pep440.Parse(b)
	if err != nil {
		return 0, &VersionError{Scheme: "pep440", Version: b, Err: err}
	}
	return sign(va.Compare(vb)), nil
}
