// Package sbom writes an inventory.SBOM as a table, bulwark's JSON,
// CycloneDX 1.6 JSON or SPDX 2.3 JSON (the formats of bulwark sbom are
// listed in package output).
package sbom

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/spdx/tools-golang/spdx/v2/common"
	spdx "github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/bulwark-sec/bulwark/internal/inventory"
)

// JSON writes bulwark's own JSON: the SBOM as the inventory types define
// it, indented.
func JSON(w io.Writer, s *inventory.SBOM) error {
	frame := *s
	frame.Packages = []inventory.Package{{}}
	return writeIndented(w, &frame, array{"packages", &frame.Packages[0], len(s.Packages), func(i int) any { return &s.Packages[i] }})
}

// array is a top-level array field of a document that writeIndented
// fills: n elements, elem(i) encoded one at a time, in place of the one
// placeholder element the frame holds there.
type array struct {
	field       string
	placeholder any
	n           int
	elem        func(i int) any
}

// writeIndented writes frame as encoding/json writes it with two-space
// indentation and no HTML escaping, except that its top-level array fields
// (in their order in the document) get their elements one at a time: a
// large SBOM is not held in memory again as its encoding (twice:
// encoding/json indents a copy), nor as another format's model of it.
func writeIndented(w io.Writer, frame any, arrays ...array) error {
	var buf, one bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(frame); err != nil {
		return err
	}
	eenc := json.NewEncoder(&one)
	eenc.SetIndent("    ", "  ")
	eenc.SetEscapeHTML(false)
	encode := func(v any) ([]byte, error) {
		one.Reset()
		if err := eenc.Encode(v); err != nil {
			return nil, err
		}
		return bytes.TrimSuffix(one.Bytes(), []byte("\n")), nil
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	rest := buf.Bytes()
	for _, a := range arrays {
		ph, err := encode(a.placeholder)
		if err != nil {
			return err
		}
		open := "\n  \"" + a.field + "\": ["
		head, tail, ok := bytes.Cut(rest, []byte(open+"\n    "+string(ph)+"\n  ]"))
		if !ok {
			return fmt.Errorf("sbom: no %s field in the document", a.field)
		}
		bw.Write(head) //nolint:errcheck // Flush reports it
		bw.WriteString(open)
		for i := range a.n {
			if i > 0 {
				bw.WriteByte(',')
			}
			b, err := encode(a.elem(i))
			if err != nil {
				return err
			}
			bw.WriteString("\n    ")
			bw.Write(b)
		}
		if a.n > 0 {
			bw.WriteString("\n  ")
		}
		bw.WriteString("]")
		rest = tail
	}
	bw.Write(rest)
	return bw.Flush()
}

// Table writes one line a package for a person, then the warnings.
func Table(w io.Writer, s *inventory.SBOM) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s", s.Target.Name)
	if os := s.Target.OS; os != nil {
		fmt.Fprintf(tw, " (%s %s", os.ID, os.Version)
		if os.Codename != "" {
			fmt.Fprintf(tw, " %s", os.Codename)
		}
		fmt.Fprint(tw, ")")
	}
	fmt.Fprintf(tw, ": %d packages\n\n", len(s.Packages))
	if len(s.Packages) > 0 {
		fmt.Fprintln(tw, "NAME\tVERSION\tECOSYSTEM\tLAYER\tPATH")
	}
	for _, p := range s.Packages {
		layer, path := "", ""
		if len(p.Locations) > 0 {
			path = p.Locations[0].Path
			if len(p.Locations) > 1 {
				path += fmt.Sprintf(" (+%d)", len(p.Locations)-1)
			}
			if l := p.Locations[0].Layer; l != nil {
				layer = strconv.Itoa(l.Index)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Name, p.Version, p.Ecosystem, layer, path)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, warn := range s.Warnings {
		if _, err := fmt.Fprintf(w, "warning: %s\n", warn); err != nil {
			return err
		}
	}
	return nil
}

// CycloneDX writes a CycloneDX 1.6 JSON BOM: the image (or directory) as
// the metadata component, the OS as an operating-system component and every
// package as a library with its purl, licences, the files it was found in
// (evidence occurrences) and bulwark properties (ecosystem, layer, source
// package).
func CycloneDX(w io.Writer, s *inventory.SBOM) error {
	bom := cdx.NewBOM()
	bom.SerialNumber = "urn:uuid:" + uuidFor(s)
	typ := cdx.ComponentTypeContainer
	if s.Target.Kind == "dir" {
		typ = cdx.ComponentTypeApplication
	}
	bom.Metadata = &cdx.Metadata{
		Timestamp: s.CreatedAt.Format(time.RFC3339),
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
			Type: cdx.ComponentTypeApplication, Name: s.Tool, Version: s.ToolVersion,
		}}},
		Component: &cdx.Component{BOMRef: "target", Type: typ, Name: s.Target.Name, Version: s.Target.Digest},
	}
	// The components are made one at a time as they are written; their
	// bom-refs first, for the dependencies, which come after them.
	var osComp []cdx.Component
	deps := make([]string, 0, len(s.Packages)+1)
	// used holds the bom-refs so far, for the rare duplicate purl (the
	// same package in two architectures without an arch qualifier).
	used := make(map[string]bool, len(s.Packages)+1)
	if os := s.Target.OS; os != nil {
		osComp = append(osComp, cdx.Component{BOMRef: "os", Type: cdx.ComponentTypeOS, Name: os.ID, Version: os.Version,
			Description: os.Name, Properties: props("bulwark:os:codename", os.Codename)})
		deps = append(deps, "os")
		used["os"] = true
	}
	for i, p := range s.Packages {
		ref := p.PURL
		switch {
		case ref == "":
			ref = "pkg-" + strconv.Itoa(i+1)
		case used[ref]:
			ref += "#" + strconv.Itoa(i+1)
		}
		deps = append(deps, ref)
		used[ref] = true
	}
	bom.Components = &[]cdx.Component{{}}
	bom.Dependencies = &[]cdx.Dependency{{Ref: "target", Dependencies: &deps}}
	// The document is built with 1.6 fields only, so it is written as 1.6
	// without EncodeVersion, whose conversion copies the whole BOM through
	// encoding/gob (half the writer's time); cyclonedx-go's JSON encoder is
	// encoding/json's, which writeIndented reproduces.
	bom.SpecVersion, bom.JSONSchema = cdx.SpecVersion1_6, "http://cyclonedx.org/schema/bom-1.6.schema.json"
	return writeIndented(w, bom, array{"components", &cdx.Component{}, len(osComp) + len(s.Packages), func(i int) any {
		if i < len(osComp) {
			return &osComp[i]
		}
		i -= len(osComp)
		return component(&s.Packages[i], deps[len(osComp)+i])
	}})
}

