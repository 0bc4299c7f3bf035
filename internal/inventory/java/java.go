// Package java finds Java packages: archives (.jar, .war, .ear and the
// jars nested in them, read with archive/zip from memory or a spooled
// temporary file, never extracted), identified by their
// META-INF/maven/**/pom.properties, else their MANIFEST.MF and file name;
// and in source trees Maven pom.xml dependencies and Gradle lockfiles.
package java

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/inventory"
)

// Limits on archives. A nested jar is read into memory only up to
// maxNested bytes inflated, nesting stops at maxDepth, and one top-level
// archive inflates at most maxInflated bytes in all (zip bombs).
const (
	maxArchive  = 2 << 30
	inMemory    = 32 << 20
	maxNested   = 64 << 20
	maxDepth    = 3
	maxInflated = 512 << 20
	maxSmall    = 1 << 20 // pom.properties, MANIFEST.MF
	maxPOM      = 16 << 20
)

// Archives reads jar, war and ear files.
type Archives struct{}

// Name implements inventory.Analyzer.
func (Archives) Name() string { return "java-archive" }

// Version implements inventory.Analyzer.
func (Archives) Version() int { return 1 }

// Modes implements inventory.Analyzer.
func (Archives) Modes() inventory.Mode { return inventory.ModeImage | inventory.ModeTree }

// Want implements inventory.Analyzer.
func (Archives) Want(p string, size int64, _ fs.FileMode) bool {
	return isArchive(p) && size <= maxArchive
}

func isArchive(p string) bool {
	return strings.HasSuffix(p, ".jar") || strings.HasSuffix(p, ".war") || strings.HasSuffix(p, ".ear") ||
		strings.HasSuffix(p, ".JAR") || strings.HasSuffix(p, ".WAR") || strings.HasSuffix(p, ".EAR")
}

// Analyze implements inventory.Analyzer.
func (Archives) Analyze(_ context.Context, f *inventory.File) (*inventory.Result, error) {
	sp, err := inventory.Spool(f.R, f.Size, inMemory, maxArchive, false)
	if err != nil {
		return nil, err
	}
	defer sp.Close()
	budget := int64(maxInflated)
	res := &inventory.Result{}
	if err := readArchive(sp, sp.Size, f.Path, f.Path, 0, &budget, res); err != nil {
		return nil, err
	}
	return res, nil
}

// readArchive adds the packages of one archive (and those nested in it) to
// res. display names the archive in warnings ("app.war!/WEB-INF/lib/x.jar").
func readArchive(ra io.ReaderAt, size int64, name, display string, depth int, budget *int64, res *inventory.Result) error {
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return fmt.Errorf("not a readable zip archive: %v", err)
	}
	var (
		poms     []inventory.Package
		manifest map[string]string
	)
	for _, zf := range zr.File {
		n := zf.Name
		switch {
		case strings.HasPrefix(n, "META-INF/maven/") && strings.HasSuffix(n, "/pom.properties"):
			b, err := readEntry(zf, maxSmall, budget)
			if err != nil {
				res.Warnings = append(res.Warnings, fmt.Sprintf("%s!/%s: skipped: %v", display, n, err))
				continue
			}
			if p := parsePomProperties(b); p != nil {
				poms = append(poms, *p)
			}
		case n == "META-INF/MANIFEST.MF":
			b, err := readEntry(zf, maxSmall, budget)
			if err != nil {
				res.Warnings = append(res.Warnings, fmt.Sprintf("%s!/%s: skipped: %v", display, n, err))
				continue
			}
			manifest = parseManifest(b)
		case isArchive(n) && !strings.HasSuffix(n, "/"):
			nd := display + "!/" + n
			if depth+1 > maxDepth {
				res.Warnings = append(res.Warnings, fmt.Sprintf("%s: skipped: archives nested more than %d deep", nd, maxDepth))
				continue
			}
			b, err := readEntry(zf, maxNested, budget)
			if err != nil {
				res.Warnings = append(res.Warnings, fmt.Sprintf("%s: skipped: %v", nd, err))
				continue
			}
			if err := readArchive(bytes.NewReader(b), int64(len(b)), n, nd, depth+1, budget, res); err != nil {
				res.Warnings = append(res.Warnings, fmt.Sprintf("%s: skipped: %v", nd, err))
			}
		}
	}
	license := manifest["Bundle-License"]
	if len(poms) > 0 {
		for i := range poms {
			if license != "" && len(poms) == 1 {
				poms[i].Licenses = []string{license}
			}
		}
		res.Packages = append(res.Packages, poms...)
		return nil
	}
	if p := fromManifest(name, manifest); p != nil {
		res.Packages = append(res.Packages, *p)
	}
	return nil
}

