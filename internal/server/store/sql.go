package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/klauspost/compress/zstd"

	"github.com/bulwark-sec/bulwark/internal/deployment"
	"github.com/bulwark-sec/bulwark/internal/finding"
)

// SQL is the Store on a database/sql connection pool, for either engine:
// the statements are written with "?" placeholders and rebound for the
// engine.
type SQL struct {
	db      *sql.DB
	dialect dialect
	// pool is the PostgreSQL pool under db (nil on SQLite).
	pool *pgxpool.Pool
	// expiry is how long a reported deployment counts as running.
	expiry time.Duration
}

// DB is the connection pool of the store.
func (s *SQL) DB() *sql.DB { return s.db }

// Pool is the PostgreSQL pool of the store, nil on SQLite.
func (s *SQL) Pool() *pgxpool.Pool { return s.pool }

// Engine names the engine: "sqlite" or "postgres".
func (s *SQL) Engine() string { return s.dialect.name }

func (s *SQL) tx(ctx context.Context, fn func(tx execer) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(execer{tx, s.dialect}); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func now() string { return time.Now().UTC().Format(time.RFC3339Nano) }

// Add implements Store.
func (s *SQL) Add(ctx context.Context, registry, repository, digest, tag string) (bool, error) {
	var added bool
	err := s.tx(ctx, func(tx execer) error {
		at := stamp(time.Now())
		res, err := tx.ExecContext(ctx, `INSERT INTO images (digest, registry, repository, state, added_at, seen_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(digest) DO NOTHING`,
			digest, registry, repository, StatePending, now(), at)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		added = n == 1
		tot := newTotals()
		if added {
			if _, err := tx.ExecContext(ctx, `INSERT INTO image_counts (image_id, repository) SELECT id, repository FROM images WHERE digest = ?`, digest); err != nil {
				return err
			}
			tot.move(group{}, group{StatePending, ""}, 1)
		} else if added, err = undelete(ctx, tx, digest, at, tot); err != nil {
			return err
		}
		if tag != "" {
			// The tag moved: the repository's other images no longer have it.
			if _, err := tx.ExecContext(ctx, `DELETE FROM tags WHERE repository = ? AND tag = ? AND image_id IN (SELECT id FROM images WHERE registry = ? AND digest != ?)`,
				repository, tag, registry, digest); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO tags (image_id, repository, tag) SELECT id, ?, ? FROM images WHERE digest = ? ON CONFLICT DO NOTHING`, repository, tag, digest); err != nil {
				return err
			}
		}
		return tot.flush(ctx, tx)
	})
	return added, err
}

// imageCols are an image's columns and its counts (image_counts c).
var imageCols = `i.id, i.digest, i.registry, i.repository, i.state, i.error, i.attempts, i.assessed_at, i.db_version, i.signature, i.signer, i.deleted_at, ` +
	`COALESCE(c.` + strings.ReplaceAll(countColumns, `, `, `, 0), COALESCE(c.`) + `, 0)`

func scanImage(sc interface{ Scan(...any) error }) (Image, error) {
	var im Image
	var at, deleted sql.NullString
	var c counts
	dest := []any{&im.ID, &im.Digest, &im.Registry, &im.Repository, &im.State, &im.Error, &im.Attempts, &at, &im.DBVersion, &im.Signature, &im.Signer, &deleted}
	for i := range c {
		dest = append(dest, &c[i])
	}
	if err := sc.Scan(dest...); err != nil {
		return im, err
	}
	if at.Valid {
		if t, err := time.Parse(time.RFC3339Nano, at.String); err == nil {
			im.AssessedAt = &t
		}
	}
	if deleted.Valid {
		t := parseTime(deleted.String)
		im.DeletedAt = &t
	}
	im.Tags = []string{}
	im.Counts = c.toMap()
	im.Deployments = []deployment.Deployment{}
	return im, nil
}

// images reads the images a WHERE (and ORDER BY) clause selects, with
// their counts (image_counts) and their tags: no query per image.
func (s *SQL) images(ctx context.Context, where string, args ...any) ([]Image, error) {
	rows, err := s.x().QueryContext(ctx, `SELECT `+imageCols+` FROM images i LEFT JOIN image_counts c ON c.image_id = i.id `+where, args...)
	if err != nil {
		return nil, err
	}
	var out []Image
	for rows.Next() {
		im, err := scanImage(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, im)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	byID := make(map[int64]*Image, len(out))
	lo, hi := out[0].ID, out[0].ID
	for i := range out {
		byID[out[i].ID] = &out[i]
		lo, hi = min(lo, out[i].ID), max(hi, out[i].ID)
	}
	// A page of images: their deployments through the digest index; more:
	// every running deployment.
	var digests []string
	if len(out) <= 100 {
		for i := range out {
			digests = append(digests, out[i].Digest)
		}
	}
	deps, err := deploymentsOf(ctx, s.x(), s.runningSince(), false, digests...)
	if err != nil {
		return nil, err
	}
	byDigest := make(map[string]*Image, len(out))
	for i := range out {
		byDigest[out[i].Digest] = &out[i]
	}
	for _, d := range deps {
		if im := byDigest[d.Digest]; im != nil {
			im.Deployments = append(im.Deployments, d)
		}
	}
	// Their tags: one range of the tags' key when the images are mostly
	// consecutive (a page in the order they were added), else by ID.
	scope, args := `image_id >= ? AND image_id <= ?`, []any{lo, hi}
	if n := int64(len(out)); hi-lo >= 4*n && n <= 500 {
		scope, args = `image_id IN (?`+strings.Repeat(`, ?`, len(out)-1)+`)`, nil
		for i := range out {
			args = append(args, out[i].ID)
		}
	}
	tags, err := s.x().QueryContext(ctx, `SELECT DISTINCT image_id, tag FROM tags WHERE `+scope+` ORDER BY image_id, tag`, args...)
	if err != nil {
		return nil, err
	}
	defer tags.Close()
	for tags.Next() {
		var id int64
		var tag string
		if err := tags.Scan(&id, &tag); err != nil {
			return nil, err
		}
		if im := byID[id]; im != nil {
			im.Tags = append(im.Tags, tag)
		}
	}
	return out, tags.Err()
}

// Pending implements Store.
func (s *SQL) Pending(ctx context.Context) ([]Image, error) {
	return s.images(ctx, `WHERE i.state = ? ORDER BY i.id`, StatePending)
}

// Images implements Store.
func (s *SQL) Images(ctx context.Context, after string, limit int) ([]Image, error) {
	var from int64
	if after != "" {
		id, err := s.imageID(ctx, s.x(), after)
		if err != nil {
			return nil, fmt.Errorf("after %s: %w", after, err)
		}
		from = id
	}
	where, args := `WHERE i.id > ? ORDER BY i.id`, []any{from}
	if limit > 0 {
		where, args = where+` LIMIT ?`, append(args, limit)
	}
	return s.images(ctx, where, args...)
}

// Image implements Store.
func (s *SQL) Image(ctx context.Context, digest string) (*Image, error) {
	ims, err := s.images(ctx, `WHERE i.digest = ?`, digest)
	if err != nil {
		return nil, err
	}
	if len(ims) == 0 {
		return nil, ErrNotFound
	}
	return &ims[0], nil
}

func (s *SQL) imageID(ctx context.Context, q execer, digest string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM images WHERE digest = ?`, digest).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound
	}
	return id, err
}

// Assessed implements Store.
func (s *SQL) Assessed(ctx context.Context, digest string, a *Assessment) error {
	return s.tx(ctx, func(tx execer) error {
		id, was, err := s.lockImage(ctx, tx, digest)
		if err != nil {
			return err
		}
		at := a.At.UTC().Format(time.RFC3339Nano)
		if _, err := tx.ExecContext(ctx, `UPDATE images SET state = ?, error = '', attempts = attempts + 1, assessed_at = ?, db_version = ?, sbom = ?, signature = ?, signer = ? WHERE id = ?`,
			StateDone, at, a.DBVersion, pack(a.SBOM), a.Signature, a.Signer, id); err != nil {
			return err
		}
		ts, err := readTargets(ctx, tx, []int64{id}, "")
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM packages WHERE image_id = ?`, id); err != nil {
			return err
		}
		var pkgs []any
		for _, p := range a.Packages {
			pkgs = append(pkgs, p.Ecosystem, p.Name, p.Version, id)
		}
		if err := multi(ctx, tx, `INSERT INTO packages (ecosystem, name, version, image_id) VALUES`, 4, `ON CONFLICT DO NOTHING`, pkgs); err != nil {
			return err
		}
		w := newWrites()
		w.tot.move(was, group{StateDone, a.DBVersion}, 1)
		all := append(append([]finding.Finding(nil), a.Other...), a.Vulns...)
		version := func(i int) string {
			if i < len(a.Other) {
				return ""
			}
			return a.DBVersion
		}
		t := ts[id]
		t.next = 0 // every finding is replaced
		if err := w.replace(t, all, nil, version, ReasonIngest, "", a.DBVersion, a.At); err != nil {
			return err
		}
		return w.flush(ctx, tx, "", s.runningSince())
	})
}

// Failed implements Store.
func (s *SQL) Failed(ctx context.Context, digest string, cause error) error {
	return s.tx(ctx, func(tx execer) error {
		tot := newTotals()
		err := each(ctx, tx, `UPDATE images SET state = ?, error = ?, attempts = attempts + 1 WHERE digest = ? AND state = ? RETURNING db_version`,
			[]any{StateFailed, cause.Error(), digest, StatePending}, func(rows *sql.Rows) error {
				var v string
				err := rows.Scan(&v)
				tot.move(group{StatePending, v}, group{StateFailed, v}, 1)
				return err
			})
		if err != nil {
			return err
		}
		return tot.flush(ctx, tx)
	})
}

// Findings implements Store.
func (s *SQL) Findings(ctx context.Context, digest string) ([]Finding, error) {
	id, err := s.imageID(ctx, s.x(), digest)
	if err != nil {
		return nil, err
	}
	seen := map[string]time.Time{}
	hrows, err := s.x().QueryContext(ctx, `SELECT key, first_seen FROM history WHERE image_id = ? AND fixed_at IS NULL`, id)
	if err != nil {
		return nil, err
	}
	for hrows.Next() {
		var k, at string
		if err := hrows.Scan(&k, &at); err != nil {
			hrows.Close()
			return nil, err
		}
		seen[k] = parseTime(at)
	}
	hrows.Close()
	if err := hrows.Err(); err != nil {
		return nil, err
	}
	rows, err := s.x().QueryContext(ctx, `SELECT db_version, data FROM findings WHERE image_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Finding{}
	for rows.Next() {
		var f Finding
		var data []byte
		if err := rows.Scan(&f.DBVersion, &data); err != nil {
			return nil, err
		}
		if err := decode(data, &f.Finding); err != nil {
			return nil, fmt.Errorf("image %s: stored finding: %w", digest, err)
		}
		if t, ok := seen[HistoryKey(&f.Finding)]; ok {
			f.FirstSeen = &t
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// Fixed implements Store.
func (s *SQL) Fixed(ctx context.Context, digest string) ([]Finding, error) {
	id, err := s.imageID(ctx, s.x(), digest)
	if err != nil {
		return nil, err
	}
	rows, err := s.x().QueryContext(ctx, `SELECT gate, finding_id, severity, fixed_version, first_seen, fixed_at, data FROM history WHERE image_id = ? AND fixed_at IS NOT NULL ORDER BY fixed_at, key`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Finding{}
	for rows.Next() {
		var f Finding
		var gate, id, sev, first, fixed string
		var data []byte
		if err := rows.Scan(&gate, &id, &sev, &f.DBVersion, &first, &fixed, &data); err != nil {
			return nil, err
		}
		if err := decode(data, &f.Finding); err != nil {
			return nil, fmt.Errorf("image %s: stored fixed finding: %w", digest, err)
		}
		if f.ID == "" { // no last report kept: what the history knows
			f.Gate, f.ID = finding.Gate(gate), id
			f.Severity, _ = finding.ParseSeverity(sev)
		}
		ft, xt := parseTime(first), parseTime(fixed)
		f.FirstSeen, f.FixedAt = &ft, &xt
		out = append(out, f)
	}
	return out, rows.Err()
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// Tagged implements Store.
func (s *SQL) Tagged(ctx context.Context) ([]Tagged, error) {
	rows, err := s.x().QueryContext(ctx, `SELECT i.registry, t.repository, t.tag, i.digest FROM tags t JOIN images i ON i.id = t.image_id ORDER BY i.id, t.tag`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Tagged
	for rows.Next() {
		var x Tagged
		if err := rows.Scan(&x.Registry, &x.Repository, &x.Tag, &x.Digest); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// Keys implements Store.
func (s *SQL) Keys(ctx context.Context) ([]Package, error) {
	rows, err := s.x().QueryContext(ctx, `SELECT DISTINCT ecosystem, name FROM packages ORDER BY ecosystem, name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Package
	for rows.Next() {
		var p Package
		if err := rows.Scan(&p.Ecosystem, &p.Name); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// ImagesWith implements Store.
func (s *SQL) ImagesWith(ctx context.Context, keys []Package) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	// Bounded batches keep each statement under SQLite's variable limit.
	for len(keys) > 0 {
		n := min(len(keys), 400)
		var cond []string
		var args []any
		for _, k := range keys[:n] {
			cond = append(cond, `(ecosystem = ? AND name = ?)`)
			args = append(args, k.Ecosystem, k.Name)
		}
		keys = keys[n:]
		// A set of image IDs, then the images: ten times less work than
		// the distinct digests of a join.
		digests, err := s.digests(ctx, `SELECT digest FROM images WHERE state = '`+StateDone+`' AND id IN (SELECT image_id FROM packages WHERE `+strings.Join(cond, " OR ")+`)`, args...)
		if err != nil {
			return nil, err
		}
		for _, d := range digests {
			if !seen[d] {
				seen[d] = true
				out = append(out, d)
			}
		}
	}
	return out, nil
}

func (s *SQL) digests(ctx context.Context, q string, args ...any) ([]string, error) {
	return column[string](ctx, s.x(), q, args...)
}

// column runs a query of one column and returns its values.
func column[T any](ctx context.Context, x execer, q string, args ...any) ([]T, error) {
	rows, err := x.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// ImagesNotAt implements Store.
func (s *SQL) ImagesNotAt(ctx context.Context, version string, among []string) ([]string, error) {
	if among == nil {
		return s.digests(ctx, `SELECT digest FROM images WHERE state = ? AND db_version != ? AND deleted_at IS NULL ORDER BY id`, StateDone, version)
	}
	if len(among) == 0 {
		return nil, nil
	}
	args := []any{StateDone, version}
	for _, d := range among {
		args = append(args, d)
	}
	return s.digests(ctx, `SELECT digest FROM images WHERE state = ? AND db_version != ? AND deleted_at IS NULL AND digest IN (?`+strings.Repeat(`, ?`, len(among)-1)+`) ORDER BY id`, args...)
}

// SBOMs implements Store.
func (s *SQL) SBOMs(ctx context.Context, digests []string) (map[string]json.RawMessage, error) {
	out := make(map[string]json.RawMessage, len(digests))
	if len(digests) == 0 {
		return out, nil
	}
	q := `SELECT digest, sbom FROM images WHERE digest IN (?` + strings.Repeat(`, ?`, len(digests)-1) + `)`
	args := make([]any, len(digests))
	for i, d := range digests {
		args[i] = d
	}
	rows, err := s.x().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var d string
		var b []byte
		if err := rows.Scan(&d, &b); err != nil {
			return nil, err
		}
		if out[d], err = unpack(b); err != nil {
			return nil, fmt.Errorf("image %s: %w", d, err)
		}
	}
	return out, rows.Err()
}

// Stored inventories are zstd-compressed: an inventory is most of what
// an image costs to store (about 45 KB of JSON for 250 Debian packages,
// 6x smaller compressed). Inventories stored as plain JSON by an earlier
// bulwark still read.
var (
	sbomEncoder, _ = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	// findingEncoder is the fastest level: on findings of a few hundred
	// bytes it compresses as well as the default in 57% of the time.
	findingEncoder, _ = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedFastest))
	sbomDecoder, _    = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<30))
	zstdMagic         = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// pack compresses a stored inventory.
func pack(b []byte) []byte { return sbomEncoder.EncodeAll(b, nil) }

// decode unpacks stored JSON into v.
func decode(b []byte, v any) error {
	raw, err := unpack(b)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// unpack reads stored JSON, compressed or (stored by an earlier bulwark)
// plain.
func unpack(b []byte) (json.RawMessage, error) {
	if !bytes.HasPrefix(b, zstdMagic) {
		return b, nil
	}
	out, err := sbomDecoder.DecodeAll(b, nil)
	if err != nil {
		return nil, fmt.Errorf("zstd: %w", err)
	}
	return out, nil
}

// Rematched implements Store: the batch's images are claimed one at a
// time in its order (on PostgreSQL a concurrent re-match of one of them
// waits for this transaction and then finds it at the version), then
// what they store is read and their new findings written with a few
// statements for the whole batch.
func (s *SQL) Rematched(ctx context.Context, rs []Rematch) ([]string, error) {
	var written []string
	err := s.tx(ctx, func(tx execer) error {
		written = written[:0]
		ids := map[string]int64{}
		for batch := range slices.Chunk(rs, maxArgs/2) {
			args := make([]any, len(batch))
			for i := range batch {
				args[i] = batch[i].Digest
			}
			err := each(ctx, tx, `SELECT id, digest FROM images WHERE digest IN (?`+strings.Repeat(`, ?`, len(batch)-1)+`)`, args, func(rows *sql.Rows) error {
				var id int64
				var d string
				err := rows.Scan(&id, &d)
				ids[d] = id
				return err
			})
			if err != nil {
				return err
			}
		}
		claimed := map[int64]bool{}
		w := newWrites()
		for v, group := range byVersion(rs) {
			for chunk := range slices.Chunk(group, maxArgs/4) {
				if err := s.claim(ctx, tx, v, chunk, ids, claimed, w.tot); err != nil {
					return err
				}
			}
		}
		var order []int64
		var of []*Rematch
		for i := range rs {
			r := &rs[i]
			id, ok := ids[r.Digest]
			if !ok {
				return fmt.Errorf("image %s: %w", r.Digest, ErrNotFound)
			}
			if !claimed[id] {
				continue
			}
			delete(claimed, id) // an image twice in rs is written once
			order = append(order, id)
			of = append(of, r)
			written = append(written, r.Digest)
		}
		for batch := range slices.Chunk(order, maxArgs) {
			ts, err := readTargets(ctx, tx, batch, string(finding.GateVuln))
			if err != nil {
				return err
			}
			for _, id := range batch {
				r := of[0]
				of = of[1:]
				version := func(int) string { return r.Version }
				if err := w.replace(ts[id], r.Vulns, r.Packed, version, ReasonRematch, r.Version, r.Version, r.At); err != nil {
					return err
				}
			}
		}
		return w.flush(ctx, tx, string(finding.GateVuln), s.runningSince())
	})
	if err != nil {
		return nil, err
	}
	return written, nil
}

// byVersion groups re-matches by database version, in the order of rs.
func byVersion(rs []Rematch) map[string][]*Rematch {
	out := map[string][]*Rematch{}
	for i := range rs {
		out[rs[i].Version] = append(out[rs[i].Version], &rs[i])
	}
	return out
}

// claim moves the images of rs (all at database version v; ids maps
// their digests) that are not at v to it, with their re-match's time,
// adds their IDs to claimed and their moves to tot. One statement, after
// reading their groups (on PostgreSQL locking the rows in ID order: a
// transaction re-matching some of the same images waits for this one
// and then finds them at v, and two never wait for each other).
func (s *SQL) claim(ctx context.Context, tx execer, v string, rs []*Rematch, ids map[string]int64, claimed map[int64]bool, tot *totals) error {
	var set []int64
	var when []any
	for _, r := range rs {
		id, ok := ids[r.Digest]
		if !ok {
			return fmt.Errorf("image %s: %w", r.Digest, ErrNotFound)
		}
		set = append(set, id)
		when = append(when, id, r.At.UTC().Format(time.RFC3339Nano))
	}
	list, args := in(set)
	was := map[int64]group{}
	err := each(ctx, tx, `SELECT id, state, db_version FROM images WHERE id `+list+` ORDER BY id`+s.forUpdate(""), args, func(rows *sql.Rows) error {
		var id int64
		var g group
		err := rows.Scan(&id, &g.state, &g.version)
		was[id] = g
		return err
	})
	if err != nil {
		return err
	}
	// An image twice in rs: the first's time (CASE takes the first WHEN).
	q := `UPDATE images SET db_version = ?, assessed_at = CASE id` + strings.Repeat(` WHEN ? THEN ?`, len(set)) + ` END WHERE id ` + list + ` AND db_version != ? AND deleted_at IS NULL RETURNING id`
	return each(ctx, tx, q, append(append(append([]any{v}, when...), args...), v), func(rows *sql.Rows) error {
		var id int64
		err := rows.Scan(&id)
		claimed[id] = true
		tot.move(was[id], group{was[id].state, v}, 1)
		return err
	})
}

// Advance implements Store.
func (s *SQL) Advance(ctx context.Context, from, to string, skip []string) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx execer) error {
		if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE IF NOT EXISTS skip (digest TEXT PRIMARY KEY)`); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM skip`); err != nil {
			return err
		}
		for _, d := range skip {
			if _, err := tx.ExecContext(ctx, `INSERT INTO skip (digest) VALUES (?) ON CONFLICT DO NOTHING`, d); err != nil {
				return err
			}
		}
		where := `state = ? AND db_version = ? AND digest NOT IN (SELECT digest FROM skip)`
		if _, err := tx.ExecContext(ctx, `UPDATE findings SET db_version = ? WHERE gate = ? AND image_id IN (SELECT id FROM images WHERE `+where+`)`,
			to, string(finding.GateVuln), StateDone, from); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE images SET db_version = ? WHERE `+where, to, StateDone, from)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		tot := newTotals()
		tot.move(group{StateDone, from}, group{StateDone, to}, int(n))
		return tot.flush(ctx, tx)
	})
	return int(n), err
}

// Close implements Store.
func (s *SQL) Close() error {
	err := s.db.Close()
	if s.pool != nil {
		s.pool.Close()
	}
	return err
}

var _ Store = (*SQL)(nil)