// component is the CycloneDX component of a package, with bom-ref ref.
func component(p *inventory.Package, ref string) *cdx.Component {
	c := cdx.Component{BOMRef: ref, Type: cdx.ComponentTypeLibrary, Name: p.Name, Version: p.Version, PackageURL: p.PURL}
	if len(p.Licenses) > 0 {
		ls := cdx.Licenses{}
		for _, l := range p.Licenses {
			ls = append(ls, cdx.LicenseChoice{License: &cdx.License{Name: l}})
		}
		c.Licenses = &ls
	}
	var occ []cdx.EvidenceOccurrence
	for _, l := range p.Locations {
		occ = append(occ, cdx.EvidenceOccurrence{Location: "/" + l.Path})
	}
	if len(occ) > 0 {
		c.Evidence = &cdx.Evidence{Occurrences: &occ}
	}
	kv := []string{"bulwark:ecosystem", p.Ecosystem, "bulwark:type", string(p.Kind)}
	if len(p.Locations) > 0 && p.Locations[0].Layer != nil {
		l := p.Locations[0].Layer
		kv = append(kv, "bulwark:layer:index", strconv.Itoa(l.Index), "bulwark:layer:digest", l.Digest, "bulwark:layer:diffID", l.DiffID)
	}
	if p.SourceName != "" && (p.SourceName != p.Name || p.SourceVersion != p.Version) {
		kv = append(kv, "bulwark:source:name", p.SourceName, "bulwark:source:version", p.SourceVersion)
	}
	if p.Dev {
		kv = append(kv, "bulwark:dev", "true")
	}
	c.Properties = props(kv...)
	return &c
}

