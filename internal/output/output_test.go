package output

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/finding"
)

func TestTables(t *testing.T) {
	for name, tt := range map[string]struct{ got, want []string }{
		"findings": {Findings.Names(), []string{"table", "json", "sarif", "junit", "html"}},
		"scan":     {Scan.Names(), []string{"table", "json", "sarif", "junit", "cyclonedx", "html"}},
		"sbom":     {SBOM.Names(), []string{"table", "json", "cyclonedx", "spdx-json", "html"}},
		"nist":     {NIST.Names(), []string{"table", "json"}},
	} {
		if !slices.Equal(tt.got, tt.want) {
			t.Errorf("%s formats = %q, want %q", name, tt.got, tt.want)
		}
	}
}

func TestLookup(t *testing.T) {
	w, err := Scan.Lookup("CycloneDX")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := w(&b, &finding.Report{Tool: "bulwark", Target: finding.Target{Name: "app.tar"}}); err != nil || !strings.Contains(b.String(), `"bomFormat": "CycloneDX"`) {
		t.Errorf("cyclonedx writer wrote %q, %v", b.String(), err)
	}
	// A lint or secrets report has no CycloneDX form.
	if _, err := Findings.Lookup("cyclonedx"); err == nil || !strings.Contains(err.Error(), "table, json, sarif") {
		t.Errorf("Findings.Lookup(cyclonedx) = %v, want an error listing table, json, sarif", err)
	}
}
