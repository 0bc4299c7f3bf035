package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/finding"
)

// The summaries answer the whole-store requests (the image list, an
// update's changes, the trend, the overview) without reading every
// finding or history row: image_counts holds each image's findings by
// severity, version_changes each database version's new and fixed
// findings per image, trend the findings first seen and fixed per day.
// They are written in the transaction that changes the findings, so they
// always agree with them (TestSummaries checks them against a
// computation from scratch).

// countColumns are image_counts' columns, in the order of severityNames.
const countColumns = `critical, high, medium, low, info, unknown`

// severityNames are the severities image_counts keeps, from the highest
// down; unknown takes any other.
var severityNames = [6]string{"CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO", "UNKNOWN"}

// counts are findings by severity, in the order of severityNames.
type counts [6]int

func (c *counts) add(fs []finding.Finding, sign int) {
	for i := range fs {
		c[severityIndex(fs[i].Severity.String())] += sign
	}
}

// severityIndex is where a severity counts: its place in severityNames,
// or unknown's.
func severityIndex(sev string) int {
	if j := slices.Index(severityNames[:], sev); j >= 0 {
		return j
	}
	return len(severityNames) - 1
}

func (c counts) args() []any {
	out := make([]any, len(c))
	for i, n := range c {
		out[i] = n
	}
	return out
}

// toMap is the counts as the API shows them: the severities that occur.
func (c counts) toMap() map[string]int {
	m := map[string]int{}
	for i, n := range c {
		if n != 0 {
			m[severityNames[i]] = n
		}
	}
	return m
}

// tally gathers what the history changes of one transaction do to the
// trend and the version changes, written once by flush.
type tally struct {
	// trend: (day, severity) -> added, fixed.
	trend map[[2]string]*[2]int
	// changes: (database version, image) -> added, fixed.
	changes map[versionImage]*[2]int
	// repository is each image's of changes.
	repository map[int64]string
	// totals: database version -> added, fixed, images changed, besides
	// what changes makes of them (retention's removals).
	totals map[string]*[3]int
}

type versionImage struct {
	version string
	image   int64
}

func newTally() *tally {
	return &tally{trend: map[[2]string]*[2]int{}, changes: map[versionImage]*[2]int{}, repository: map[int64]string{}, totals: map[string]*[3]int{}}
}

// day is the UTC day of a stored time (RFC 3339).
func day(at string) string { return at[:min(len(at), 10)] }

func (t *tally) addTrend(at, severity string, added, fixed int) {
	k := [2]string{day(at), severity}
	if t.trend[k] == nil {
		t.trend[k] = &[2]int{}
	}
	t.trend[k][0] += added
	t.trend[k][1] += fixed
}

// addChange counts a finding made new (added) or fixed at a database
// version ("": a read, which is no database change) in image id, whose
// repository t.repository holds.
func (t *tally) addChange(version string, id int64, added, fixed int) {
	if version == "" {
		return
	}
	k := versionImage{version, id}
	if t.changes[k] == nil {
		t.changes[k] = &[2]int{}
	}
	t.changes[k][0] += added
	t.changes[k][1] += fixed
}

// addTotal adds to a version's totals.
func (t *tally) addTotal(version string, added, fixed, images int) {
	if t.totals[version] == nil {
		t.totals[version] = &[3]int{}
	}
	t.totals[version][0] += added
	t.totals[version][1] += fixed
	t.totals[version][2] += images
}

