package htmlreport

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/inventory"
)

// hostile is text an image controls: a file name, a history line, a
// package name.
const hostile = `<script>alert(1)</script><img src="https://evil.example/x.png">`

func hostileReport() *finding.Report {
	layer := &finding.LayerRef{Index: 2, Digest: "sha256:0123456789abcdef0123456789abcdef", CreatedBy: "RUN " + hostile}
	return &finding.Report{
		Tool: "bulwark", Version: "test", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Target: finding.Target{Name: "app:" + hostile, Kind: "image", Digest: "sha256:feed"},
		Gates:  []finding.Gate{finding.GateVuln, finding.GateSecrets, finding.GateLint},
		Findings: []finding.Finding{
			{Gate: finding.GateVuln, ID: "CVE-2024-0001", Title: "title " + hostile, Severity: finding.Critical, Failing: true,
				Location:   finding.Location{Path: "usr/lib/" + hostile, Layer: layer},
				Vuln:       &finding.VulnDetail{Package: "openssl", InstalledVersion: "3.0.1", FixedVersion: "3.0.2"},
				References: []string{"https://security-tracker.debian.org/tracker/CVE-2024-0001", "javascript:alert(1)"}},
			{Gate: finding.GateVuln, ID: "CVE-2024-0002", Title: "medium one", Severity: finding.Medium},
			{Gate: finding.GateLint, ID: "CIS-DI-0001", Title: "user root", Severity: finding.Medium, Location: finding.Location{Field: "config.User"}},
			{Gate: finding.GateLint, ID: "DKL-DI-0006", Title: "latest tag", Severity: finding.Medium, Suppressed: &finding.Suppression{Kind: "ignore", Reason: "ok"}},
		},
		Warnings: []string{"skipped " + hostile},
		Database: &finding.Database{SchemaVersion: 3, BuiltAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
			Sources: []finding.DatabaseSource{{Kind: "osv", Date: time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC), Records: 42}}},
	}
}

// selfContained fails the test on anything that would make a browser fetch
// or run something: scripts, stylesheets, images or frames from elsewhere,
// and any http(s) URL in an src or href attribute.
func selfContained(t *testing.T, page string) {
	t.Helper()
	if strings.Contains(page, "<script") {
		t.Error("the page has a <script> element")
	}
	for _, re := range []string{`(?i)<(link|iframe|object|embed|img)\b`, `(?i)\b(src|href|xlink:href)\s*=\s*["']?\s*(https?:)?//`, `(?i)url\(`, `(?i)@import`} {
		if m := regexp.MustCompile(re).FindString(page); m != "" {
			t.Errorf("the page fetches something: %q", m)
		}
	}
}

func TestFindingsEscapesHostileText(t *testing.T) {
	var b bytes.Buffer
	if err := Findings(&b, hostileReport()); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	selfContained(t, page)
	if n := strings.Count(page, "&lt;script&gt;alert(1)&lt;/script&gt;"); n < 5 {
		t.Errorf("hostile text escaped %d times, want in the target, title, path, history and warning", n)
	}
	for _, want := range []string{
		`id="verdict">FAIL<`, "1 suppressed", `id="gate-vuln"`, `id="gate-lint"`, `id="gate-secrets"`, "No findings.",
		"CRITICAL</span> 1", "MEDIUM</span> 1", "WARN</span> 1", // lint shows Dockle's level names
		"layer 2", "sha256:0123456789ab", "3.0.1 → fixed in 3.0.2", "fails the gate",
		"built 2026-01-01T00:00:00Z (schema 3)", "osv: 2025-12-31T00:00:00Z, 42 records", `<svg id="chart"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Gates in the report's order, most serious first within each.
	if strings.Index(page, "CVE-2024-0001") > strings.Index(page, "CVE-2024-0002") {
		t.Error("CRITICAL listed after MEDIUM")
	}
}

func TestPassAndPipeline(t *testing.T) {
	r := hostileReport()
	for i := range r.Findings {
		r.Findings[i].Failing = false
	}
	var b bytes.Buffer
	if err := Findings(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `id="verdict">PASS<`) {
		t.Error("a report with no failing finding is not PASS")
	}
	b.Reset()
	run := Run{Name: "app", Verdict: "failed", Stages: []Stage{{Name: "scan", Verdict: "FAILED", Duration: time.Second, Detail: "1 " + hostile}, {Name: "push", Verdict: "NOT RUN"}}}
	if err := Pipeline(&b, r, run); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	selfContained(t, page)
	for _, want := range []string{`id="verdict">FAILED<`, `<table id="stages">`, `verdict-other">NOT RUN<`, "1 &lt;script&gt;"} {
		if !strings.Contains(page, want) {
			t.Errorf("pipeline page lacks %q", want)
		}
	}
}

func TestSBOM(t *testing.T) {
	s := &inventory.SBOM{Tool: "bulwark", ToolVersion: "test", Target: finding.Target{Name: "app.tar", Kind: "image"},
		Packages: []inventory.Package{
			{Name: "openssl", Version: "3.0.1", Ecosystem: "Debian", PURL: "pkg:deb/debian/openssl@3.0.1", Licenses: []string{"Apache-2.0"},
				Locations: []inventory.Location{{Path: "var/lib/dpkg/status", Layer: &finding.LayerRef{Index: 0, DiffID: "sha256:abc", CreatedBy: "ADD rootfs.tar /"}}}},
			{Name: hostile, Version: "1", Ecosystem: "npm"},
		}}
	var b bytes.Buffer
	if err := SBOM(&b, s); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	selfContained(t, page)
	for _, want := range []string{`id="verdict">PASS<`, "2 packages", "Debian (1)", "npm (1)", "pkg:deb/debian/openssl@3.0.1", "ADD rootfs.tar /", "&lt;script&gt;"} {
		if !strings.Contains(page, want) {
			t.Errorf("sbom page lacks %q", want)
		}
	}
	s.Escapes = []finding.Finding{{Gate: finding.GateImage, ID: "BW-IMG-TRAVERSAL", Title: "entry leaves the root", Severity: finding.Critical, Location: finding.Location{Path: "../../etc/evil"}}}
	b.Reset()
	if err := SBOM(&b, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `id="verdict">FAIL<`) || !strings.Contains(b.String(), "../../etc/evil") {
		t.Error("an SBOM with escapes is not FAIL with the entry shown")
	}
}
