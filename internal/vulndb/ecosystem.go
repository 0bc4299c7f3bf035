package vulndb

import (
	"strings"
)

// knownEcosystems lists the OSV ecosystem names bulwark stores, keyed by
// their lower-case form so that "pypi" and "PyPI" are the same.
var knownEcosystems = func() map[string]string {
	m := map[string]string{}
	for _, e := range []string{
		"Go", "PyPI", "npm", "Maven", "RubyGems", "crates.io", "Packagist",
		"NuGet", "Hex", "Pub", "SwiftURL", "Hackage", "GitHub Actions", "CRAN",
		"Bioconductor", "ConanCenter", "Bitnami", "Julia", "OSS-Fuzz", "Linux",
		"Android", "GIT",
		"Debian", "Ubuntu", "Alpine", "Wolfi", "Chainguard", "Rocky Linux",
		"AlmaLinux", "Red Hat", "SUSE", "openSUSE", "Photon OS", "Mageia",
		"openEuler", "MinimOS", "Azure Linux", "Echo",
	} {
		m[strings.ToLower(e)] = e
	}
	return m
}()

// NormalizeEcosystem returns the OSV spelling of an ecosystem name
// ("pypi" -> "PyPI", "debian:12" -> "Debian:12"), and false when the
// ecosystem (the part before ":") is not one bulwark knows.
func NormalizeEcosystem(eco string) (string, bool) {
	eco = strings.TrimSpace(eco)
	base, suffix, hasSuffix := strings.Cut(eco, ":")
	name, ok := knownEcosystems[strings.ToLower(strings.TrimSpace(base))]
	if !ok {
		return eco, false
	}
	if hasSuffix {
		suffix = strings.TrimSpace(suffix)
		if suffix == "" {
			return name, true
		}
		return name + ":" + suffix, true
	}
	return name, true
}

// NormalizeName returns the canonical form of a package name in an
// ecosystem, the form the database is keyed by: PyPI names by PEP 503
// (lower case, runs of "-", "_" and "." become "-"), NuGet, Packagist and
// Hex names in lower case; other ecosystems (Go, npm, Maven, ...) are case
// sensitive and kept as they are.
func NormalizeName(ecosystem, name string) string {
	name = strings.TrimSpace(name)
	base, _, _ := strings.Cut(ecosystem, ":")
	switch strings.ToLower(base) {
	case "pypi":
		return pep503(name)
	case "nuget", "packagist", "hex", "pub":
		return strings.ToLower(name)
	}
	return name
}

// pep503 normalizes a Python project name: re.sub(r"[-_.]+", "-", name).lower().
func pep503(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '-' || c == '_' || c == '.' {
			if i > 0 && (name[i-1] == '-' || name[i-1] == '_' || name[i-1] == '.') {
				continue
			}
			b.WriteByte('-')
			continue
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}