// flush writes the tally in tx, as increments (so that transactions
// writing one row at once, two servers' re-matches on PostgreSQL, add
// up) in key order (so that they wait for each other rather than
// deadlock). A version change back at nothing goes. The version totals
// come last: the row every re-match of a version writes is held from
// there to the commit only.
func (t *tally) flush(ctx context.Context, tx execer) error {
	var trend []any
	for _, k := range slices.SortedFunc(maps.Keys(t.trend), func(a, b [2]string) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) }) {
		if v := t.trend[k]; v[0] != 0 || v[1] != 0 {
			trend = append(trend, k[0], k[1], v[0], v[1])
		}
	}
	if err := multi(ctx, tx, `INSERT INTO trend (day, severity, added, fixed) VALUES`, 4,
		`ON CONFLICT (day, severity) DO UPDATE SET added = trend.added + excluded.added, fixed = trend.fixed + excluded.fixed`, trend); err != nil {
		return err
	}
	var changes []any
	var ids []int64
	for k, v := range t.changes {
		if v[0] != 0 || v[1] != 0 {
			ids = append(ids, k.image)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	// The rows before: which the changes make and which they empty.
	before := map[versionImage][2]int{}
	for chunk := range slices.Chunk(ids, maxArgs) {
		set, args := in(chunk)
		err := each(ctx, tx, `SELECT db_version, image_id, added, fixed FROM version_changes WHERE image_id `+set, args, func(rows *sql.Rows) error {
			var k versionImage
			var v [2]int
			err := rows.Scan(&k.version, &k.image, &v[0], &v[1])
			before[k] = v
			return err
		})
		if err != nil {
			return err
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(t.changes), func(a, b versionImage) int {
		return cmp.Or(cmp.Compare(a.version, b.version), cmp.Compare(a.image, b.image))
	}) {
		v := t.changes[k]
		if v[0] == 0 && v[1] == 0 {
			continue
		}
		changes = append(changes, k.version, t.repository[k.image], k.image, v[0], v[1])
		was, had := before[k]
		images := 0
		if now := [2]int{was[0] + v[0], was[1] + v[1]}; had && now == [2]int{} {
			images = -1
		} else if !had {
			images = 1
		}
		t.addTotal(k.version, v[0], v[1], images)
	}
	if err := multi(ctx, tx, `INSERT INTO version_changes (db_version, repository, image_id, added, fixed) VALUES`, 5,
		`ON CONFLICT (db_version, repository, image_id) DO UPDATE SET added = version_changes.added + excluded.added, fixed = version_changes.fixed + excluded.fixed`, changes); err != nil {
		return err
	}
	for chunk := range slices.Chunk(ids, maxArgs) {
		set, args := in(chunk)
		if _, err := tx.ExecContext(ctx, `DELETE FROM version_changes WHERE image_id `+set+` AND added = 0 AND fixed = 0`, args...); err != nil {
			return err
		}
	}
	var totals []any
	for _, v := range slices.Sorted(maps.Keys(t.totals)) {
		if n := t.totals[v]; *n != [3]int{} {
			totals = append(totals, v, n[0], n[1], n[2])
		}
	}
	if len(totals) == 0 {
		return nil
	}
	if err := multi(ctx, tx, `INSERT INTO version_totals (db_version, added, fixed, images) VALUES`, 4,
		`ON CONFLICT (db_version) DO UPDATE SET added = version_totals.added + excluded.added, fixed = version_totals.fixed + excluded.fixed, images = version_totals.images + excluded.images`, totals); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM version_totals WHERE added = 0 AND fixed = 0 AND images = 0`)
	return err
}

// Changes implements Store: the counts from version_totals, the list
// from the history of its images, a page of images at a time in the
// order of its key.
func (s *SQL) Changes(ctx context.Context, version string, limit int) (*Changes, error) {
	out := &Changes{List: []Change{}}
	err := s.x().QueryRowContext(ctx, `SELECT added, fixed, images FROM version_totals WHERE db_version = ?`, version).Scan(&out.New, &out.Fixed, &out.Images)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if limit <= 0 {
		limit = math.MaxInt32
	}
	repo, last := "", int64(-1)
	// Each image listed has a change at least, and on average what the
	// totals say: a page of about as many images as the changes wanted
	// take (another page follows when it falls short).
	per := max(1, (out.New+out.Fixed)/max(1, out.Images))
	for len(out.List) < limit {
		want := limit - len(out.List)
		page := min(100, want, (want+per-1)/per+1)
		type ref struct {
			id           int64
			digest, repo string
			list         []Change
		}
		var refs []*ref
		// A row value after the last: one range of the key's index, read
		// in its order (an OR of the two made PostgreSQL join every
		// version change with its image and sort them, at each page).
		rows, err := s.x().QueryContext(ctx, `SELECT c.image_id, i.digest, c.repository FROM version_changes c JOIN images i ON i.id = c.image_id
			WHERE c.db_version = ? AND (c.repository, c.image_id) > (?, ?) ORDER BY c.repository, c.image_id LIMIT ?`, version, repo, last, page)
		if err != nil {
			return nil, err
		}
		byID := map[int64]*ref{}
		for rows.Next() {
			r := &ref{}
			if err := rows.Scan(&r.id, &r.digest, &r.repo); err != nil {
				rows.Close()
				return nil, err
			}
			refs = append(refs, r)
			byID[r.id] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if len(refs) == 0 {
			break
		}
		repo, last = refs[len(refs)-1].repo, refs[len(refs)-1].id
		args := []any{version, version}
		for _, r := range refs {
			args = append(args, r.id)
		}
		in := `(?` + strings.Repeat(`, ?`, len(refs)-1) + `)`
		// The page's images' history, by its key only, the rows the
		// version did not change skipped here: a condition on the
		// versions let PostgreSQL, before statistics of the update's
		// rows, pick the version indexes and read every change of the
		// version at each page (17,769 rows to keep 421 of 2,000 images).
		rows, err = s.x().QueryContext(ctx, `SELECT image_id, CASE WHEN fixed_version = ? THEN 'fixed' WHEN new_version = ? AND fixed_at IS NULL THEN 'new' ELSE '' END, gate, finding_id, severity, COALESCE(fixed_at, first_seen)
			FROM history WHERE image_id IN `+in, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id int64
			var c Change
			var gate, at string
			if err := rows.Scan(&id, &c.Kind, &gate, &c.ID, &c.Severity, &at); err != nil {
				rows.Close()
				return nil, err
			}
			if c.Kind == "" {
				continue
			}
			r := byID[id]
			c.Digest, c.Repository, c.Gate, c.At = r.digest, r.repo, finding.Gate(gate), parseTime(at)
			r.list = append(r.list, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		for _, r := range refs {
			slices.SortFunc(r.list, func(a, b Change) int {
				return strings.Compare(a.Kind+"\x00"+a.ID, b.Kind+"\x00"+b.ID)
			})
			out.List = append(out.List, r.list...)
		}
		if len(refs) < page {
			break
		}
	}
	if len(out.List) > limit {
		out.List = out.List[:limit]
	}
	return out, nil
}

// Trend implements Store, from the trend table.
func (s *SQL) Trend(ctx context.Context) ([]Day, error) {
	rows, err := s.x().QueryContext(ctx, `SELECT day, severity, added, fixed FROM trend`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	newBy, fixedBy := map[string]map[string]int{}, map[string]map[string]int{}
	for rows.Next() {
		var d, sev string
		var a, f int
		if err := rows.Scan(&d, &sev, &a, &f); err != nil {
			return nil, err
		}
		for _, x := range []struct {
			m map[string]map[string]int
			n int
		}{{newBy, a}, {fixedBy, f}} {
			if x.n == 0 {
				continue
			}
			if x.m[d] == nil {
				x.m[d] = map[string]int{}
			}
			x.m[d][sev] = x.n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return Trend(newBy, fixedBy), nil
}

// ByRisk implements Store: image_counts in the order of its risk index.
func (s *SQL) ByRisk(ctx context.Context, offset, limit int) ([]Image, error) {
	if limit <= 0 {
		limit = math.MaxInt32
	}
	ids, err := column[int64](ctx, s.x(), `SELECT image_id FROM image_counts ORDER BY critical DESC, high DESC, medium DESC, low DESC, repository, image_id LIMIT ? OFFSET ?`, limit, offset)
	if err != nil || len(ids) == 0 {
		return []Image{}, err
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	ims, err := s.images(ctx, `WHERE i.id IN (?`+strings.Repeat(`, ?`, len(ids)-1)+`)`, args...)
	if err != nil {
		return nil, err
	}
	at := make(map[int64]int, len(ids))
	for i, id := range ids {
		at[id] = i
	}
	slices.SortFunc(ims, func(a, b Image) int { return at[a.ID] - at[b.ID] })
	return ims, nil
}
