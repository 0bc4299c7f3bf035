// Package vex reads OpenVEX documents and applies their statements to a
// report: a vulnerability a statement says is not_affected (with its
// justification) or fixed is marked suppressed, so that the report still
// shows it and says why.
package vex

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/package-url/packageurl-go"

	"github.com/bulwark-sec/bulwark/internal/finding"
)

// Statuses of an OpenVEX statement.
const (
	StatusNotAffected        = "not_affected"
	StatusAffected           = "affected"
	StatusFixed              = "fixed"
	StatusUnderInvestigation = "under_investigation"
)

// maxSize bounds a VEX document.
const maxSize = 32 << 20

// Statement is one OpenVEX statement, reduced to what matching needs.
type Statement struct {
	// Vulnerability is the vulnerability's name (CVE, GHSA, GO-...), and
	// Aliases its other names.
	Vulnerability string
	Aliases       []string
	// Products are product identifiers (package URLs, image references);
	// Subcomponents the package URLs inside them the statement is about.
	Products      []string
	Subcomponents []string
	Status        string
	Justification string
	Impact        string
	// Source is "FILE#N" for the Nth statement of a file.
	Source string
}

// Document is a parsed OpenVEX document.
type Document struct {
	ID         string
	Statements []Statement
}

// ParseFile reads an OpenVEX document from a file.
func ParseFile(path string) (*Document, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("VEX document: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return nil, fmt.Errorf("VEX document %s: %w", path, err)
	}
	if len(data) > maxSize {
		return nil, fmt.Errorf("VEX document %s: larger than %d MiB", path, maxSize>>20)
	}
	d, err := Parse(data, path)
	if err != nil {
		return nil, fmt.Errorf("VEX document %s: %w", path, err)
	}
	return d, nil
}

// raw mirrors the OpenVEX JSON; vulnerability, products and subcomponents
// may be strings (OpenVEX 0.0.x) or objects (0.2.0).
type raw struct {
	Context    string `json:"@context"`
	ID         string `json:"@id"`
	Statements []struct {
		Vulnerability json.RawMessage   `json:"vulnerability"`
		Products      []json.RawMessage `json:"products"`
		Subcomponents []json.RawMessage `json:"subcomponents"`
		Status        string            `json:"status"`
		Justification string            `json:"justification"`
		Impact        string            `json:"impact_statement"`
	} `json:"statements"`
}

type component struct {
	ID            string            `json:"@id"`
	Identifiers   map[string]string `json:"identifiers"`
	Subcomponents []json.RawMessage `json:"subcomponents"`
}

type vulnerability struct {
	Name    string   `json:"name"`
	ID      string   `json:"@id"`
	Aliases []string `json:"aliases"`
}

// Parse reads an OpenVEX document; name is used in Source and errors.
func Parse(data []byte, name string) (*Document, error) {
	var r raw
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("not an OpenVEX JSON document: %w", err)
	}
	if !strings.Contains(r.Context, "openvex") {
		return nil, fmt.Errorf("@context %q is not OpenVEX's (https://openvex.dev/ns/...)", r.Context)
	}
	d := &Document{ID: r.ID}
	for i, s := range r.Statements {
		st := Statement{Status: s.Status, Justification: s.Justification, Impact: s.Impact, Source: fmt.Sprintf("%s#%d", name, i+1)}
		switch st.Status {
		case StatusNotAffected, StatusAffected, StatusFixed, StatusUnderInvestigation:
		default:
			return nil, fmt.Errorf("statement %d: unknown status %q", i+1, s.Status)
		}
		var vs string
		if err := json.Unmarshal(s.Vulnerability, &vs); err == nil {
			st.Vulnerability = vs
		} else {
			var v vulnerability
			if err := json.Unmarshal(s.Vulnerability, &v); err != nil {
				return nil, fmt.Errorf("statement %d: vulnerability: %w", i+1, err)
			}
			st.Vulnerability, st.Aliases = v.Name, v.Aliases
			if st.Vulnerability == "" {
				st.Vulnerability = v.ID
			}
		}
		if st.Vulnerability == "" {
			return nil, fmt.Errorf("statement %d: no vulnerability named", i+1)
		}
		for _, p := range s.Products {
			ids, subs, err := componentIDs(p)
			if err != nil {
				return nil, fmt.Errorf("statement %d: product: %w", i+1, err)
			}
			st.Products = append(st.Products, ids...)
			st.Subcomponents = append(st.Subcomponents, subs...)
		}
		for _, p := range s.Subcomponents {
			ids, _, err := componentIDs(p)
			if err != nil {
				return nil, fmt.Errorf("statement %d: subcomponent: %w", i+1, err)
			}
			st.Subcomponents = append(st.Subcomponents, ids...)
		}
		d.Statements = append(d.Statements, st)
	}
	return d, nil
}

