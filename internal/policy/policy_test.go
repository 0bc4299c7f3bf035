package policy

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/ignore"
	"github.com/bulwark-sec/bulwark/internal/vex"
)

func vuln(id string, s finding.Severity) finding.Finding {
	return finding.Finding{Gate: finding.GateVuln, ID: id, Severity: s, Vuln: &finding.VulnDetail{Package: "p", Status: finding.StatusFixed}}
}

func lintF(id string, s finding.Severity) finding.Finding {
	return finding.Finding{Gate: finding.GateLint, ID: id, Severity: s}
}

func secret(id string, s finding.Severity) finding.Finding {
	return finding.Finding{Gate: finding.GateSecrets, ID: id, Severity: s}
}

func report(fs ...finding.Finding) *finding.Report {
	r := &finding.Report{Findings: fs}
	for _, f := range fs {
		if !containsGate(r.Gates, f.Gate) {
			r.Gates = append(r.Gates, f.Gate)
		}
	}
	return r
}

func containsGate(gs []finding.Gate, g finding.Gate) bool {
	for _, x := range gs {
		if x == g {
			return true
		}
	}
	return false
}

func TestParseFailOn(t *testing.T) {
	cases := []struct {
		in   []string
		want string
	}{
		{[]string{"HIGH"}, "high"},
		{[]string{"critical,high"}, "high"},
		{[]string{"CRITICAL", "HIGH"}, "high"},
		{[]string{"fatal"}, "critical"},
		{[]string{"warn"}, "medium"},
		{[]string{"any"}, "any"},
		{[]string{"unknown"}, "any"},
		{[]string{"never"}, "never"},
		{[]string{"none"}, "never"},
		{[]string{"kev"}, "kev"},
		{[]string{"high, kev, epss>0.5"}, "high,kev,epss>0.5"},
		{[]string{"epss>0.5,epss>0.2"}, "epss>0.2"},
	}
	for _, tc := range cases {
		f, err := ParseFailOn(tc.in...)
		if err != nil {
			t.Errorf("ParseFailOn(%q): %v", tc.in, err)
			continue
		}
		if f.String() != tc.want {
			t.Errorf("ParseFailOn(%q) = %q, want %q", tc.in, f.String(), tc.want)
		}
		back, err := ParseFailOn(f.String())
		if err != nil || back != f {
			t.Errorf("%q does not round-trip: %v %v", f.String(), back, err)
		}
	}
	for _, bad := range [][]string{{""}, {"hgh"}, {"epss>2"}, {"epss>x"}, {"never,high"}, nil} {
		if _, err := ParseFailOn(bad...); err == nil {
			t.Errorf("ParseFailOn(%q): no error", bad)
		}
	}
}

// A severity means that severity or above, for every gate: the bug was
// `scan --fail-on HIGH` passing a CRITICAL because scan read it as a set.
func TestSeverityMeansThatOrAbove(t *testing.T) {
	high, _ := ParseFailOn("HIGH")
	for _, f := range []finding.Finding{vuln("CVE-1", finding.Critical), lintF("CIS-DI-0009", finding.Critical), secret("aws", finding.Critical), vuln("CVE-2", finding.High)} {
		if !high.Fails(&f) {
			t.Errorf("--fail-on HIGH does not fail %s %s", f.Gate, f.Severity)
		}
	}
	for _, f := range []finding.Finding{vuln("CVE-3", finding.Medium), lintF("CIS-DI-0001", finding.Medium), vuln("CVE-4", finding.Unknown)} {
		if high.Fails(&f) {
			t.Errorf("--fail-on HIGH fails %s %s", f.Gate, f.Severity)
		}
	}
	if !Any.Fails(&finding.Finding{Severity: finding.Unknown}) || Never.Fails(&finding.Finding{Severity: finding.Critical}) {
		t.Error("any/never")
	}
}

func TestKEVAndEPSS(t *testing.T) {
	f, _ := ParseFailOn("critical,kev,epss>0.5")
	kev := vuln("CVE-K", finding.Low)
	kev.Vuln.KEV = true
	epss := vuln("CVE-E", finding.Low)
	epss.Vuln.EPSS = 0.9
	low := vuln("CVE-L", finding.Low)
	low.Vuln.EPSS = 0.1
	for _, tc := range []struct {
		f    finding.Finding
		want bool
	}{{kev, true}, {epss, true}, {low, false}, {lintF("X", finding.Medium), false}} {
		if got := f.Fails(&tc.f); got != tc.want {
			t.Errorf("%s: Fails = %v, want %v", tc.f.ID, got, tc.want)
		}
	}
}

