package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"maps"
	"slices"
	"strings"
)

// The store's totals answer the overview and the metrics (Stats) without
// counting every image at each request: image_totals holds the images by
// state and database version, finding_totals (one row) the findings of
// all images by severity. Each transaction that adds, moves or removes
// images or changes their findings gathers what it does in a totals and
// writes it last, as increments (so that servers writing at once on
// PostgreSQL add up, holding the rows from there to the commit only).
// The store tests check them against a count from scratch.

// group is a state and a database version: a row of image_totals.
type group struct{ state, version string }

// totals is what a transaction changes of the totals.
type totals struct {
	// images: group -> images added (negative: removed).
	images map[group]int
	// findings: the change of the findings by severity.
	findings counts
}

func newTotals() *totals { return &totals{images: map[group]int{}} }

// move counts n images leaving group from and entering group to (the
// zero group: none, for an image added or removed).
func (t *totals) move(from, to group, n int) {
	if from == to {
		return
	}
	if from != (group{}) {
		t.images[from] -= n
	}
	if to != (group{}) {
		t.images[to] += n
	}
}

// flush writes t in tx, the image groups in key order then the findings
// (so that transactions wait for each other rather than deadlock); a
// group left with no image goes.
func (t *totals) flush(ctx context.Context, tx execer) error {
	var rows []any
	var emptied []group
	for _, g := range slices.SortedFunc(maps.Keys(t.images), func(a, b group) int {
		return cmp.Or(cmp.Compare(a.state, b.state), cmp.Compare(a.version, b.version))
	}) {
		if n := t.images[g]; n != 0 {
			rows = append(rows, g.state, g.version, n)
			if n < 0 {
				emptied = append(emptied, g)
			}
		}
	}
	if err := multi(ctx, tx, `INSERT INTO image_totals (state, db_version, images) VALUES`, 3,
		`ON CONFLICT (state, db_version) DO UPDATE SET images = image_totals.images + excluded.images`, rows); err != nil {
		return err
	}
	for _, g := range emptied {
		if _, err := tx.ExecContext(ctx, `DELETE FROM image_totals WHERE state = ? AND db_version = ? AND images = 0`, g.state, g.version); err != nil {
			return err
		}
	}
	if t.findings == (counts{}) {
		return nil
	}
	cols := strings.Split(countColumns, ", ")
	sets := make([]string, len(cols))
	for i, c := range cols {
		sets[i] = c + ` = finding_totals.` + c + ` + excluded.` + c
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO finding_totals (id, `+countColumns+`) VALUES (1`+strings.Repeat(`, ?`, len(cols))+`)
		ON CONFLICT (id) DO UPDATE SET `+strings.Join(sets, ", "), t.findings.args()...)
	return err
}

// Stats implements Store, from image_totals and finding_totals.
func (s *SQL) Stats(ctx context.Context, version string) (*Stats, error) {
	out := &Stats{States: map[string]int{StatePending: 0, StateDone: 0, StateFailed: 0}, Findings: map[string]int{}}
	err := each(ctx, s.x(), `SELECT state, db_version, images FROM image_totals`, nil, func(rows *sql.Rows) error {
		var g group
		var n int
		if err := rows.Scan(&g.state, &g.version, &n); err != nil {
			return err
		}
		out.States[g.state] += n
		out.Total += n
		if g.state == StateDone && g.version != version {
			out.Stale += n
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var c counts
	dest := make([]any, len(c))
	for i := range c {
		dest[i] = &c[i]
	}
	if err := s.x().QueryRowContext(ctx, `SELECT `+countColumns+` FROM finding_totals`).Scan(dest...); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	out.Findings = c.toMap()
	return out, nil
}

// lockImage returns the ID and group of the image with digest, locked
// (on PostgreSQL) until tx ends, so that the group it leaves is the one
// it is in.
func (s *SQL) lockImage(ctx context.Context, tx execer, digest string) (int64, group, error) {
	var id int64
	var g group
	err := tx.QueryRowContext(ctx, `SELECT id, state, db_version FROM images WHERE digest = ?`+s.forUpdate(""), digest).Scan(&id, &g.state, &g.version)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, g, ErrNotFound
	}
	return id, g, err
}

// forUpdate locks the rows a SELECT reads (of table, when not empty)
// until the transaction ends, on PostgreSQL; SQLite has one writer.
func (s *SQL) forUpdate(table string) string {
	switch {
	case s.pool == nil:
		return ``
	case table != "":
		return ` FOR UPDATE OF ` + table
	}
	return ` FOR UPDATE`
}
