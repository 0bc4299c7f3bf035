package cli

import (
	"strings"
	"testing"
)

// TestFormatCheckedAtParse: a format the command does not offer is a usage
// error (exit 2) listing the command's formats, before any image, key or
// file is read (the image and files named here do not exist).
func TestFormatCheckedAtParse(t *testing.T) {
	cases := []struct {
		args []string
		list string
	}{
		{[]string{"lint", "--input", "/nonexistent/x.tar", "-f", "cyclonedx"}, "want one of table, json, sarif, junit"},
		{[]string{"secrets", "/nonexistent", "--format", "spdx-json"}, "want one of table, json, sarif, junit"},
		{[]string{"scan", "--input", "/nonexistent/x.tar", "-f", "xml"}, "want one of table, json, sarif, junit, cyclonedx"},
		{[]string{"sbom", "/nonexistent", "-f", "sarif"}, "want one of table, json, cyclonedx, spdx-json"},
		{[]string{"report", "nist-800-190", "--from", "/nonexistent/report.json", "-f", "sarif"}, "want one of table, json"},
		{[]string{"verify", "--key", "/nonexistent/cosign.pub", "-f", "table", "127.0.0.1:1/x:1"}, "want one of text, json"},
		{[]string{"verify-attestation", "--key", "/nonexistent/cosign.pub", "-f", "sarif", "127.0.0.1:1/x:1"}, "want one of text, json"},
	}
	for _, tc := range cases {
		code, out, errOut := runCLI(t, tc.args...)
		if code != 2 || out != "" || !strings.Contains(errOut, "unknown output format") || !strings.Contains(errOut, tc.list) || strings.Contains(errOut, "nonexistent") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and only the format error listing %q", tc.args, code, out, errOut, tc.list)
		}
	}
}

// TestFormatAnyCase: format names and aliases match in any case.
func TestFormatAnyCase(t *testing.T) {
	f := newFormatFlag("table", "json", "spdx-json")
	if err := f.Set("SPDX-JSON"); err != nil || f.String() != "spdx-json" {
		t.Errorf("Set(SPDX-JSON) = %v, value %q", err, f.String())
	}
	if err := f.Set("spdx"); err == nil || f.String() != "spdx-json" {
		t.Errorf("Set(spdx) = %v, value %q; want an error and the value kept", err, f.String())
	}
	f.alias("list", "table")
	if err := f.Set("LIST"); err != nil || f.String() != "table" {
		t.Errorf("Set(LIST) with the alias list = %v, value %q; want table", err, f.String())
	}
}