func hostF(id string, s finding.Severity, level int, status string) finding.Finding {
	return finding.Finding{Gate: finding.GateHost, ID: id, Severity: s, Host: &finding.HostDetail{Profile: "debian-12", Section: "1", Level: level, Status: status}}
}

func TestCISLevels(t *testing.T) {
	l1 := hostF("sshd-banner", finding.Medium, 1, "fail")
	l2 := hostF("auditd-installed", finding.Low, 2, "fail")
	info := hostF("svc-approved-only", finding.Info, 1, "notchecked")
	cases := []struct {
		failOn string
		fails  []bool // l1, l2, info
		str    string
	}{
		{"level1", []bool{true, false, false}, "level1"},
		{"level2", []bool{true, true, false}, "level2"},
		{"level1,level2", []bool{true, true, false}, "level2"},
		{"high,level1", []bool{true, false, false}, "high,level1"},
		{"low", []bool{true, true, false}, "low"},
		{"any", []bool{true, true, true}, "any"},
	}
	for _, c := range cases {
		f, err := ParseFailOn(c.failOn)
		if err != nil {
			t.Fatalf("%s: %v", c.failOn, err)
		}
		if f.String() != c.str {
			t.Errorf("%s: String() = %q, want %q", c.failOn, f.String(), c.str)
		}
		for i, x := range []finding.Finding{l1, l2, info} {
			if got := f.Fails(&x); got != c.fails[i] {
				t.Errorf("%s fails %s: %v, want %v", c.failOn, x.ID, got, c.fails[i])
			}
		}
	}
	// A level term never fails another gate's findings.
	f, _ := ParseFailOn("level2")
	if v := vuln("CVE-1", finding.Critical); f.Fails(&v) {
		t.Error("level2 failed a vulnerability")
	}
	if d := f.Describe(finding.GateHost); !strings.Contains(d, "level 1 or 2") {
		t.Errorf("Describe: %q", d)
	}
	if _, err := ParseFailOn("level3"); err == nil {
		t.Error("level3 accepted")
	}
}

func TestApplyVerdict(t *testing.T) {
	crit := vuln("CVE-1", finding.Critical)
	high := vuln("CVE-2", finding.High)
	warn := lintF("CIS-DI-0001", finding.Medium)
	fatal := lintF("CIS-DI-0009", finding.Critical)
	cases := []struct {
		name string
		p    Policy
		r    *finding.Report
		code int
	}{
		{"empty", Policy{ExitCode: 1}, report(), 0},
		{"defaults: vuln critical", Policy{ExitCode: 1}, report(high, warn), 0},
		{"defaults: lint fatal", Policy{ExitCode: 1}, report(fatal), 1},
		{"defaults: any secret", Policy{ExitCode: 1}, report(secret("s", finding.Low)), 1},
		{"high fails critical", Policy{ExitCode: 1, Rules: Every(AtLeast(finding.High), finding.GateVuln)}, report(crit), 1},
		{"custom code", Policy{ExitCode: 9, Rules: Every(AtLeast(finding.High), finding.GateVuln)}, report(crit), 9},
		{"never", Policy{ExitCode: 1, Rules: Every(Never, finding.GateVuln, finding.GateLint)}, report(crit, fatal), 0},
		{"code 0 reports without failing", Policy{ExitCode: 0}, report(crit), 0},
		{"ignored", Policy{ExitCode: 1, Ignores: ignore.FromIDs([]string{"CVE-1"}, "t")}, report(crit), 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.p.Apply(tc.r)
			if got := ExitCode(v.Err()); got != tc.code {
				t.Errorf("exit code %d, want %d (err %v)", got, tc.code, v.Err())
			}
			if v.Passed() != (v.Err() == nil) {
				t.Error("Passed and Err disagree")
			}
		})
	}
}

