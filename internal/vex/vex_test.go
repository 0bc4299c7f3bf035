package vex

import (
	"testing"

	"github.com/bulwark-sec/bulwark/internal/finding"
)

const doc = `{
  "@context": "https://openvex.dev/ns/v0.2.0",
  "@id": "https://example.com/vex/1",
  "author": "Security Team",
  "timestamp": "2024-01-01T00:00:00Z",
  "version": 1,
  "statements": [
    {"vulnerability": {"name": "CVE-2021-44228"},
     "products": [{"@id": "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"}],
     "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path",
     "impact_statement": "JNDI lookups are disabled"},
    {"vulnerability": {"name": "GO-2022-0236", "aliases": ["CVE-2021-31525"]},
     "products": [{"@id": "pkg:oci/app@sha256%3Aabc", "subcomponents": [{"@id": "pkg:golang/golang.org/x/net"}]}],
     "status": "fixed"},
    {"vulnerability": {"name": "CVE-2000-0001"},
     "products": [{"@id": "pkg:oci/app@sha256%3Aabc"}],
     "status": "not_affected", "justification": "component_not_present"},
    {"vulnerability": {"name": "CVE-2000-0002"},
     "products": [{"@id": "pkg:npm/lodash"}], "status": "not_affected", "justification": "inline_mitigations_already_exist"},
    {"vulnerability": {"name": "CVE-2000-0002"},
     "products": [{"@id": "pkg:npm/lodash"}], "status": "affected"}
  ]
}`

func vf(id, purl string, aliases ...string) finding.Finding {
	return finding.Finding{Gate: finding.GateVuln, ID: id, Vuln: &finding.VulnDetail{PURL: purl, Aliases: aliases}}
}

func TestApply(t *testing.T) {
	d, err := Parse([]byte(doc), "vex.json")
	if err != nil {
		t.Fatal(err)
	}
	r := &finding.Report{Findings: []finding.Finding{
		vf("GHSA-jfh8-c2jp-5v3q", "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", "CVE-2021-44228"),
		vf("GHSA-jfh8-c2jp-5v3q", "pkg:maven/org.apache.logging.log4j/log4j-core@2.15.0", "CVE-2021-44228"),
		vf("GO-2022-0236", "pkg:golang/golang.org/x/net@v0.0.0-20210428140749-89ef3d95e781"),
		vf("GO-2022-0236", "pkg:golang/stdlib@v1.16.0"),
		vf("CVE-2000-0001", "pkg:deb/debian/zlib@1.0"),
		vf("CVE-2000-0002", "pkg:npm/lodash@4.17.20"),
	}}
	Apply(r, []*Document{d}, []string{"app", "sha256:abc"})
	want := []string{"vex:not_affected: vulnerable_code_not_in_execute_path (JNDI lookups are disabled)", "", "vex:fixed", "", "vex:not_affected: component_not_present", ""}
	for i, f := range r.Findings {
		got := ""
		if f.Suppressed != nil {
			got = f.Suppressed.Kind + ":" + f.Suppressed.Reason
		}
		if got != want[i] {
			t.Errorf("finding %d (%s %s): suppressed %q, want %q", i, f.ID, f.Vuln.PURL, got, want[i])
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, bad := range []string{
		`not json`,
		`{"@context": "https://cyclonedx.org", "statements": []}`,
		`{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"vulnerability": {"name": "X"}, "status": "maybe"}]}`,
		`{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"vulnerability": {}, "status": "fixed"}]}`,
	} {
		if _, err := Parse([]byte(bad), "bad.json"); err == nil {
			t.Errorf("Parse(%s): no error", bad)
		}
	}
	// OpenVEX 0.0.1 wrote strings.
	d, err := Parse([]byte(`{"@context": "https://openvex.dev/ns", "statements": [{"vulnerability": "CVE-1", "products": ["pkg:npm/a"], "status": "fixed"}]}`), "old.json")
	if err != nil || len(d.Statements) != 1 || d.Statements[0].Products[0] != "pkg:npm/a" {
		t.Errorf("Parse 0.0.1: %+v, %v", d, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(doc))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data, "fuzz.json")
		if err != nil {
			return
		}
		r := &finding.Report{Findings: []finding.Finding{vf("CVE-1", "pkg:npm/a@1"), vf("X", "garbage")}}
		Apply(r, []*Document{d}, []string{"img"})
	})
}
