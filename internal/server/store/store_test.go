package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/testutil/postgres"
)

// TestStore runs the store's tests on SQLite and on PostgreSQL.
func TestStore(t *testing.T) {
	var pg *postgres.Server
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			url := func(st *testing.T) string {
				if engine == "sqlite" {
					return filepath.Join(st.TempDir(), "s.db")
				}
				if pg == nil {
					pg = postgres.Start(t)
				}
				return pg.NewDB(st)
			}
			t.Run("store", func(t *testing.T) { testStore(t, url(t)) })
			t.Run("history", func(t *testing.T) { testHistory(t, url(t)) })
			t.Run("deployments", func(t *testing.T) { testDeployments(t, url(t)) })
			t.Run("gone", func(t *testing.T) { testGone(t, url(t)) })
			t.Run("retention", func(t *testing.T) { testRetention(t, url(t)) })
			t.Run("retention totals", func(t *testing.T) { testRetentionTotals(t, url(t)) })
			t.Run("dbupdate", func(t *testing.T) { testDBUpdate(t, url(t)) })
			t.Run("deletes", func(t *testing.T) { testDeletes(t, url(t)) })
		})
	}
}

// A digest is added once; reopening the store keeps everything and runs
// no migration twice; the package index finds the images of a key.
// openTest opens the store at url for a test, closed when the test ends
// after checking its totals.
func openTest(t *testing.T, url string) (context.Context, *SQL) {
	t.Helper()
	ctx := context.Background()
	s, err := OpenURL(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		checkTotals(t, s)
		s.Close()
	})
	return ctx, s
}