func TestApplyOrder(t *testing.T) {
	unfixed := vuln("CVE-U", finding.Critical)
	unfixed.Vuln.Status = finding.StatusAffected
	base := vuln("CVE-B", finding.Critical)
	base.Location.Layer = &finding.LayerRef{Index: 0}
	app := vuln("CVE-A", finding.High)
	app.Location.Layer = &finding.LayerRef{Index: 3}
	vexed := vuln("CVE-V", finding.Critical)
	vexed.Vuln.PURL = "pkg:npm/p@1"
	doc, err := vex.Parse([]byte(`{"@context":"https://openvex.dev/ns/v0.2.0","@id":"x","author":"a","timestamp":"2026-01-01T00:00:00Z","version":1,
	  "statements":[{"vulnerability":{"name":"CVE-V"},"products":[{"@id":"pkg:npm/p@1"}],"status":"not_affected","justification":"vulnerable_code_not_in_execute_path"}]}`), "t.json")
	if err != nil {
		t.Fatal(err)
	}
	p := Policy{ExitCode: 1, IgnoreUnfixed: true, IgnoreBase: true, BaseLayers: 2, VEX: []*vex.Document{doc},
		Rules: Every(AtLeast(finding.High), finding.GateVuln), Show: []finding.Severity{finding.Critical}}
	r := report(unfixed, base, app, vexed)
	v := p.Apply(r)
	g := v.Gates[0]
	if g.Failing != 1 || g.Top().ID != "CVE-A" || g.FromBase != 1 || g.Suppressed != 1 || g.Findings != 3 {
		t.Errorf("verdict %+v", g)
	}
	// --severity CRITICAL hides the HIGH that failed the gate, but not the verdict.
	var ids []string
	for _, f := range r.Findings {
		ids = append(ids, f.ID)
	}
	if strings.Join(ids, ",") != "CVE-B,CVE-V" || v.Passed() {
		t.Errorf("report keeps %v, passed %v", ids, v.Passed())
	}
}

func TestExpiredIgnoreNoLongerSuppresses(t *testing.T) {
	l, err := ignore.Parse(strings.NewReader("CVE-1 exp:2020-01-01\n"), "t")
	if err != nil {
		t.Fatal(err)
	}
	p := Policy{ExitCode: 1, Ignores: l, Now: func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }}
	if v := p.Apply(report(vuln("CVE-1", finding.Critical))); v.Passed() {
		t.Error("an expired ignore still suppresses")
	}
}

func TestMessageUsesGateLevels(t *testing.T) {
	f := lintF("CIS-DI-0009", finding.Critical)
	f.Title = "Use COPY instead of ADD"
	f.Location.Field = "history[3]"
	p := Policy{ExitCode: 1, Rules: Every(AtLeast(finding.High), finding.GateLint)}
	err := p.Apply(report(f)).Err()
	want := "gate failed: lint gate: 1 finding(s) at or above FATAL: CIS-DI-0009 (e.g. FATAL CIS-DI-0009: Use COPY instead of ADD in history[3])"
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	var fs []finding.Finding
	for i := 0; i < 12; i++ {
		fs = append(fs, vuln(fmt.Sprintf("ID-%d", i), finding.Critical))
	}
	err = (&Policy{ExitCode: 1}).Apply(report(fs...)).Err()
	if err == nil || !strings.Contains(err.Error(), "12 finding(s) at or above CRITICAL") || !strings.Contains(err.Error(), "and 2 more") {
		t.Errorf("error %v", err)
	}
}

func TestExitCodeNeverZeroOnError(t *testing.T) {
	if got := ExitCode(errors.New("registry unreachable")); got != ExitError {
		t.Errorf("ExitCode(plain error) = %d, want %d", got, ExitError)
	}
	wrapped := fmt.Errorf("scan: %w", &GateError{Code: 4})
	if got := ExitCode(wrapped); got != 4 {
		t.Errorf("ExitCode(wrapped gate error) = %d, want 4", got)
	}
}

func FuzzParseFailOn(f *testing.F) {
	for _, s := range []string{"high", "critical,kev", "epss>0.3", "any", "never", "warn,fatal", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fo, err := ParseFailOn(s)
		if err != nil {
			return
		}
		back, err := ParseFailOn(fo.String())
		if err != nil || back != fo {
			t.Fatalf("%q -> %q does not round-trip (%v)", s, fo.String(), err)
		}
	})
}

// Counts by severity decide a FailOn of severities only.
func TestFailsSeverity(t *testing.T) {
	f := AtLeast(finding.High)
	if !f.BySeverityOnly() || !f.FailsSeverity(finding.Critical) || f.FailsSeverity(finding.Medium) {
		t.Errorf("high: by severity only %v, critical %v, medium %v", f.BySeverityOnly(), f.FailsSeverity(finding.Critical), f.FailsSeverity(finding.Medium))
	}
	k, err := ParseFailOn("high,kev")
	if err != nil || k.BySeverityOnly() || !k.FailsSeverity(finding.High) {
		t.Errorf("high,kev: %v, by severity only %v", err, k.BySeverityOnly())
	}
	if Never.FailsSeverity(finding.Critical) || !Never.BySeverityOnly() {
		t.Error("never fails a severity")
	}
}