// componentIDs returns a component's identifiers and its subcomponents'.
func componentIDs(m json.RawMessage) (ids, subs []string, err error) {
	var s string
	if json.Unmarshal(m, &s) == nil {
		return []string{s}, nil, nil
	}
	var c component
	if err := json.Unmarshal(m, &c); err != nil {
		return nil, nil, err
	}
	if c.ID != "" {
		ids = append(ids, c.ID)
	}
	for _, k := range []string{"purl", "cpe23", "cpe22"} {
		if v := c.Identifiers[k]; v != "" {
			ids = append(ids, v)
		}
	}
	for _, sc := range c.Subcomponents {
		x, _, err := componentIDs(sc)
		if err != nil {
			return nil, nil, err
		}
		subs = append(subs, x...)
	}
	return ids, subs, nil
}

// Apply marks the vulnerability findings that a statement says are
// not_affected or fixed as suppressed (kind "vex"). Later statements
// override earlier ones, across documents in the order given. image names
// the scanned image (its name and digest) for statements whose product is
// the image itself.
func Apply(r *finding.Report, docs []*Document, image []string) {
	for i := range r.Findings {
		f := &r.Findings[i]
		if f.Gate != finding.GateVuln || f.Vuln == nil || f.Suppressed != nil {
			continue
		}
		var last *Statement
		for _, d := range docs {
			for j := range d.Statements {
				if d.Statements[j].applies(f, image) {
					last = &d.Statements[j]
				}
			}
		}
		if last == nil {
			continue
		}
		switch last.Status {
		case StatusNotAffected:
			reason := "not_affected"
			if last.Justification != "" {
				reason += ": " + last.Justification
			}
			if last.Impact != "" {
				reason += " (" + last.Impact + ")"
			}
			f.Suppressed = &finding.Suppression{Kind: "vex", Reason: reason, Source: last.Source}
		case StatusFixed:
			f.Suppressed = &finding.Suppression{Kind: "vex", Reason: "fixed", Source: last.Source}
		}
	}
}

func (s *Statement) applies(f *finding.Finding, image []string) bool {
	names := append([]string{f.ID}, f.Vuln.Aliases...)
	hit := false
	for _, n := range names {
		if strings.EqualFold(n, s.Vulnerability) || containsFold(s.Aliases, n) {
			hit = true
			break
		}
	}
	if !hit {
		return false
	}
	if len(s.Products) == 0 && len(s.Subcomponents) == 0 {
		return true
	}
	// The package itself named as a product or subcomponent.
	for _, p := range append(append([]string{}, s.Products...), s.Subcomponents...) {
		if purlMatches(p, f.Vuln.PURL) {
			return true
		}
	}
	// The image named as the product, with no subcomponents: every
	// package in it.
	if len(s.Subcomponents) == 0 {
		for _, p := range s.Products {
			if imageMatches(p, image) {
				return true
			}
		}
	}
	return false
}

// purlMatches says whether a VEX package URL names the package: same
// type, namespace and name, and the same version when the VEX gives one;
// qualifiers are ignored.
func purlMatches(vexPURL, pkgPURL string) bool {
	if vexPURL == "" || pkgPURL == "" || !strings.HasPrefix(vexPURL, "pkg:") {
		return false
	}
	a, err := packageurl.FromString(vexPURL)
	if err != nil {
		return false
	}
	b, err := packageurl.FromString(pkgPURL)
	if err != nil {
		return false
	}
	if a.Type != b.Type || !strings.EqualFold(a.Namespace, b.Namespace) || a.Name != b.Name {
		return false
	}
	return a.Version == "" || a.Version == b.Version
}

// imageMatches says whether a product identifier names the scanned image:
// one of its names or digests, or a pkg:oci URL with its digest.
func imageMatches(product string, image []string) bool {
	if u, err := url.PathUnescape(product); err == nil {
		product = u
	}
	for _, n := range image {
		if n == "" {
			continue
		}
		if product == n || strings.Contains(product, n) {
			return true
		}
	}
	return false
}

func containsFold(ss []string, s string) bool {
	for _, x := range ss {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
