package report

import (
	"bytes"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/bulwark-sec/bulwark/internal/finding"
)

// TestCycloneDX reads the BOM back: one component per package, one
// vulnerability per advisory and package with its CVSS method, a VEX
// "fixed" suppression as resolved, and lint findings left out.
func TestCycloneDX(t *testing.T) {
	r := sample()
	log4j := &finding.VulnDetail{Package: "log4j-core", Ecosystem: "Maven", InstalledVersion: "2.14.1",
		PURL: "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", FixedVersion: "2.15.0", Status: "fixed",
		CVSSVector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", CVSSScore: 10, SeveritySource: "ghsa CVSS 3.1"}
	second := *log4j
	second.CVSSVector, second.CVSSScore = "", 0
	r.Findings = append(r.Findings,
		finding.Finding{Gate: finding.GateVuln, ID: "CVE-2021-44228", Severity: finding.Critical, Vuln: log4j},
		finding.Finding{Gate: finding.GateVuln, ID: "CVE-2021-45046", Severity: finding.Medium, Vuln: &second,
			Suppressed: &finding.Suppression{Kind: "vex", Reason: "fixed", Source: "app.vex.json"}})
	var b bytes.Buffer
	if err := CycloneDX(&b, r); err != nil {
		t.Fatal(err)
	}
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(&b, cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		t.Fatal(err)
	}
	if bom.Components == nil || len(*bom.Components) != 1 || (*bom.Components)[0].PackageURL != log4j.PURL {
		t.Fatalf("components = %+v, want the one log4j-core", bom.Components)
	}
	if bom.Vulnerabilities == nil || len(*bom.Vulnerabilities) != 2 {
		t.Fatalf("vulnerabilities = %+v, want two (lint findings left out)", bom.Vulnerabilities)
	}
	v0, v1 := (*bom.Vulnerabilities)[0], (*bom.Vulnerabilities)[1]
	if rt := (*v0.Ratings)[0]; v0.ID != "CVE-2021-44228" || rt.Method != cdx.ScoringMethodCVSSv31 || rt.Score == nil || *rt.Score != 10 || rt.Severity != cdx.SeverityCritical {
		t.Errorf("first vulnerability %s rated %+v", v0.ID, rt)
	}
	if v0.Recommendation != "Upgrade log4j-core to 2.15.0" || v0.Analysis != nil {
		t.Errorf("first vulnerability: recommendation %q, analysis %+v", v0.Recommendation, v0.Analysis)
	}
	if v1.Analysis == nil || v1.Analysis.State != cdx.IASResolved {
		t.Errorf("VEX-fixed vulnerability analysis = %+v, want resolved", v1.Analysis)
	}
}
