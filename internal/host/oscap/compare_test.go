package oscap

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/host"
	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// ssgDS is the SSG datastream Debian's ssg-debian ships for Debian 11
// (the newest it has).
const ssgDS = "/usr/share/xml/scap/ssg/content/ssg-debian11-ds.xml"

func TestMapping(t *testing.T) {
	m, err := LoadMapping()
	if err != nil {
		t.Fatal(err)
	}
	p, err := host.Lookup("debian-12")
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, c := range p.Checks {
		ids[c.ID] = true
	}
	for _, pair := range m.Map {
		if !ids[pair.Check] {
			t.Errorf("mapping names %s, which debian-12 does not have", pair.Check)
		}
		if len(pair.Rules) == 0 {
			t.Errorf("%s maps to no rule", pair.Check)
		}
	}
	if b, err := os.ReadFile(ssgDS); err == nil {
		for _, r := range m.Rules() {
			if !strings.Contains(string(b), `id="`+RulePrefix+r+`"`) {
				t.Errorf("SSG has no rule %s", r)
			}
		}
		for v := range m.Values {
			if !strings.Contains(string(b), `id="`+ValuePrefix+v+`"`) {
				t.Errorf("SSG has no value %s", v)
			}
		}
	}
}

// anyDebianDS writes a copy of the Debian 11 datastream without its
// benchmark-wide platform, so that OpenSCAP evaluates the rules on Debian 12
// too (ssg-debian has no Debian 12 content); rule-level platforms stay.
func anyDebianDS(t *testing.T) string {
	b, err := os.ReadFile(ssgDS)
	if err != nil {
		t.Fatal(err)
	}
	const platform = `<xccdf-1.2:platform idref="cpe:/o:debian:debian_linux:11"/>`
	if strings.Count(string(b), platform) != 1 {
		t.Fatalf("%s: want one benchmark platform line", ssgDS)
	}
	p := filepath.Join(t.TempDir(), "ssg-debian-any-ds.xml")
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), platform, "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAgreement runs OpenSCAP and bulwark side by side on real debootstrap
// root file systems (Debian 11 and 12; as installed, hardened, and broken
// on purpose), compares every mapped check both judged, and requires each
// disagreement to be one the mapping explains. It prints the agreement
// table and both tools' times (BULWARK_HOST_BENCH_RUNS repeats the timing).
func TestAgreement(t *testing.T) {
	testutil.RequireTool(t, "oscap")
	if _, err := os.Stat(ssgDS); err != nil {
		if os.Getenv("BULWARK_INTEGRATION") != "" {
			t.Fatalf("ssg-debian is not installed: %v", err)
		}
		t.Skip("ssg-debian is not installed")
	}
	m, err := LoadMapping()
	if err != nil {
		t.Fatal(err)
	}
	anyDS := anyDebianDS(t)
	type variantSpec struct {
		name, suite string
		change      func(*rootfs)
	}
	specs := []variantSpec{
		{"bullseye", "bullseye", nil},
		{"bullseye-hardened", "bullseye", harden},
		{"bullseye-broken", "bullseye", func(r *rootfs) { harden(r); breakIt(r) }},
		{"bookworm", "bookworm", nil},
		{"bookworm-hardened", "bookworm", harden},
		{"bookworm-broken", "bookworm", func(r *rootfs) { harden(r); breakIt(r) }},
	}
	var compared, agreed, explained int
	var unexplained []string
	var table strings.Builder
	var bwTime, oscapTime time.Duration
	for _, s := range specs {
		base := testutil.DebianSuiteRootfs(t, s.suite, serverPackages...)
		dir := base
		if s.change != nil {
			dir = variant(t, base, s.change)
		}
		ds := ssgDS
		if s.suite != "bullseye" {
			ds = anyDS
		}
		ctx := context.Background()
		start := time.Now()
		img, err := image.Open(ctx, "rootfs:"+dir, image.Options{})
		if err != nil {
			t.Fatal(err)
		}
		a, err := host.Run(ctx, img, "debian-12")
		img.Close()
		if err != nil {
			t.Fatal(err)
		}
		bwTime += time.Since(start)
		start = time.Now()
		res, err := Eval(ctx, m, dir, ds, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		oscapTime += time.Since(start)
		for _, row := range Compare(m, a, res) {
			if !row.Compared() {
				fmt.Fprintf(&table, "%-18s %-30s bulwark=%-13s ssg=%-13s (not compared)\n", s.name, row.Check, row.Bulwark, row.SSG)
				continue
			}
			compared++
			mark := "agree"
			if row.Agree() {
				agreed++
			} else {
				key := s.name + "/" + row.Check
				why, ok := m.Explain(s.name, row.Check)
				if !ok {
					unexplained = append(unexplained, fmt.Sprintf("%s: bulwark %s (%s), SSG %s %v", key, row.Bulwark, row.Detail, row.SSG, row.Rules))
					why = "UNEXPLAINED"
				}
				if ok {
					explained++
				}
				mark = "DISAGREE: " + why
			}
			fmt.Fprintf(&table, "%-18s %-30s bulwark=%-13s ssg=%-13s %s\n", s.name, row.Check, row.Bulwark, row.SSG, mark)
		}
	}
	t.Logf("agreement table:\n%s", table.String())
	pct := 100 * float64(agreed) / float64(max(compared, 1))
	t.Logf("agreement: %d of %d compared checks (%.1f%%) over %d root file systems; %d disagreements explained by the mapping, %d unexplained",
		agreed, compared, pct, len(specs), explained, len(unexplained))
	t.Logf("time over %d root file systems: bulwark %s (whole debian-12 profile, walk included), oscap %s (%d mapped rules only): oscap/bulwark = %.1fx",
		len(specs), bwTime.Round(time.Millisecond), oscapTime.Round(time.Millisecond), len(m.Rules()), float64(oscapTime)/float64(bwTime))
	sort.Strings(unexplained)
	for _, u := range unexplained {
		t.Errorf("unexplained disagreement: %s", u)
	}
	if compared < 100 {
		t.Errorf("only %d checks compared", compared)
	}
}

var update = flag.Bool("update", false, "rewrite bench/host/tailoring.xml")

// TestTailoringFileCurrent keeps bench/host/tailoring.xml (what the bench
// script gives oscap) equal to what the mapping makes.
func TestTailoringFileCurrent(t *testing.T) {
	m, err := LoadMapping()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join("..", "..", "..", "bench", "host", "tailoring.xml")
	if *update {
		if err := os.WriteFile(p, m.Tailoring(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != string(m.Tailoring()) {
		t.Fatalf("%s is not what mapping.yaml makes; run go test ./internal/host/oscap -run TestTailoringFileCurrent -update", p)
	}
}
