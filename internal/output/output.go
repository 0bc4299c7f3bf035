// Package output is the one place that says which output formats each
// command offers and which writer writes each: one table per kind of
// document (a gate's report, a scan's report, an SBOM, a NIST SP 800-190
// assessment). Commands look a format up here; nothing registers formats
// elsewhere.
package output

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/htmlreport"
	"github.com/bulwark-sec/bulwark/internal/inventory"
	"github.com/bulwark-sec/bulwark/internal/inventory/sbom"
	"github.com/bulwark-sec/bulwark/internal/nist"
	"github.com/bulwark-sec/bulwark/internal/report"
	"github.com/bulwark-sec/bulwark/internal/trivyfmt"
)

// Writer writes a document of type T in one format.
type Writer[T any] func(w io.Writer, doc T) error

// Format is one named format and its writer.
type Format[T any] struct {
	Name  string
	Write Writer[T]
}

// Table is the formats a command offers, its default first.
type Table[T any] []Format[T]

// Names lists the format names, the default first.
func (t Table[T]) Names() []string {
	names := make([]string, len(t))
	for i, f := range t {
		names[i] = f.Name
	}
	return names
}

// Lookup returns the writer of a format name (any case); the error lists
// the formats there are.
func (t Table[T]) Lookup(name string) (Writer[T], error) {
	for _, f := range t {
		if strings.EqualFold(f.Name, name) {
			return f.Write, nil
		}
	}
	return nil, fmt.Errorf("unknown output format %q (want one of %s)", name, strings.Join(t.Names(), ", "))
}

// The formats of every command that writes a document.
var (
	// Findings is the report of lint and secrets.
	Findings = Table[*finding.Report]{{"table", report.Table}, {"json", report.JSON}, {"sarif", report.SARIF}, {"junit", report.JUnit}, {"html", htmlreport.Findings}}
	// Scan is the report of scan: the gates' formats and a CycloneDX
	// document of the vulnerabilities.
	Scan = Table[*finding.Report]{{"table", report.Table}, {"json", report.JSON}, {"sarif", report.SARIF}, {"junit", report.JUnit}, {"cyclonedx", report.CycloneDX}, {"html", htmlreport.Findings}}
	// SBOM is the inventory sbom writes.
	SBOM = Table[*inventory.SBOM]{{"table", sbom.Table}, {"json", sbom.JSON}, {"cyclonedx", sbom.CycloneDX}, {"spdx-json", sbom.SPDX}, {"html", htmlreport.SBOM}}
	// NIST is the assessment of report nist-800-190.
	NIST = Table[*nist.Assessment]{{"table", nist.Table}, {"json", nist.JSON}}
)

// Extras is what Trivy's github and template formats need beyond the
// document; the writers read it when the report is written, so a command
// fills it in once its scan ran.
type Extras struct {
	// Inventory is the package inventory the report was matched from.
	Inventory *inventory.SBOM
	// Template is the parsed --template.
	Template *trivyfmt.Template
	// Env reads the GITHUB_* variables of the github format.
	Env func(string) string
}

func (x *Extras) github(w io.Writer, s *inventory.SBOM) error {
	if s == nil {
		return fmt.Errorf("the github format lists the packages, and this run made no inventory")
	}
	return trivyfmt.GitHub(w, s, x.Env, s.CreatedAt)
}

func (x *Extras) template(w io.Writer, r *finding.Report, s *inventory.SBOM) error {
	if x.Template == nil {
		return fmt.Errorf("-f template needs --template TEMPLATE or --template @FILE")
	}
	return x.Template.Execute(w, trivyfmt.Results(r, s))
}

// ScanWith is Scan and Trivy's github (the dependency snapshot of
// x.Inventory) and template (x.Template run on Trivy's results) formats.
func ScanWith(x *Extras) Table[*finding.Report] {
	return append(slices.Clone(Scan),
		Format[*finding.Report]{"github", func(w io.Writer, _ *finding.Report) error { return x.github(w, x.Inventory) }},
		Format[*finding.Report]{"template", func(w io.Writer, r *finding.Report) error { return x.template(w, r, x.Inventory) }})
}

// SBOMWith is SBOM and Trivy's github and template formats.
func SBOMWith(x *Extras) Table[*inventory.SBOM] {
	return append(slices.Clone(SBOM),
		Format[*inventory.SBOM]{"github", x.github},
		Format[*inventory.SBOM]{"template", func(w io.Writer, s *inventory.SBOM) error { return x.template(w, nil, s) }})
}
