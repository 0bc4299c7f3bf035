package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/testutil/postgres"
)

// TestSummaries: after reads, re-matches (new, fixed, reopened with
// another severity, repeated findings), withdrawals and a second read of
// some images, the summary tables hold what a computation from scratch
// over the findings and the history gives, and so do Changes, Trend,
// Stats and ByRisk; a store of the previous schema (the summaries
// dropped) gets the same from the migration's backfill. Both engines.
func TestSummaries(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			url := filepath.Join(t.TempDir(), "s.db")
			if engine == "postgres" {
				url = postgres.Start(t).NewDB(t)
			}
			testSummaries(t, url)
		})
	}
}

func testSummaries(t *testing.T, url string) {
	ctx := context.Background()
	s, err := OpenURL(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(15, 1))
	sevs := []finding.Severity{finding.Critical, finding.High, finding.Medium, finding.Low, finding.Info, finding.Unknown}
	vulns := func(n int) []finding.Finding {
		var fs []finding.Finding
		for j := range 14 {
			if rng.IntN(3) == 0 {
				continue
			}
			fs = append(fs, finding.Finding{Gate: finding.GateVuln, ID: fmt.Sprintf("CVE-%d", j), Fingerprint: fmt.Sprint(j), Severity: sevs[rng.IntN(len(sevs))]})
		}
		if len(fs) > 0 && rng.IntN(4) == 0 {
			fs = append(fs, fs[0]) // reported twice
		}
		return fs[:min(len(fs), n)]
	}
	lint := []finding.Finding{{Gate: finding.GateLint, ID: "DL3002", Severity: finding.Medium, Location: finding.Location{Field: "config.User"}}}
	const images = 12
	digests := make([]string, images)
	t0 := time.Date(2026, 3, 1, 22, 0, 0, 0, time.UTC)
	for i := range digests {
		digests[i] = fmt.Sprintf("sha256:%064x", i+1)
		if _, err := s.Add(ctx, "r", fmt.Sprintf("team/app%d", i%4), digests[i], "1"); err != nil {
			t.Fatal(err)
		}
		if i == images-1 {
			continue // stays pending
		}
		if err := s.Assessed(ctx, digests[i], &Assessment{SBOM: json.RawMessage(`{}`), DBVersion: "v1", At: t0, Vulns: vulns(14), Other: lint}); err != nil {
			t.Fatal(err)
		}
	}
	for round := 2; round <= 7; round++ {
		at := t0.Add(time.Duration(round) * 5 * time.Hour)
		v := fmt.Sprintf("v%d", round)
		var rs []Rematch
		for _, d := range digests[:images-1] {
			n := 14
			if round == 5 && rng.IntN(2) == 0 {
				n = 0 // every advisory withdrawn
			}
			rs = append(rs, Rematch{Digest: d, Vulns: vulns(n), Version: v, At: at})
		}
		if _, err := s.Rematched(ctx, rs[:5]); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Rematched(ctx, rs[5:]); err != nil {
			t.Fatal(err)
		}
		if round == 4 { // a second read of an image
			if err := s.Assessed(ctx, digests[0], &Assessment{SBOM: json.RawMessage(`{}`), DBVersion: v, At: at, Vulns: vulns(14)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// An image whose read failed, one that failed and was read later.
	for i, d := range []string{fmt.Sprintf("sha256:%064x", images+1), fmt.Sprintf("sha256:%064x", images+2)} {
		if _, err := s.Add(ctx, "r", "team/failing", d, ""); err != nil {
			t.Fatal(err)
		}
		if err := s.Failed(ctx, d, fmt.Errorf("no such host")); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			if err := s.Assessed(ctx, d, &Assessment{SBOM: json.RawMessage(`{}`), DBVersion: "v7", At: t0, Vulns: vulns(14)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := fromScratch(t, s)
	if got := summaries(t, s); got != want {
		t.Fatalf("summaries:\n%s\nfrom scratch:\n%s", got, want)
	}
	checkTotals(t, s)
	api := readAPI(t, s, "v7")

	// The previous schema: without the summaries (and what later
	// migrations added); reopening backfills them.
	n := slices.IndexFunc(migrations, func(q string) bool { return strings.Contains(q, "CREATE TABLE image_counts") }) + 1
	for _, q := range []string{`DROP TABLE image_counts`, `DROP TABLE version_changes`, `DROP TABLE trend`, `DROP TABLE version_totals`, `DROP TABLE image_totals`, `DROP TABLE finding_totals`, `DROP INDEX history_image_fixed`, `DROP INDEX images_state`, `DROP TABLE db_update`, `ALTER TABLE deployments DROP COLUMN gone_at`, `ALTER TABLE images DROP COLUMN deleted_at`} {
		if _, err := s.x().ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.x().ExecContext(ctx, `DELETE FROM bulwark_migrations WHERE version >= ?`, n); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = OpenURL(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := summaries(t, s); got != want {
		t.Fatalf("backfilled summaries:\n%s\nfrom scratch:\n%s", got, want)
	}
	checkTotals(t, s)
	if got := readAPI(t, s, "v7"); got != api {
		t.Errorf("after the backfill:\n%s\nbefore:\n%s", got, api)
	}
}

// lines runs a query and returns its rows, one a line, sorted.
func lines(t *testing.T, s *SQL, q string) []string {
	t.Helper()
	rows, err := s.x().QueryContext(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		v := make([]any, len(cols))
		p := make([]any, len(cols))
		for i := range v {
			p[i] = &v[i]
		}
		if err := rows.Scan(p...); err != nil {
			t.Fatal(err)
		}
		var f []string
		for _, x := range v {
			if b, ok := x.([]byte); ok {
				x = string(b)
			}
			f = append(f, fmt.Sprint(x))
		}
		out = append(out, strings.Join(f, " "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// fromScratch computes the summaries from the findings and the history.
func fromScratch(t *testing.T, s *SQL) string {
	var b strings.Builder
	counts := lines(t, s, `SELECT image_id, severity, COUNT(*) FROM findings GROUP BY image_id, severity`)
	fmt.Fprintf(&b, "counts:\n%s\n", strings.Join(counts, "\n"))
	changes := lines(t, s, `SELECT v, image_id, SUM(a), SUM(f) FROM (
		SELECT new_version AS v, image_id, 1 AS a, 0 AS f FROM history WHERE new_version != '' AND fixed_at IS NULL
		UNION ALL SELECT fixed_version, image_id, 0, 1 FROM history WHERE fixed_version != '') c GROUP BY v, image_id`)
	fmt.Fprintf(&b, "changes:\n%s\n", strings.Join(changes, "\n"))
	totals := lines(t, s, `SELECT v, SUM(a), SUM(f), COUNT(DISTINCT image_id) FROM (
		SELECT new_version AS v, image_id, 1 AS a, 0 AS f FROM history WHERE new_version != '' AND fixed_at IS NULL
		UNION ALL SELECT fixed_version, image_id, 0, 1 FROM history WHERE fixed_version != '') c GROUP BY v`)
	fmt.Fprintf(&b, "totals:\n%s\n", strings.Join(totals, "\n"))
	trend := lines(t, s, `SELECT d, severity, SUM(a), SUM(f) FROM (
		SELECT substr(first_seen, 1, 10) AS d, severity, 1 AS a, 0 AS f FROM history
		UNION ALL SELECT substr(fixed_at, 1, 10), severity, 0, 1 FROM history WHERE fixed_at IS NOT NULL) t GROUP BY d, severity`)
	fmt.Fprintf(&b, "trend:\n%s\n", strings.Join(trend, "\n"))
	if len(counts) == 0 || len(changes) == 0 || len(trend) < 3 {
		t.Fatalf("the test made too little to compare:\n%s", b.String())
	}
	return b.String()
}

// summaries reads the summary tables in fromScratch's form.
func summaries(t *testing.T, s *SQL) string {
	var b strings.Builder
	var counts []string
	for i, col := range strings.Split(countColumns, ", ") {
		counts = append(counts, lines(t, s, `SELECT image_id, '`+severityNames[i]+`', `+col+` FROM image_counts WHERE `+col+` != 0`)...)
	}
	slices.Sort(counts)
	fmt.Fprintf(&b, "counts:\n%s\n", strings.Join(counts, "\n"))
	fmt.Fprintf(&b, "changes:\n%s\n", strings.Join(lines(t, s, `SELECT db_version, image_id, added, fixed FROM version_changes`), "\n"))
	fmt.Fprintf(&b, "totals:\n%s\n", strings.Join(lines(t, s, `SELECT db_version, added, fixed, images FROM version_totals`), "\n"))
	fmt.Fprintf(&b, "trend:\n%s\n", strings.Join(lines(t, s, `SELECT day, severity, added, fixed FROM trend WHERE added != 0 OR fixed != 0`), "\n"))
	return b.String()
}

// readAPI is what the store's readers answer from the summaries, checked
// against the history and the findings.
func readAPI(t *testing.T, s *SQL, version string) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	for _, v := range []string{"v2", "v5", version} {
		all, err := s.Changes(ctx, v, 0)
		if err != nil {
			t.Fatal(err)
		}
		fixed := lines(t, s, `SELECT COUNT(*) FROM history WHERE fixed_version = '`+v+`'`)
		added := lines(t, s, `SELECT COUNT(*) FROM history WHERE new_version = '`+v+`' AND fixed_at IS NULL`)
		if fmt.Sprint(all.Fixed) != fixed[0] || fmt.Sprint(all.New) != added[0] || len(all.List) != all.New+all.Fixed {
			t.Errorf("changes at %s: %d new, %d fixed, %d listed; the history: %s new, %s fixed", v, all.New, all.Fixed, len(all.List), added[0], fixed[0])
		}
		if !slices.IsSortedFunc(all.List, func(a, b Change) int { return cmp.Compare(a.Repository, b.Repository) }) {
			t.Errorf("changes at %s not by repository", v)
		}
		first, err := s.Changes(ctx, v, 7)
		if err != nil || first.New != all.New || !slices.Equal(first.List, all.List[:min(7, len(all.List))]) {
			t.Errorf("the first 7 changes at %s: %+v, %v", v, first, err)
		}
		fmt.Fprintf(&b, "changes %s: %+v\n", v, all)
	}
	trend, err := s.Trend(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "trend: %+v\n", trend)
	st, err := s.Stats(ctx, version)
	if err != nil {
		t.Fatal(err)
	}
	ims, err := s.Images(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	sum, stale := map[string]int{}, 0
	for _, im := range ims {
		if im.State == StateDone {
			for k, n := range im.Counts {
				sum[k] += n
			}
			if im.DBVersion != version {
				stale++
			}
		}
	}
	if st.Total != len(ims) || st.States[StatePending] != 1 || st.States[StateFailed] != 1 || st.Stale != stale || fmt.Sprint(st.Findings) != fmt.Sprint(sum) {
		t.Errorf("stats %+v; the images: %d, stale %d, findings %v", st, len(ims), stale, sum)
	}
	byRisk, err := s.ByRisk(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(ims)
	slices.SortStableFunc(want, func(a, b Image) int {
		for _, sev := range []string{"CRITICAL", "HIGH", "MEDIUM", "LOW"} {
			if c := cmp.Compare(b.Counts[sev], a.Counts[sev]); c != 0 {
				return c
			}
		}
		return cmp.Or(cmp.Compare(a.Repository, b.Repository), cmp.Compare(a.ID, b.ID))
	})
	var got, exp []string
	for i := range want {
		exp = append(exp, want[i].Digest)
		got = append(got, byRisk[i].Digest)
	}
	if strings.Join(got, " ") != strings.Join(exp, " ") {
		t.Errorf("by risk:\n%v\nwant:\n%v", got, exp)
	}
	if page, err := s.ByRisk(ctx, 3, 4); err != nil || len(page) != 4 || page[0].Digest != exp[3] || page[3].Digest != exp[6] || len(page[0].Tags) != 1 {
		t.Errorf("by risk, 4 from the 4th: %+v, %v", page, err)
	}
	fmt.Fprintf(&b, "stats: %+v\nby risk: %v\n", st, got)
	return b.String()
}
