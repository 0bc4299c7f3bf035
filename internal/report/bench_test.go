package report

import (
	"fmt"
	"io"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/testutil/growth"
)

// syntheticReport is a scan report of n vulnerability findings, each
// advisory distinct (one SARIF rule each, the worst case for rule lookup)
// and one package in two affected by two advisories.
func syntheticReport(n int) *finding.Report {
	fs := make([]finding.Finding, n)
	layer := &finding.LayerRef{Index: 1, Digest: "sha256:" + fmt.Sprintf("%064d", 1), DiffID: "sha256:" + fmt.Sprintf("%064d", 2)}
	for i := range fs {
		pkg := fmt.Sprintf("pkg-%d", i/2)
		fs[i] = finding.Finding{Gate: finding.GateVuln, ID: fmt.Sprintf("GHSA-%07d", i), Title: "Prototype pollution in " + pkg,
			Severity: finding.Severity(i % 5), Message: pkg + " 1.0.0, fixed in 1.0.1",
			References: []string{"https://github.com/advisories/" + fmt.Sprintf("GHSA-%07d", i)},
			Location:   finding.Location{Path: "app/node_modules/" + pkg + "/package.json", Layer: layer},
			Vuln: &finding.VulnDetail{Package: pkg, Ecosystem: "npm", InstalledVersion: "1.0.0", FixedVersion: "1.0.1",
				PURL: "pkg:npm/" + pkg + "@1.0.0", Aliases: []string{fmt.Sprintf("CVE-2026-%d", 10000+i)}, Status: "fixed"}}
	}
	r := &finding.Report{Tool: "bulwark", Version: "bench", Target: finding.Target{Name: "bench", Kind: "image"},
		Gates: []finding.Gate{finding.GateVuln}, Findings: fs}
	r.Sort()
	return r
}

// BenchmarkWriters writes reports of 1k, 10k and 100k findings in every
// format; x10@N is the growth per tenfold input (about 10 when linear).
func BenchmarkWriters(b *testing.B) {
	reports := map[int]*finding.Report{}
	for _, n := range growth.Sizes {
		reports[n] = syntheticReport(n)
	}
	for _, f := range []struct {
		name  string
		write func(io.Writer, *finding.Report) error
	}{{"table", Table}, {"json", JSON}, {"sarif", SARIF}, {"cyclonedx", CycloneDX}} {
		b.Run(f.name, func(b *testing.B) {
			growth.Report(b, growth.Sizes, func(n int) {
				if err := f.write(io.Discard, reports[n]); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// BenchmarkSort sorts reports of 1k, 10k and 100k findings.
func BenchmarkSort(b *testing.B) {
	reports := map[int]*finding.Report{}
	for _, n := range growth.Sizes {
		reports[n] = syntheticReport(n)
	}
	growth.Report(b, growth.Sizes, func(n int) {
		r := *reports[n]
		r.Findings = append([]finding.Finding(nil), r.Findings...)
		r.Sort()
	})
}