func props(kv ...string) *[]cdx.Property {
	var ps []cdx.Property
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			ps = append(ps, cdx.Property{Name: kv[i], Value: kv[i+1]})
		}
	}
	if len(ps) == 0 {
		return nil
	}
	return &ps
}

// spdxLicense matches licence expressions made of SPDX-style identifiers;
// anything else is recorded as a comment with NOASSERTION.
var spdxLicense = regexp.MustCompile(`^\(?[A-Za-z0-9.+-]+\)?( (AND|OR|WITH) \(?[A-Za-z0-9.+-]+\)?)*$`)

var spdxIDChars = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

// spdxIDPart is s with every run of characters an SPDX identifier cannot
// hold replaced by "-"; most package names need no change, and are
// returned without running the regular expression.
func spdxIDPart(s string) string {
	for i := 0; i < len(s); i++ {
		if !idChar(s[i]) {
			return spdxIDChars.ReplaceAllString(s, "-")
		}
	}
	return s
}

func idChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-'
}

// SPDX writes an SPDX 2.3 JSON document: the image or directory as the
// described package, which CONTAINS every package; each package has its
// purl as an external reference and its files in the source info.
func SPDX(w io.Writer, s *inventory.SBOM) error {
	doc := &spdx.Document{
		SPDXVersion:       spdx.Version,
		DataLicense:       spdx.DataLicense,
		SPDXIdentifier:    "DOCUMENT",
		DocumentName:      s.Target.Name,
		DocumentNamespace: "https://spdx.org/spdxdocs/bulwark/" + spdxIDPart(s.Target.Name) + "-" + uuidFor(s),
		CreationInfo: &spdx.CreationInfo{
			Creators: []common.Creator{{Creator: s.Tool + "-" + s.ToolVersion, CreatorType: "Tool"}},
			Created:  s.CreatedAt.Format(time.RFC3339),
		},
	}
	root := &spdx.Package{
		PackageName: s.Target.Name, PackageSPDXIdentifier: "Target", PackageDownloadLocation: "NOASSERTION",
		PackageVersion: s.Target.Digest, IsFilesAnalyzedTagPresent: true,
		PrimaryPackagePurpose: "CONTAINER",
	}
	if s.Target.Kind == "dir" {
		root.PrimaryPackagePurpose = "SOURCE"
	}
	pkgs := []*spdx.Package{root}
	rels := []*spdx.Relationship{{
		RefA: common.MakeDocElementID("", "DOCUMENT"), RefB: common.MakeDocElementID("", "Target"), Relationship: "DESCRIBES"}}
	if os := s.Target.OS; os != nil {
		pkgs = append(pkgs, &spdx.Package{
			PackageName: os.ID, PackageVersion: os.Version, PackageSPDXIdentifier: "OperatingSystem",
			PackageDownloadLocation: "NOASSERTION", IsFilesAnalyzedTagPresent: true, PrimaryPackagePurpose: "OPERATING_SYSTEM",
			PackageComment: os.Name,
		})
		rels = append(rels, contains("OperatingSystem"))
	}
	// The packages and their relationships are made one at a time as they
	// are written (spdxjson.Write is encoding/json's encoder, which
	// writeIndented reproduces).
	doc.Packages, doc.Relationships = pkgs[:1], rels[:1]
	return writeIndented(w, doc,
		array{"packages", doc.Packages[0], len(pkgs) + len(s.Packages), func(i int) any {
			if i < len(pkgs) {
				return pkgs[i]
			}
			i -= len(pkgs)
			return spdxPackage(&s.Packages[i], spdxID(i, &s.Packages[i]))
		}},
		array{"relationships", doc.Relationships[0], len(rels) + len(s.Packages), func(i int) any {
			if i < len(rels) {
				return rels[i]
			}
			i -= len(rels)
			return contains(spdxID(i, &s.Packages[i]))
		}})
}

