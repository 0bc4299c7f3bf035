// Package report writes a finding.Report as a table, JSON, SARIF or, for
// vulnerability findings, CycloneDX. Which command offers which format is
// said in one place, package output.
package report

import (
	"encoding/json"
	"io"

	"github.com/bulwark-sec/bulwark/internal/finding"
)

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
