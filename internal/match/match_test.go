package match

import (
	"bytes"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/inventory"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

func testDB(t *testing.T, advs []vulndb.Advisory) *vulndb.DB {
	t.Helper()
	var buf bytes.Buffer
	if err := vulndb.Write(&buf, vulndb.Metadata{BuiltAt: time.Unix(0, 0).UTC()}, advs); err != nil {
		t.Fatal(err)
	}
	db, err := vulndb.OpenBytes("test.bwdb", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func debAffected(release, pkg, status, fixed, urgency string) vulndb.Affected {
	r := vulndb.Range{Type: "ECOSYSTEM", Events: []vulndb.Event{{Introduced: "0"}}}
	if fixed != "" {
		r.Events = append(r.Events, vulndb.Event{Fixed: fixed})
	}
	return vulndb.Affected{Ecosystem: release, Package: pkg, Ranges: []vulndb.Range{r},
		Distro: &vulndb.DistroStatus{Status: status, FixedVersion: fixed, Urgency: urgency}}
}

func TestMatch(t *testing.T) {
	db := testDB(t, []vulndb.Advisory{
		{ID: "CVE-2024-0001", Summary: "glibc fixed in bookworm", Affected: []vulndb.Affected{
			debAffected("Debian:12", "glibc", vulndb.StatusFixed, "2.36-9+deb12u5", "high"),
			debAffected("Debian:11", "glibc", vulndb.StatusFixed, "2.31-13+deb11u9", "high"),
		}},
		{ID: "CVE-2024-0002", Summary: "glibc, bullseye only", Affected: []vulndb.Affected{
			debAffected("Debian:11", "glibc", vulndb.StatusOpen, "", "low"),
		}},
		{ID: "CVE-2024-0003", Summary: "glibc, no-dsa", Affected: []vulndb.Affected{
			debAffected("Debian:12", "glibc", vulndb.StatusNoDSA, "", "low"),
		}},
		{ID: "CVE-2024-0004", Summary: "glibc, fixed before", Affected: []vulndb.Affected{
			debAffected("Debian:12", "glibc", vulndb.StatusFixed, "2.36-9+deb12u1", "high"),
		}},
		{ID: "GHSA-aaaa-bbbb-cccc", Summary: "left-pad", DatabaseSeverity: "HIGH", Sources: []string{"ghsa"},
			Severity: []vulndb.Severity{{Type: vulndb.CVSSv3, Score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", Source: "nvd"}},
			KEV:      &vulndb.KEV{CVE: "CVE-2024-0005"}, EPSS: &vulndb.EPSS{Score: 0.7},
			Affected: []vulndb.Affected{{Ecosystem: "npm", Package: "left-pad", Ranges: []vulndb.Range{{Type: "SEMVER", Events: []vulndb.Event{{Introduced: "0"}, {Fixed: "1.3.1"}}}}}}},
		{ID: "GHSA-bad-range", Summary: "bad range", Affected: []vulndb.Affected{{Ecosystem: "npm", Package: "weird", Ranges: []vulndb.Range{{Type: "SEMVER", Events: []vulndb.Event{{Introduced: "0"}, {Fixed: "1.0.0"}}}}}}},
	})
	layer0 := &finding.LayerRef{Index: 0, DiffID: "sha256:base"}
	layer2 := &finding.LayerRef{Index: 2, DiffID: "sha256:app"}
	sb := &inventory.SBOM{
		Target: finding.Target{OS: &finding.OS{ID: "debian", Version: "12"}},
		Packages: []inventory.Package{
			{Name: "libc6", Version: "2.36-9+deb12u4", SourceName: "glibc", SourceVersion: "2.36-9+deb12u4", Ecosystem: "Debian", Kind: inventory.KindOS,
				PURL: "pkg:deb/debian/libc6@2.36-9+deb12u4", Locations: []inventory.Location{{Path: "var/lib/dpkg/status", Layer: layer0}}},
			{Name: "left-pad", Version: "1.3.0", Ecosystem: "npm", Kind: inventory.KindLang, Locations: []inventory.Location{{Path: "app/node_modules/left-pad/package.json", Layer: layer2}}},
			{Name: "weird", Version: "not-a-version", Ecosystem: "npm", Kind: inventory.KindLang},
			{Name: "plug", Version: "1.0.0", Ecosystem: "Hex", Kind: inventory.KindLang},
			{Name: "nover", Version: "", Ecosystem: "npm", Kind: inventory.KindLang},
		},
	}
	res, err := Match(db, sb, Options{BaseLayers: 1})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]finding.Finding{}
	for _, f := range res.Findings {
		got[f.ID] = f
	}
	if len(got) != 4 {
		t.Errorf("got %d findings, want 4: %v", len(got), res.Findings)
	}
	if f, ok := got["CVE-2024-0001"]; !ok {
		t.Error("CVE-2024-0001 (fixed in a later bookworm update) not reported")
	} else {
		d := f.Vuln
		if d.Status != StatusFixed || d.FixedVersion != "2.36-9+deb12u5" || d.Ecosystem != "Debian:12" || d.SourcePackage != "glibc" || !d.FromBase || f.Severity != finding.High || d.SeveritySource != "distribution urgency" {
			t.Errorf("CVE-2024-0001: %+v severity %s", d, f.Severity)
		}
		if f.Location.Layer != layer0 {
			t.Errorf("CVE-2024-0001: layer %+v, want the base layer", f.Location.Layer)
		}
	}
	if _, ok := got["CVE-2024-0002"]; ok {
		t.Error("CVE-2024-0002 is a Debian 11 advisory; it must not apply to Debian 12")
	}
	if _, ok := got["CVE-2024-0004"]; ok {
		t.Error("CVE-2024-0004 was fixed before the installed version")
	}
	if f := got["CVE-2024-0003"]; f.Vuln == nil || f.Vuln.Status != StatusAffected || f.Vuln.TrackerStatus != vulndb.StatusNoDSA || f.Vuln.FixedVersion != "" {
		t.Errorf("CVE-2024-0003: %+v, want affected with tracker status no-dsa", f.Vuln)
	}
	if f := got["GHSA-aaaa-bbbb-cccc"]; f.Vuln == nil || f.Severity != finding.High || f.Vuln.SeveritySource != "ghsa" || !f.Vuln.KEV || f.Vuln.EPSS != 0.7 || f.Vuln.FromBase {
		t.Errorf("GHSA-aaaa-bbbb-cccc: %+v severity %s (want GHSA's HIGH before NVD's CRITICAL)", f.Vuln, f.Severity)
	}
	if f := got["GHSA-bad-range"]; f.Vuln == nil || f.Vuln.Status != StatusCouldNotCompare {
		t.Errorf("weird not-a-version: %+v, want could-not-compare", f.Vuln)
	}
	if len(res.NotChecked) != 2 {
		t.Errorf("not checked = %+v, want plug (Hex) and nover", res.NotChecked)
	}
	if w := res.Warnings(); len(w) != 2 {
		t.Errorf("warnings = %q", w)
	}
}

// TestPlatformLimitedAdvisory: a Windows-only Go advisory applies to a
// Windows binary and to one of unknown platform, not to a Linux binary.
func TestPlatformLimitedAdvisory(t *testing.T) {
	db := testDB(t, []vulndb.Advisory{{ID: "GO-2024-2961", Affected: []vulndb.Affected{{
		Ecosystem: "Go", Package: "golang.org/x/crypto", Platforms: []string{"windows"},
		Ranges: []vulndb.Range{{Type: "SEMVER", Events: []vulndb.Event{{Introduced: "0"}, {Fixed: "0.0.0-20220525230936-793ad666bf5e"}}}},
	}}}})
	for platform, want := range map[string]int{"linux": 0, "windows": 1, "": 1} {
		sb := &inventory.SBOM{Packages: []inventory.Package{{Name: "golang.org/x/crypto", Version: "v0.0.0-20210921155107-089bfa567519",
			Ecosystem: "Go", Kind: inventory.KindLang, Platform: platform}}}
		res, err := Match(db, sb, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Findings) != want {
			t.Errorf("platform %q: %d findings, want %d", platform, len(res.Findings), want)
		}
	}
}