func testStore(t *testing.T, url string) {
	ctx := context.Background()
	s, err := OpenURL(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	d1, d2 := "sha256:"+strings.Repeat("1", 64), "sha256:"+strings.Repeat("2", 64)
	for _, c := range []struct {
		d, tag string
		want   bool
	}{{d1, "a", true}, {d1, "b", false}, {d2, "", true}} {
		if got, err := s.Add(ctx, "r", "repo", c.d, c.tag); err != nil || got != c.want {
			t.Fatalf("Add(%s, %s) = %v, %v; want %v", c.d, c.tag, got, err, c.want)
		}
	}
	if p, _ := s.Pending(ctx); len(p) != 2 {
		t.Fatalf("pending %d, want 2", len(p))
	}
	a := &Assessment{SBOM: json.RawMessage(`{}`), DBVersion: "v1", At: time.Now(),
		Packages: []Package{{"npm", "lodash", "4.0.0"}, {"Debian:12", "glibc", "2.36"}},
		Vulns:    []finding.Finding{{Gate: finding.GateVuln, ID: "CVE-1", Severity: finding.High}}}
	if err := s.Assessed(ctx, d1, a); err != nil {
		t.Fatal(err)
	}
	if err := s.Assessed(ctx, d2, &Assessment{SBOM: json.RawMessage(`{}`), DBVersion: "v1", At: time.Now(), Packages: []Package{{"npm", "left-pad", "1.0.0"}}}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = OpenURL(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if m, err := s.SBOMs(ctx, []string{d1, "sha256:unknown"}); err != nil || len(m) != 1 || string(m[d1]) != `{}` {
		t.Errorf("stored inventories after reopening: %q, %v; want only %s's", m, err, d1)
	}
	im, err := s.Image(ctx, d1)
	if err != nil || im.State != StateDone || len(im.Tags) != 2 || im.Counts["HIGH"] != 1 || im.DBVersion != "v1" {
		t.Fatalf("image after reopening: %+v, %v", im, err)
	}
	// Findings are stored compressed; plain ones (an earlier bulwark's)
	// still read.
	var data []byte
	if err := s.x().QueryRowContext(ctx, `SELECT data FROM findings`).Scan(&data); err != nil || !bytes.HasPrefix(data, zstdMagic) {
		t.Fatalf("stored finding %q, %v: not zstd", data, err)
	}
	if _, err := s.x().ExecContext(ctx, `UPDATE findings SET data = ?`, []byte(`{"gate":"vuln","id":"CVE-1","severity":"HIGH"}`)); err != nil {
		t.Fatal(err)
	}
	if fs, err := s.Findings(ctx, d1); err != nil || len(fs) != 1 || fs[0].ID != "CVE-1" {
		t.Fatalf("plain stored finding: %+v, %v", fs, err)
	}
	got, err := s.ImagesWith(ctx, []Package{{Ecosystem: "Debian:12", Name: "glibc"}})
	if err != nil || len(got) != 1 || got[0] != d1 {
		t.Errorf("ImagesWith glibc = %v, %v; want [%s]", got, err, d1)
	}
	// A batch holding an unknown digest changes none of its images.
	if _, err := s.Rematched(ctx, []Rematch{{Digest: d1, Version: "v2", At: time.Now()}, {Digest: "sha256:unknown", Version: "v2"}}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("batch with an unknown digest: %v; want ErrNotFound", err)
	}
	if im, _ := s.Image(ctx, d1); im.DBVersion != "v1" || im.Counts["HIGH"] != 1 {
		t.Fatalf("image after a failed batch: %+v; want it unchanged at v1", im)
	}
	if w, err := s.Rematched(ctx, []Rematch{{Digest: d1, Vulns: nil, Version: "v2", At: time.Now()}}); err != nil || len(w) != 1 {
		t.Fatalf("re-match: %v, %v; want d1 written", w, err)
	}
	// Again at v2 (another server's job): left alone, no second event.
	if w, err := s.Rematched(ctx, []Rematch{{Digest: d1, Vulns: []finding.Finding{{Gate: finding.GateVuln, ID: "CVE-X", Severity: finding.High}}, Version: "v2", At: time.Now()}}); err != nil || len(w) != 0 {
		t.Fatalf("second re-match at the same version: %v, %v; want nothing written", w, err)
	}
	// Events: d1's CVE-1 on ingest, then fixed by the re-match.
	ids, err := s.Undispatched(ctx, 10)
	if err != nil || len(ids) != 2 {
		t.Fatalf("undispatched events %v, %v; want 2", ids, err)
	}
	first, _ := s.Event(ctx, ids[0])
	second, _ := s.Event(ctx, ids[1])
	if first == nil || first.Reason != ReasonIngest || len(first.New) != 1 || first.New[0].ID != "CVE-1" || first.Image.Digest != d1 || len(first.Image.Tags) != 2 ||
		second == nil || second.Reason != ReasonRematch || len(second.Fixed) != 1 || len(second.New) != 0 {
		t.Fatalf("events: %+v, %+v", first, second)
	}
	if err := s.MarkDispatched(ctx, ids[:1]); err != nil {
		t.Fatal(err)
	}
	if left, _ := s.Undispatched(ctx, 10); len(left) != 1 || left[0] != ids[1] {
		t.Errorf("undispatched after marking the first: %v", left)
	}
	for range 2 {
		if err := s.MarkDelivered(ctx, ids[0], "hook"); err != nil {
			t.Fatal(err)
		}
	}
	if ok, _ := s.Delivered(ctx, ids[0], "hook"); !ok {
		t.Error("event not delivered after MarkDelivered")
	}
	if ok, _ := s.Delivered(ctx, ids[1], "hook"); ok {
		t.Error("event delivered without MarkDelivered")
	}
	if n, err := s.Advance(ctx, "v1", "v2", []string{d1}); err != nil || n != 1 {
		t.Errorf("Advance = %d, %v; want 1 (d2 only)", n, err)
	}
	if rest, _ := s.ImagesNotAt(ctx, "v2", nil); len(rest) != 0 {
		t.Errorf("images not at v2: %v", rest)
	}
	if rest, err := s.ImagesNotAt(ctx, "v3", []string{d2, "sha256:unknown"}); err != nil || len(rest) != 1 || rest[0] != d2 {
		t.Errorf("images among [d2, unknown] not at v3: %v, %v; want [d2]", rest, err)
	}
	if fs, _ := s.Findings(ctx, d1); len(fs) != 0 {
		t.Errorf("findings after a re-match that found none: %v", fs)
	}
	if _, err := s.Image(ctx, "sha256:x"); err != ErrNotFound {
		t.Errorf("unknown digest: %v", err)
	}
	checkTotals(t, s)
}

// A re-match that no longer reports a finding fixes it (kept as last
// reported), one that reports a new finding starts its history at that
// database version, and a finding still reported keeps its first-seen
// time; the changes of a version and the trend show both.
func testHistory(t *testing.T, url string) {
	ctx, s := openTest(t, url)
	d := "sha256:" + strings.Repeat("3", 64)
	if _, err := s.Add(ctx, "r", "app", d, "1"); err != nil {
		t.Fatal(err)
	}
	vuln := func(id string, sev finding.Severity) finding.Finding {
		return finding.Finding{Gate: finding.GateVuln, ID: id, Severity: sev, Fingerprint: "fp-" + id, Title: "title of " + id}
	}
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	lint := finding.Finding{Gate: finding.GateLint, ID: "DL3002", Severity: finding.Medium, Location: finding.Location{Field: "config.User"}}
	if err := s.Assessed(ctx, d, &Assessment{SBOM: json.RawMessage(`{}`), DBVersion: "v1", At: t0,
		Vulns: []finding.Finding{vuln("CVE-A", finding.High), vuln("CVE-B", finding.Critical)}, Other: []finding.Finding{lint}}); err != nil {
		t.Fatal(err)
	}
	t1 := t0.Add(48 * time.Hour)
	if _, err := s.Rematched(ctx, []Rematch{{Digest: d, Vulns: []finding.Finding{vuln("CVE-A", finding.High), vuln("CVE-C", finding.Low)}, Version: "v2", At: t1}}); err != nil {
		t.Fatal(err)
	}
	fs, err := s.Findings(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	first := map[string]time.Time{}
	for _, f := range fs {
		if f.FirstSeen == nil || f.FixedAt != nil {
			t.Fatalf("finding %s: first seen %v, fixed %v", f.ID, f.FirstSeen, f.FixedAt)
		}
		first[f.ID] = *f.FirstSeen
	}
	if len(fs) != 3 || !first["CVE-A"].Equal(t0) || !first["DL3002"].Equal(t0) || !first["CVE-C"].Equal(t1) {
		t.Errorf("first seen: %v", first)
	}
	fixed, err := s.Fixed(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(fixed) != 1 || fixed[0].ID != "CVE-B" || fixed[0].Title != "title of CVE-B" || !fixed[0].FixedAt.Equal(t1) || !fixed[0].FirstSeen.Equal(t0) || fixed[0].DBVersion != "v2" {
		t.Fatalf("fixed: %+v", fixed)
	}
	all, err := s.Changes(ctx, "v2", 0)
	if err != nil {
		t.Fatal(err)
	}
	ch := all.List
	if all.New != 1 || all.Fixed != 1 || all.Images != 1 || len(ch) != 2 || ch[0].Kind != "fixed" || ch[0].ID != "CVE-B" || ch[1].Kind != "new" || ch[1].ID != "CVE-C" || ch[1].Repository != "app" {
		t.Errorf("changes at v2: %+v", all)
	}
	if first, err := s.Changes(ctx, "v2", 1); err != nil || first.New != 1 || first.Fixed != 1 || len(first.List) != 1 {
		t.Errorf("the first change at v2: %+v, %v", first, err)
	}
	if ch, _ := s.Changes(ctx, "v1", 0); ch.New+ch.Fixed != 0 || len(ch.List) != 0 {
		t.Errorf("a read is no database change: %+v", ch)
	}
	// CVE-B is back: reopened, no longer fixed.
	if _, err := s.Rematched(ctx, []Rematch{{Digest: d, Vulns: []finding.Finding{vuln("CVE-A", finding.High), vuln("CVE-B", finding.Critical)}, Version: "v3", At: t1.Add(24 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	if fixed, _ := s.Fixed(ctx, d); len(fixed) != 1 || fixed[0].ID != "CVE-C" {
		t.Errorf("fixed after v3: %+v", fixed)
	}
	trend, err := s.Trend(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"2026-03-01 new 3 fixed 0 open map[CRITICAL:1 HIGH:1 MEDIUM:1]", "2026-03-03 new 1 fixed 0 open map[CRITICAL:1 HIGH:1 LOW:1 MEDIUM:1]", "2026-03-04 new 0 fixed 1 open map[CRITICAL:1 HIGH:1 MEDIUM:1]"}
	var got []string
	for _, d := range trend {
		got = append(got, fmt.Sprintf("%s new %d fixed %d open %v", d.Day, d.New, d.Fixed, d.Open))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("trend:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