// spdxID is the SPDX identifier of the i-th package (from 0).
func spdxID(i int, p *inventory.Package) common.ElementID {
	return common.ElementID("Package-" + strconv.Itoa(i+1) + "-" + spdxIDPart(p.Name))
}

// contains is the relationship of the target to an element it contains.
func contains(id common.ElementID) *spdx.Relationship {
	return &spdx.Relationship{RefA: common.MakeDocElementID("", "Target"), RefB: common.MakeDocElementID("", string(id)), Relationship: "CONTAINS"}
}

// spdxPackage is the SPDX package of a package, with identifier id.
func spdxPackage(p *inventory.Package, id common.ElementID) *spdx.Package {
	sp := &spdx.Package{
		PackageName: p.Name, PackageSPDXIdentifier: id, PackageVersion: p.Version,
		PackageDownloadLocation: "NOASSERTION", IsFilesAnalyzedTagPresent: true,
		PackageLicenseConcluded: "NOASSERTION", PackageLicenseDeclared: "NOASSERTION",
		PrimaryPackagePurpose: "LIBRARY",
	}
	if len(p.Licenses) > 0 {
		expr := strings.Join(p.Licenses, " AND ")
		if len(p.Licenses) > 1 {
			expr = "(" + strings.Join(p.Licenses, ") AND (") + ")"
		}
		if allMatch(p.Licenses) {
			sp.PackageLicenseDeclared = expr
		} else {
			sp.PackageLicenseComments = "Recorded licences: " + strings.Join(p.Licenses, "; ")
		}
	}
	if p.PURL != "" {
		sp.PackageExternalReferences = []*spdx.PackageExternalReference{{Category: "PACKAGE-MANAGER", RefType: "purl", Locator: p.PURL}}
	}
	var files []string
	for _, l := range p.Locations {
		f := "/" + l.Path
		if l.Layer != nil {
			f += " (layer " + strconv.Itoa(l.Layer.Index) + " " + l.Layer.Digest + ")"
		}
		files = append(files, f)
	}
	sp.PackageSourceInfo = "ecosystem " + p.Ecosystem + "; found in " + strings.Join(files, ", ")
	if p.SourceName != "" && (p.SourceName != p.Name || p.SourceVersion != p.Version) {
		sp.PackageSourceInfo += "; built from source package " + p.SourceName + " " + p.SourceVersion
	}
	return sp
}

// licenseID reports whether l is one SPDX-style identifier ("MIT"), the
// common case, which spdxLicense matches too.
func licenseID(l string) bool {
	for i := 0; i < len(l); i++ {
		if !idChar(l[i]) && l[i] != '+' {
			return false
		}
	}
	return l != ""
}

func allMatch(ls []string) bool {
	for _, l := range ls {
		if !licenseID(l) && !spdxLicense.MatchString(l) {
			return false
		}
	}
	return true
}

// uuidFor derives a version-4-shaped UUID from the SBOM's content and
// time, so that the document namespace and serial number are unique per
// run without a random source.
func uuidFor(s *inventory.SBOM) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n", s.Target.Name, s.Target.Digest, s.CreatedAt.Format(time.RFC3339Nano))
	keys := make([]string, 0, len(s.Packages))
	for _, p := range s.Packages {
		keys = append(keys, p.PURL)
	}
	sort.Strings(keys)
	fmt.Fprint(h, strings.Join(keys, "\n"))
	b := h.Sum(nil)[:16]
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	x := hex.EncodeToString(b)
	return x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
}
