package inventory

import (
	"strconv"
	"strings"

	purl "github.com/package-url/packageurl-go"
)

// PURL returns the package URL of a package; os qualifies OS packages
// with their distribution ("distro=debian-12").
func PURL(p *Package, os *OS) string {
	var typ, ns, name = "", "", p.Name
	version := p.Version
	q := map[string]string{}
	distro := ""
	if os != nil && os.ID != "" {
		distro = os.ID
		if os.Version != "" {
			distro += "-" + os.Version
		}
	}
	// osQualifiers sets the namespace (the distribution) and the
	// qualifiers OS package URLs carry.
	osQualifiers := func(defaultNS string) {
		ns = defaultNS
		if os != nil && os.ID != "" {
			ns = os.ID
		}
		if p.Arch != "" {
			q["arch"] = p.Arch
		}
		if p.Epoch != 0 {
			q["epoch"] = strconv.Itoa(p.Epoch)
		}
		if distro != "" {
			q["distro"] = distro
		}
	}
	switch p.Ecosystem {
	case Debian, Ubuntu:
		typ = purl.TypeDebian
		osQualifiers(strings.ToLower(p.Ecosystem))
	case Alpine:
		typ = purl.TypeApk
		osQualifiers("alpine")
	case RPM:
		typ = purl.TypeRPM
		osQualifiers("")
	case Go:
		typ = purl.TypeGolang
		ns, name = splitNamespace(name, strings.LastIndex(name, "/"))
	case NPM:
		typ = purl.TypeNPM
		if strings.HasPrefix(name, "@") {
			ns, name = splitNamespace(name, strings.Index(name, "/"))
		}
	case PyPI:
		typ = purl.TypePyPi
		name = NormalizePyPI(name)
	case Maven:
		typ = purl.TypeMaven
		ns, name = splitNamespace(name, strings.Index(name, ":"))
	case RubyGems:
		typ = purl.TypeGem
	case CratesIO:
		typ = purl.TypeCargo
	case Packagist:
		typ = purl.TypeComposer
		ns, name = splitNamespace(name, strings.Index(name, "/"))
	case NuGet:
		typ = purl.TypeNuget
	default:
		typ = purl.TypeGeneric
	}
	u := purl.NewPackageURL(typ, ns, name, version, purl.QualifiersFromMap(q), "")
	return u.ToString()
}

// splitNamespace splits name at the separator at index i ("" and name
// when i < 0).
func splitNamespace(name string, i int) (string, string) {
	if i < 0 {
		return "", name
	}
	return name[:i], name[i+1:]
}

// NormalizePyPI returns the PEP 503 normal form of a Python project name:
// lower case, with runs of '-', '_' and '.' as one '-'.
func NormalizePyPI(name string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(name) {
		if c == '-' || c == '_' || c == '.' {
			dash = true
			continue
		}
		if dash && b.Len() > 0 {
			b.WriteByte('-')
		}
		dash = false
		b.WriteRune(c)
	}
	return b.String()
}