// readEntry inflates one zip entry, refusing more than max bytes or more
// than the archive's remaining budget, whatever the entry header claims.
func readEntry(zf *zip.File, max int64, budget *int64) ([]byte, error) {
	limit := min(max, *budget)
	if int64(zf.UncompressedSize64) > limit || zf.UncompressedSize64 > 1<<62 {
		return nil, fmt.Errorf("%d bytes inflated, more than the %d allowed (zip bomb?)", zf.UncompressedSize64, limit)
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	*budget -= int64(len(b))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("inflates past the %d bytes allowed (zip bomb?)", limit)
	}
	return b, nil
}

// parsePomProperties reads groupId, artifactId and version.
func parsePomProperties(b []byte) *inventory.Package {
	props := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			k, v, ok = strings.Cut(line, ":")
		}
		if ok {
			props[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	g, a, v := props["groupId"], props["artifactId"], props["version"]
	if g == "" || a == "" || v == "" || strings.Contains(v, "${") {
		return nil
	}
	return &inventory.Package{Name: g + ":" + a, Version: v, Ecosystem: inventory.Maven, Kind: inventory.KindLang}
}

// parseManifest reads MANIFEST.MF main attributes (continuation lines
// start with a space).
func parseManifest(b []byte) map[string]string {
	m := map[string]string{}
	var last string
	for _, line := range strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n") {
		if line == "" {
			break // the end of the main section
		}
		if line[0] == ' ' && last != "" {
			m[last] += line[1:]
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		last = strings.TrimSpace(k)
		m[last] = strings.TrimSpace(v)
	}
	return m
}

var fileVersion = regexp.MustCompile(`^(.+?)-(\d[\w.\-+]*?)(?:\.(?:jar|war|ear|JAR|WAR|EAR))$`)

// fromManifest names a jar that has no pom.properties from its manifest
// and file name, as well as can be: the artifact from the file name, the
// group from Implementation-Vendor-Id or the bundle name, the version from
// the manifest or the file name.
func fromManifest(name string, m map[string]string) *inventory.Package {
	base := name[strings.LastIndexByte(name, '/')+1:]
	artifact, version := "", ""
	if mm := fileVersion.FindStringSubmatch(base); mm != nil {
		artifact, version = mm[1], mm[2]
	}
	if v := m["Implementation-Version"]; v != "" {
		version = v
	} else if v := m["Bundle-Version"]; v != "" && version == "" {
		version = v
	}
	if artifact == "" {
		artifact = strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(base, ".jar"), ".war"), ".ear")
	}
	group := m["Implementation-Vendor-Id"]
	if group == "" {
		if bsn, _, _ := strings.Cut(m["Bundle-SymbolicName"], ";"); bsn != "" {
			group = strings.TrimSuffix(bsn, "."+artifact)
			if group == bsn {
				group = bsn
			}
		}
	}
	if group == "" {
		group = artifact
	}
	if version == "" || artifact == "" {
		return nil
	}
	p := &inventory.Package{Name: group + ":" + artifact, Version: version, Ecosystem: inventory.Maven, Kind: inventory.KindLang}
	if l := m["Bundle-License"]; l != "" {
		p.Licenses = []string{l}
	}
	return p
}

// BuildFiles reads pom.xml and Gradle lockfiles in source trees.
type BuildFiles struct{}

// Name implements inventory.Analyzer.
func (BuildFiles) Name() string { return "java-build" }

// Version implements inventory.Analyzer.
func (BuildFiles) Version() int { return 1 }

// Modes implements inventory.Analyzer.
func (BuildFiles) Modes() inventory.Mode { return inventory.ModeTree }

// Want implements inventory.Analyzer.
func (BuildFiles) Want(p string, size int64, _ fs.FileMode) bool {
	base := inventory.Base(p)
	return size <= maxPOM && (base == "pom.xml" || base == "gradle.lockfile" || strings.HasSuffix(base, ".lockfile") && strings.Contains(p, "gradle/dependency-locks/"))
}

