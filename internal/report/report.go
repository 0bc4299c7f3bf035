// Package report writes a finding.Report as a table, JSON or SARIF.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/finding"
)

// Writer writes a report in one format.
type Writer func(w io.Writer, r *finding.Report) error

// writers maps each format name to its writer; gates with formats of
// their own (SBOM formats) register them with Register.
var writers = map[string]Writer{
	"table": Table,
	"json":  JSON,
	"sarif": SARIF,
}

// Register adds a writer for a format. It is meant for init-free wiring in
// the packages that own a format and panics on a duplicate name.
func Register(format string, w Writer) {
	if _, dup := writers[format]; dup {
		panic("report: format registered twice: " + format)
	}
	writers[format] = w
}

// Formats lists the registered format names.
func Formats() []string {
	var names []string
	for n := range writers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Write writes the report in the named format.
func Write(w io.Writer, r *finding.Report, format string) error {
	wr, ok := writers[strings.ToLower(format)]
	if !ok {
		return fmt.Errorf("unknown output format %q (want one of %s)", format, strings.Join(Formats(), ", "))
	}
	r.Sort()
	return wr(w, r)
}

// JSON writes the report as indented JSON.
func JSON(w io.Writer, r *finding.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	out := *r
	if out.Findings == nil {
		out.Findings = []finding.Finding{}
	}
	return enc.Encode(&out)
}
