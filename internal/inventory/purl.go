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
	switch p.Ecosystem {
	case Debian, Ubuntu:
		typ, ns = purl.TypeDebian, strings.ToLower(p.Ecosystem)
		if os != nil && os.ID != "" {
			ns = os.ID
		}
		if p.Arch != "" {
			q["arch"] = p.Arch
		}
		if distro != "" {
			q["distro"] = distro
		}
	case Alpine:
		typ, ns = purl.TypeApk, "alpine"
		if os != nil && os.ID != "" {
			ns = os.ID
		}
		if p.Arch != "" {
			q["arch"] = p.Arch
		}
		if distro != "" {
			q["distro"] = distro
		}
	case RPM:
		typ = purl.TypeRPM
		if os != nil {
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
	case Go:
		typ = purl.TypeGolang
		if i := strings.LastIndex(name, "/"); i >= 0 {
			ns, name = name[:i], name[i+1:]
		}
	case NPM:
		typ = purl.TypeNPM
		if strings.HasPrefix(name, "@") {
			if i := strings.Index(name, "/"); i >= 0 {
				ns, name = name[:i], name[i+1:]
			}
		}
	case PyPI:
		typ = purl.TypePyPi
		name = NormalizePyPI(name)
	case Maven:
		typ = purl.TypeMaven
		if i := strings.Index(name, ":"); i >= 0 {
			ns, name = name[:i], name[i+1:]
		}
	case RubyGems:
		typ = purl.TypeGem
	case CratesIO:
		typ = purl.TypeCargo
	case Packagist:
		typ = purl.TypeComposer
		if i := strings.Index(name, "/"); i >= 0 {
			ns, name = name[:i], name[i+1:]
		}
	case NuGet:
		typ = purl.TypeNuget
	default:
		typ = purl.TypeGeneric
	}
	u := purl.NewPackageURL(typ, ns, name, version, purl.QualifiersFromMap(q), "")
	return u.ToString()
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