// Analyze implements inventory.Analyzer.
func (BuildFiles) Analyze(_ context.Context, f *inventory.File) (*inventory.Result, error) {
	b, err := inventory.ReadLimited(f.R, maxPOM)
	if err != nil {
		return nil, err
	}
	if inventory.Base(f.Path) == "pom.xml" {
		pkgs, warnings, err := ParsePOM(b, f.Path)
		return &inventory.Result{Packages: pkgs, Warnings: warnings}, err
	}
	return &inventory.Result{Packages: ParseGradleLock(b)}, nil
}

type pom struct {
	GroupID    string `xml:"groupId"`
	ArtifactID string `xml:"artifactId"`
	Version    string `xml:"version"`
	Parent     struct {
		GroupID string `xml:"groupId"`
		Version string `xml:"version"`
	} `xml:"parent"`
	Properties struct {
		Entries []struct {
			XMLName xml.Name
			Value   string `xml:",chardata"`
		} `xml:",any"`
	} `xml:"properties"`
	Dependencies []pomDep `xml:"dependencies>dependency"`
	Managed      []pomDep `xml:"dependencyManagement>dependencies>dependency"`
}

type pomDep struct {
	GroupID    string `xml:"groupId"`
	ArtifactID string `xml:"artifactId"`
	Version    string `xml:"version"`
	Scope      string `xml:"scope"`
}

// ParsePOM reads the dependencies of a pom.xml whose versions are given
// in the file itself (literally or through its own properties); the
// others need the parent POM or a repository and are left out with a
// warning.
func ParsePOM(b []byte, name string) ([]inventory.Package, []string, error) {
	var p pom
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = false
	if err := dec.Decode(&p); err != nil {
		return nil, nil, fmt.Errorf("not valid XML: %v", err)
	}
	props := map[string]string{}
	for _, e := range p.Properties.Entries {
		props[e.XMLName.Local] = strings.TrimSpace(e.Value)
	}
	version := p.Version
	if version == "" {
		version = p.Parent.Version
	}
	group := p.GroupID
	if group == "" {
		group = p.Parent.GroupID
	}
	props["project.version"], props["version"], props["project.groupId"] = version, version, group
	managed := map[string]string{}
	for _, d := range p.Managed {
		managed[d.GroupID+":"+d.ArtifactID] = d.Version
	}
	var pkgs []inventory.Package
	var warnings []string
	for _, d := range p.Dependencies {
		g, a := expand(d.GroupID, props), expand(d.ArtifactID, props)
		v := d.Version
		if v == "" {
			v = managed[d.GroupID+":"+d.ArtifactID]
		}
		v = expand(v, props)
		if g == "" || a == "" {
			continue
		}
		if v == "" || strings.Contains(v, "${") || strings.ContainsAny(v, "[](),") {
			warnings = append(warnings, fmt.Sprintf("%s: dependency %s:%s skipped: its version is not fixed in this file", name, g, a))
			continue
		}
		pkgs = append(pkgs, inventory.Package{Name: g + ":" + a, Version: v, Ecosystem: inventory.Maven, Kind: inventory.KindLang,
			Dev: d.Scope == "test"})
	}
	return pkgs, warnings, nil
}

// expand replaces ${name} with the POM's property, up to a few levels.
func expand(s string, props map[string]string) string {
	s = strings.TrimSpace(s)
	for range 5 {
		i := strings.Index(s, "${")
		if i < 0 {
			return s
		}
		j := strings.Index(s[i:], "}")
		if j < 0 {
			return s
		}
		v, ok := props[s[i+2:i+j]]
		if !ok {
			return s
		}
		s = s[:i] + v + s[i+j+1:]
	}
	return s
}

// ParseGradleLock reads "group:artifact:version=configurations" lines.
func ParseGradleLock(b []byte) []inventory.Package {
	var pkgs []inventory.Package
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || strings.HasPrefix(line, "empty=") {
			continue
		}
		coord, _, _ := strings.Cut(line, "=")
		parts := strings.Split(coord, ":")
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
			continue
		}
		pkgs = append(pkgs, inventory.Package{Name: parts[0] + ":" + parts[1], Version: parts[2], Ecosystem: inventory.Maven, Kind: inventory.KindLang})
	}
	return pkgs
}
