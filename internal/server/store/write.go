package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/bulwark-sec/bulwark/internal/finding"
)

// Writing findings: a read (Assessed) or a batch of re-matches
// (Rematched) replaces images' findings, with their history, counts,
// version changes and events, in one transaction. What it needs of the
// batch's images is read with one query per table, and what it writes
// goes in multi-row statements: a batch of 200 images costs a few dozen
// statements, not dozens per image (on PostgreSQL each is a round trip).

// maxArgs bounds a statement's placeholders: SQLite's limit is 32,766,
// PostgreSQL's 65,535.
const maxArgs = 30_000

// multi runs "head (?, ...), (?, ...) tail" over args, width of them a
// row, in as few statements as maxArgs allows.
func multi(ctx context.Context, tx execer, head string, width int, tail string, args []any) error {
	row := "(?" + strings.Repeat(", ?", width-1) + ")"
	for len(args) > 0 {
		n := min(len(args)/width, maxArgs/width)
		if _, err := tx.ExecContext(ctx, head+" "+row+strings.Repeat(", "+row, n-1)+" "+tail, args[:n*width]...); err != nil {
			return err
		}
		args = args[n*width:]
	}
	return nil
}

// in is "IN (?, ...)" for the ids, with them as arguments.
func in(ids []int64) (string, []any) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return `IN (?` + strings.Repeat(`, ?`, len(ids)-1) + `)`, args
}

