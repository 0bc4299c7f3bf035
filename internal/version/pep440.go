package version

import (
	pep440 "github.com/aquasecurity/go-pep440-version"
)

// pep440Comparator orders Python versions by PEP 440 (epochs, pre-, post-
// and dev-releases, local versions).
type pep440Comparator struct{}

func (pep440Comparator) Compare(a, b string) (int, error) {
	return parseBoth("pep440", pep440.Parse, func(x, y pep440.Version) int { return x.Compare(y) }, a, b)
}
