package ignore

import (
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/finding"
)

func TestParseAndApply(t *testing.T) {
	l, err := Parse(strings.NewReader(`# team exceptions
CIS-DI-0005            # signed by the release job
CVE-2024-1 exp:2026-01-31 # waiting for upstream
CVE-2024-2 exp:2999-12-31

`), ".bulwarkignore")
	if err != nil {
		t.Fatal(err)
	}
	if len(l) != 3 || l[0].Reason != "signed by the release job" || l[1].Source != ".bulwarkignore:3" {
		t.Fatalf("parsed %+v", l)
	}
	r := &finding.Report{Findings: []finding.Finding{{ID: "CIS-DI-0005"}, {ID: "CVE-2024-1"}, {ID: "CVE-2024-2"}, {ID: "CVE-2024-3"}}}
	now := time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC) // the day after CVE-2024-1's exception ended
	l.Apply(r, now)
	got := map[string]bool{}
	for _, f := range r.Findings {
		got[f.ID] = f.Suppressed != nil
	}
	want := map[string]bool{"CIS-DI-0005": true, "CVE-2024-1": false, "CVE-2024-2": true, "CVE-2024-3": false}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s suppressed = %v, want %v", id, got[id], w)
		}
	}
	if s := r.Findings[0].Suppressed; s.Kind != "ignore" || s.Reason == "" || s.Source == "" {
		t.Errorf("suppression must carry kind, reason and source: %+v", s)
	}
	// The last day of an exception still counts.
	r2 := &finding.Report{Findings: []finding.Finding{{ID: "CVE-2024-1"}}}
	l.Apply(r2, time.Date(2026, 1, 31, 23, 0, 0, 0, time.UTC))
	if r2.Findings[0].Suppressed == nil {
		t.Error("exception must hold through its expiry day")
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{"CVE-1 until:2025-01-01", "CVE-1 exp:tomorrow"} {
		if _, err := Parse(strings.NewReader(in), "f"); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("Parse(%q) error = %v, want one naming line 1", in, err)
		}
	}
}

func TestFromIDs(t *testing.T) {
	l := FromIDs([]string{"A,B", " C ", ""}, "--ignore")
	if len(l) != 3 || l[2].ID != "C" || l[0].Source != "--ignore" {
		t.Errorf("FromIDs = %+v", l)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("CVE-1 exp:2025-01-01 # r\n# c\n\nX")
	f.Fuzz(func(t *testing.T, s string) {
		l, err := Parse(strings.NewReader(s), "fuzz")
		if err != nil {
			return
		}
		for _, r := range l {
			if r.ID == "" || strings.ContainsAny(r.ID, " \t#") {
				t.Fatalf("bad rule ID %q from %q", r.ID, s)
			}
		}
	})
}
