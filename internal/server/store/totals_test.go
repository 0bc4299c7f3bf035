package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
)

// checkTotals: the store's totals hold what a count over every image and
// every finding gives (the store tests run it on each store they open,
// after reads, re-matches, failures, advances and retention).
func checkTotals(t *testing.T, s *SQL) {
	t.Helper()
	var recount counts
	err := each(context.Background(), s.x(), `SELECT severity, COUNT(*) FROM findings GROUP BY severity`, nil, func(rows *sql.Rows) error {
		var sev string
		var n int
		err := rows.Scan(&sev, &n)
		recount[severityIndex(sev)] += n
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("images:\n%s\nfindings: %v", strings.Join(lines(t, s, `SELECT state, db_version, COUNT(*) FROM images GROUP BY state, db_version`), "\n"), recount)
	var kept counts
	if rows := lines(t, s, `SELECT `+countColumns+` FROM finding_totals`); len(rows) == 1 {
		for i, f := range strings.Fields(rows[0]) {
			fmt.Sscan(f, &kept[i])
		}
	}
	got := fmt.Sprintf("images:\n%s\nfindings: %v", strings.Join(lines(t, s, `SELECT state, db_version, images FROM image_totals`), "\n"), kept)
	if got != want {
		t.Errorf("the store's totals:\n%s\nwant (counted):\n%s", got, want)
	}
}
