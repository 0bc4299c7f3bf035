package oscap

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
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

// requireOscap fails (BULWARK_INTEGRATION) or skips the test without
// oscap and ssg-debian.
func requireOscap(t *testing.T) {
	t.Helper()
	testutil.RequireTool(t, "oscap")
	if _, err := os.Stat(ssgDS); err != nil {
		if testutil.Integration() {
			t.Fatalf("ssg-debian is not installed: %v", err)
		}
		t.Skip("ssg-debian is not installed")
	}
}

// tally runs both tools on root file systems and counts their agreement.
type tally struct {
	m                                                  *Mapping
	compared, agreed, explained, differs, differsAgree int
	unexplained                                        []string
	table                                              strings.Builder
	bwTime, oscapTime                                  time.Duration
	bwCPU, oscapCPU                                    time.Duration
}

// cpu returns the user+system CPU time of this process (who) or of its
// waited-for children.
func cpu(t *testing.T, who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// add judges the root file system dir (named name in the table and in the
// mapping's known patterns) with bulwark's debian-12 profile and with
// OpenSCAP on the datastream ds.
func (ta *tally) add(t *testing.T, name, dir, ds string) {
	t.Helper()
	ctx := context.Background()
	start, self := time.Now(), cpu(t, syscall.RUSAGE_SELF)
	img, err := image.Open(ctx, "rootfs:"+dir, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := host.Run(ctx, img, "debian-12")
	img.Close()
	if err != nil {
		t.Fatal(err)
	}
	ta.bwTime += time.Since(start)
	ta.bwCPU += cpu(t, syscall.RUSAGE_SELF) - self
	start, children := time.Now(), cpu(t, syscall.RUSAGE_CHILDREN)
	res, err := Eval(ctx, ta.m, dir, ds, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ta.oscapTime += time.Since(start)
	ta.oscapCPU += cpu(t, syscall.RUSAGE_CHILDREN) - children
	for _, row := range Compare(ta.m, a, res) {
		line := func(mark string) {
			fmt.Fprintf(&ta.table, "%-18s %-30s bulwark=%-13s ssg=%-13s %s\n", name, row.Check, row.Bulwark, row.SSG, mark)
		}
		switch {
		case row.Judged() && !row.Compared():
			ta.differs++
			if row.Agree() {
				ta.differsAgree++
			}
			line("(not counted: " + row.Differs + ")")
		case !row.Compared():
			line("(not compared)")
		case row.Agree():
			ta.compared++
			ta.agreed++
			line("agree")
		default:
			ta.compared++
			why, ok := ta.m.Explain(name, row.Check)
			if ok {
				ta.explained++
			} else {
				ta.unexplained = append(ta.unexplained, fmt.Sprintf("%s/%s: bulwark %s (%s), SSG %s %v", name, row.Check, row.Bulwark, row.Detail, row.SSG, row.Rules))
				why = "UNEXPLAINED"
			}
			line("DISAGREE: " + why)
		}
	}
}

// report logs the table and the figures, and fails on an unexplained
// disagreement or an agreement under minPct.
func (ta *tally) report(t *testing.T, roots int, minPct float64) {
	t.Helper()
	t.Logf("agreement table:\n%s", ta.table.String())
	pct := 100 * float64(ta.agreed) / float64(max(ta.compared, 1))
	t.Logf("agreement: %d of %d compared checks (%.1f%%) over %d root file systems; %d disagreements explained by the mapping, %d unexplained",
		ta.agreed, ta.compared, pct, roots, ta.explained, len(ta.unexplained))
	all := ta.compared + ta.differs
	t.Logf("not counted, the two asking different questions (mapping.yaml differs): %d judgements, %d of them agreeing; counted too, the agreement would be %d of %d (%.1f%%)",
		ta.differs, ta.differsAgree, ta.agreed+ta.differsAgree, all, 100*float64(ta.agreed+ta.differsAgree)/float64(max(all, 1)))
	t.Logf("time over %d root file systems: bulwark %s wall, %s CPU (whole debian-12 profile, walk included); oscap %s wall, %s CPU (%d mapped rules only): oscap/bulwark CPU = %.1fx (load average %s)",
		roots, ta.bwTime.Round(time.Millisecond), ta.bwCPU.Round(time.Millisecond), ta.oscapTime.Round(time.Millisecond), ta.oscapCPU.Round(time.Millisecond),
		len(ta.m.Rules()), float64(ta.oscapCPU)/float64(max(ta.bwCPU, 1)), loadavg())
	sort.Strings(ta.unexplained)
	for _, u := range ta.unexplained {
		t.Errorf("unexplained disagreement: %s", u)
	}
	if pct < minPct {
		t.Errorf("agreement %.1f%% is under %.0f%%", pct, minPct)
	}
}

// TestAgreement runs OpenSCAP and bulwark side by side on real debootstrap
// root file systems (Debian 11 and 12; as installed, hardened, and broken
// on purpose), compares every mapped check both judged, and requires each
// disagreement to be one the mapping explains and 95% agreement.
func TestAgreement(t *testing.T) {
	requireOscap(t)
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
	ta := &tally{m: m}
	for _, s := range specs {
		dir := testutil.DebianSuiteRootfs(t, s.suite, serverPackages...)
		if s.change != nil {
			dir = variant(t, dir, s.change)
		}
		ds := ssgDS
		if s.suite != "bullseye" {
			ds = anyDS
		}
		ta.add(t, s.name, dir, ds)
	}
	if ta.compared < 100 {
		t.Errorf("only %d checks compared", ta.compared)
	}
	ta.report(t, len(specs), 95)
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

// loadavg is /proc/loadavg's first three figures: the machine is shared.
func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