// each runs a query and scan on each of its rows.
func each(ctx context.Context, tx execer, q string, args []any, scan func(*sql.Rows) error) error {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// PackFindings encodes findings as the store keeps them (JSON,
// compressed), so that callers can do it in parallel before a write
// (Rematch.Packed).
func PackFindings(fs []finding.Finding) ([][]byte, error) {
	out := make([][]byte, len(fs))
	for i := range fs {
		b, err := json.Marshal(&fs[i])
		if err != nil {
			return nil, err
		}
		out[i] = findingEncoder.EncodeAll(b, nil)
	}
	return out, nil
}

// storedFinding is a stored finding, decoded, with its stored bytes.
type storedFinding struct {
	f    finding.Finding
	data []byte
}

// histRow is an image's history row of one key.
type histRow struct {
	gate, findingID, severity, firstSeen, newVersion, fixedVersion string
	fixedAt                                                        sql.NullString
}

// target is an image of a batch and what is stored of it.
type target struct {
	id    int64
	image EventImage
	// old are its stored findings of the gate being replaced (all when
	// none is), in order; kept counts the others by severity.
	old  []storedFinding
	kept counts
	// next is the sequence number after its last stored finding.
	next int
	// hist is its history of the gate being replaced, by key.
	hist map[string]histRow
}

// readTargets reads the images with the ids, their tags, and their
// findings and history of gate (all gates when empty) within tx.
func readTargets(ctx context.Context, tx execer, ids []int64, gate string) (map[int64]*target, error) {
	out := make(map[int64]*target, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	set, args := in(ids)
	err := each(ctx, tx, `SELECT id, digest, registry, repository FROM images WHERE id `+set, args, func(rows *sql.Rows) error {
		t := &target{hist: map[string]histRow{}, image: EventImage{Tags: []string{}}}
		if err := rows.Scan(&t.id, &t.image.Digest, &t.image.Registry, &t.image.Repository); err != nil {
			return err
		}
		out[t.id] = t
		return nil
	})
	if err != nil {
		return nil, err
	}
	var id int64
	err = each(ctx, tx, `SELECT DISTINCT image_id, tag FROM tags WHERE image_id `+set+` ORDER BY image_id, tag`, args, func(rows *sql.Rows) error {
		var tag string
		if err := rows.Scan(&id, &tag); err != nil {
			return err
		}
		out[id].image.Tags = append(out[id].image.Tags, tag)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = each(ctx, tx, `SELECT image_id, seq, gate, severity, data FROM findings WHERE image_id `+set+` ORDER BY image_id, seq`, args, func(rows *sql.Rows) error {
		var seq int
		var g, sev string
		var data []byte
		if err := rows.Scan(&id, &seq, &g, &sev, &data); err != nil {
			return err
		}
		t := out[id]
		t.next = max(t.next, seq+1)
		if gate != "" && g != gate {
			t.kept[severityIndex(sev)]++
			return nil
		}
		sf := storedFinding{data: data}
		if err := decode(data, &sf.f); err != nil {
			return fmt.Errorf("image %s: stored finding: %w", t.image.Digest, err)
		}
		t.old = append(t.old, sf)
		return nil
	})
	if err != nil {
		return nil, err
	}
	scope := ``
	if gate != "" {
		scope, args = ` AND gate = ?`, append(args, gate)
	}
	err = each(ctx, tx, `SELECT image_id, key, gate, finding_id, severity, first_seen, new_version, fixed_at, fixed_version FROM history WHERE image_id `+set+scope, args, func(rows *sql.Rows) error {
		var k string
		var h histRow
		if err := rows.Scan(&id, &k, &h.gate, &h.findingID, &h.severity, &h.firstSeen, &h.newVersion, &h.fixedAt, &h.fixedVersion); err != nil {
			return err
		}
		out[id].hist[k] = h
		return nil
	})
	return out, err
}

// writes gathers the rows a batch writes, as arguments of multi-row
// statements.
type writes struct {
	// findings: image_id, seq, gate, severity, db_version, data.
	findings []any
	// started and fixed history rows: image_id, key, gate, finding_id,
	// severity, first_seen, new_version (and fixed_at, fixed_version,
	// data).
	started, fixed []any
	// counts: image_id, repository and the counts.
	counts []any
	// events: image_id, created_at, payload.
	events []any
	// replaced are the images whose findings are replaced.
	replaced []int64
	// evented are the events' images, digests and payloads before their
	// deployments are added.
	evented []*Event
	t       *tally
	// tot is what the batch changes of the store's totals, written last.
	tot *totals
}

func newWrites() *writes { return &writes{t: newTally(), tot: newTotals()} }

// replace records the replacement of target t's findings (those read by
// readTargets) with fs, found at at: by a re-match against database
// version, or by a read (version "", the event naming evVersion); packed
// are fs as stored (PackFindings; computed when nil) and fsVersion the
// db_version each stored finding gets.
func (w *writes) replace(t *target, fs []finding.Finding, packed [][]byte, fsVersion func(i int) string, reason, version, evVersion string, at time.Time) error {
	if packed == nil {
		var err error
		if packed, err = PackFindings(fs); err != nil {
			return err
		}
	}
	when := at.UTC().Format(time.RFC3339Nano)
	before := make([]finding.Finding, len(t.old))
	for i := range t.old {
		before[i] = t.old[i].f
	}
	if ev := event(t.image, reason, evVersion, at, before, fs); ev != nil {
		w.evented = append(w.evented, ev)
		w.events = append(w.events, t.id, now(), nil)
	}
	w.history(t, fs, version, when)
	c := t.kept
	c.add(fs, 1)
	w.tot.findings.add(fs, 1)
	w.tot.findings.add(before, -1)
	w.counts = append(append(w.counts, t.id, t.image.Repository), c.args()...)
	w.replaced = append(w.replaced, t.id)
	for i := range fs {
		w.findings = append(w.findings, t.id, t.next+i, string(fs[i].Gate), fs[i].Severity.String(), fsVersion(i), packed[i])
	}
	return nil
}

// history brings t's history up to its new findings fs: findings not
// open yet start (or reopen) at at, open ones no longer reported are
// fixed at at and keep their last report. version is the database
// version of a re-match ("" for a read). What this does to the trend and
// the version changes goes to w's tally.
func (w *writes) history(t *target, fs []finding.Finding, version, at string) {
	w.t.repository[t.id] = t.image.Repository
	seen := map[string]bool{}
	for i := range fs {
		k := HistoryKey(&fs[i])
		if seen[k] {
			continue
		}
		seen[k] = true
		h, known := t.hist[k]
		if known && !h.fixedAt.Valid {
			continue // open, still reported
		}
		sev := fs[i].Severity.String()
		w.started = append(w.started, t.id, k, string(fs[i].Gate), fs[i].ID, sev, at, version)
		if known { // reopened: first seen as before, no longer fixed
			w.t.addTrend(h.firstSeen, h.severity, -1, 0)
			w.t.addTrend(h.firstSeen, sev, 1, 0)
			w.t.addTrend(h.fixedAt.String, h.severity, 0, -1)
			w.t.addChange(h.fixedVersion, t.id, 0, -1)
		} else {
			w.t.addTrend(at, sev, 1, 0)
		}
		w.t.addChange(version, t.id, 1, 0)
	}
	// What is open and no longer reported is fixed, kept as last reported.
	last := map[string][]byte{}
	for _, o := range t.old {
		last[HistoryKey(&o.f)] = o.data
	}
	for k, h := range t.hist {
		if h.fixedAt.Valid || seen[k] {
			continue
		}
		w.t.addTrend(at, h.severity, 0, 1)
		w.t.addChange(h.newVersion, t.id, -1, 0)
		w.t.addChange(version, t.id, 0, 1)
		data := last[k]
		if data == nil {
			data = []byte(`{}`)
		}
		w.fixed = append(w.fixed, t.id, k, h.gate, h.findingID, h.severity, h.firstSeen, h.newVersion, at, version, data)
	}
}

// flush writes what w gathered in tx, the store's totals last. gate is
// the gate whose findings are replaced (all when empty); since is the
// oldest seen_at of a running deployment.
func (w *writes) flush(ctx context.Context, tx execer, gate, since string) error {
	if len(w.evented) > 0 {
		digests := make([]string, len(w.evented))
		for i, ev := range w.evented {
			digests[i] = ev.Image.Digest
		}
		deps, err := deploymentsOf(ctx, tx, since, false, digests...)
		if err != nil {
			return err
		}
		for i, ev := range w.evented {
			for _, d := range deps {
				if d.Digest == ev.Image.Digest {
					ev.Deployments = append(ev.Deployments, d)
				}
			}
			b, err := json.Marshal(ev)
			if err != nil {
				return err
			}
			w.events[3*i+2] = b
		}
		if err := multi(ctx, tx, `INSERT INTO events (image_id, created_at, payload) VALUES`, 3, ``, w.events); err != nil {
			return err
		}
	}
	if err := multi(ctx, tx, `INSERT INTO history (image_id, key, gate, finding_id, severity, first_seen, new_version) VALUES`, 7,
		`ON CONFLICT (image_id, key) DO UPDATE SET severity = excluded.severity, new_version = excluded.new_version, fixed_at = NULL, fixed_version = '', data = NULL`, w.started); err != nil {
		return err
	}
	// The fixed rows exist: this sets their fixed_at, fixed_version, data.
	if err := multi(ctx, tx, `INSERT INTO history (image_id, key, gate, finding_id, severity, first_seen, new_version, fixed_at, fixed_version, data) VALUES`, 10,
		`ON CONFLICT (image_id, key) DO UPDATE SET fixed_at = excluded.fixed_at, fixed_version = excluded.fixed_version, data = excluded.data`, w.fixed); err != nil {
		return err
	}
	if err := w.t.flush(ctx, tx); err != nil {
		return err
	}
	sets := make([]string, len(severityNames))
	for i, col := range strings.Split(countColumns, ", ") {
		sets[i] = col + ` = excluded.` + col
	}
	if err := multi(ctx, tx, `INSERT INTO image_counts (image_id, repository, `+countColumns+`) VALUES`, 2+len(severityNames),
		`ON CONFLICT (image_id) DO UPDATE SET `+strings.Join(sets, ", "), w.counts); err != nil {
		return err
	}
	for ids := w.replaced; len(ids) > 0; {
		n := min(len(ids), maxArgs)
		set, args := in(ids[:n])
		ids = ids[n:]
		scope := ``
		if gate != "" {
			scope, args = ` AND gate = ?`, append(args, gate)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM findings WHERE image_id `+set+scope, args...); err != nil {
			return err
		}
	}
	if err := multi(ctx, tx, `INSERT INTO findings (image_id, seq, gate, severity, db_version, data) VALUES`, 6, ``, w.findings); err != nil {
		return err
	}
	return w.tot.flush(ctx, tx)
}
