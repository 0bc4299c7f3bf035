package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
	_ "modernc.org/sqlite" // the pure-Go "sqlite" driver

	"github.com/bulwark-sec/bulwark/internal/finding"
)

// migrations are the schema versions, in order; migration i brings the
// schema to version i+1. Append only: a released migration never changes.
var migrations = []string{
	`CREATE TABLE images (
		id          INTEGER PRIMARY KEY,
		digest      TEXT NOT NULL UNIQUE,
		registry    TEXT NOT NULL,
		repository  TEXT NOT NULL,
		state       TEXT NOT NULL,
		error       TEXT NOT NULL DEFAULT '',
		attempts    INTEGER NOT NULL DEFAULT 0,
		added_at    TEXT NOT NULL,
		assessed_at TEXT,
		db_version  TEXT NOT NULL DEFAULT '',
		sbom        BLOB
	);
	CREATE TABLE tags (
		image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
		tag      TEXT NOT NULL,
		PRIMARY KEY (image_id, tag)
	);
	CREATE TABLE packages (
		ecosystem TEXT NOT NULL,
		name      TEXT NOT NULL,
		version   TEXT NOT NULL,
		image_id  INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
		PRIMARY KEY (ecosystem, name, version, image_id)
	) WITHOUT ROWID;
	CREATE INDEX packages_image ON packages(image_id);
	CREATE TABLE findings (
		image_id   INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
		seq        INTEGER NOT NULL,
		gate       TEXT NOT NULL,
		severity   TEXT NOT NULL,
		db_version TEXT NOT NULL DEFAULT '',
		data       BLOB NOT NULL,
		PRIMARY KEY (image_id, seq)
	);`,
	// The finding history: one row per finding an image ever had
	// (HistoryKey), open while fixed_at is NULL. new_version and
	// fixed_version name the database version whose re-match made it new
	// or fixed ('' when a read of the image did); data keeps a fixed
	// finding as last reported. Existing findings start their history at
	// their image's assessment.
	`CREATE TABLE history (
		image_id      INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
		key           TEXT NOT NULL,
		gate          TEXT NOT NULL,
		finding_id    TEXT NOT NULL,
		severity      TEXT NOT NULL,
		first_seen    TEXT NOT NULL,
		new_version   TEXT NOT NULL DEFAULT '',
		fixed_at      TEXT,
		fixed_version TEXT NOT NULL DEFAULT '',
		data          BLOB,
		PRIMARY KEY (image_id, key)
	) WITHOUT ROWID;
	CREATE INDEX history_new ON history(new_version) WHERE new_version != '';
	CREATE INDEX history_fixed ON history(fixed_version) WHERE fixed_version != '';
	INSERT OR IGNORE INTO history (image_id, key, gate, finding_id, severity, first_seen)
		SELECT f.image_id, f.gate || char(0) || json_extract(f.data, '$.id') || char(0) || COALESCE(json_extract(f.data, '$.fingerprint'), ''),
			f.gate, json_extract(f.data, '$.id'), f.severity, COALESCE(i.assessed_at, i.added_at)
		FROM findings f JOIN images i ON i.id = f.image_id;`,
}

// SQLite is the Store on a SQLite file.
type SQLite struct {
	db *sql.DB
}

// Open opens (creating it when missing) the SQLite store at path and
// brings its schema up to date.
func Open(ctx context.Context, path string) (*SQLite, error) {
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	// One connection: SQLite has one writer, and this keeps every
	// transaction free of busy errors.
	db.SetMaxOpenConns(1)
	s := &SQLite{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	return s, nil
}

// SchemaVersion is the schema version this bulwark writes.
func SchemaVersion() int { return len(migrations) }

func (s *SQLite) migrate(ctx context.Context) error {
	var have int
	if err := s.db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&have); err != nil {
		return err
	}
	if have > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this bulwark's (%d): upgrade bulwark", have, len(migrations))
	}
	for v := have; v < len(migrations); v++ {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
				return fmt.Errorf("migration %d: %w", v+1, err)
			}
			_, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, v+1))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *SQLite) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func now() string { return time.Now().UTC().Format(time.RFC3339Nano) }

// Add implements Store.
func (s *SQLite) Add(ctx context.Context, registry, repository, digest, tag string) (bool, error) {
	var added bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO images (digest, registry, repository, state, added_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(digest) DO NOTHING`,
			digest, registry, repository, StatePending, now())
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		added = n == 1
		if tag == "" {
			return nil
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO tags (image_id, tag) SELECT id, ? FROM images WHERE digest = ? ON CONFLICT DO NOTHING`, tag, digest)
		return err
	})
	return added, err
}

const imageCols = `id, digest, registry, repository, state, error, attempts, assessed_at, db_version`

func scanImage(sc interface{ Scan(...any) error }) (Image, error) {
	var im Image
	var at sql.NullString
	if err := sc.Scan(&im.ID, &im.Digest, &im.Registry, &im.Repository, &im.State, &im.Error, &im.Attempts, &at, &im.DBVersion); err != nil {
		return im, err
	}
	if at.Valid {
		if t, err := time.Parse(time.RFC3339Nano, at.String); err == nil {
			im.AssessedAt = &t
		}
	}
	im.Tags = []string{}
	im.Counts = map[string]int{}
	return im, nil
}

func (s *SQLite) images(ctx context.Context, where string, args ...any) ([]Image, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+imageCols+` FROM images `+where, args...)
	if err != nil {
		return nil, err
	}
	var out []Image
	byID := map[int64]*Image{}
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
	for i := range out {
		byID[out[i].ID] = &out[i]
	}
	if len(out) == 0 {
		return out, nil
	}
	// A few images: their own rows through the indexes; many: one pass
	// over each table.
	scope, ids := ``, []any{}
	if len(out) <= 100 {
		scope = ` WHERE image_id IN (?` + strings.Repeat(`, ?`, len(out)-1) + `)`
		for i := range out {
			ids = append(ids, out[i].ID)
		}
	}
	if err := s.eachRow(ctx, `SELECT image_id, tag FROM tags`+scope+` ORDER BY image_id, tag`, func(id int64, v string, _ int) {
		if im := byID[id]; im != nil {
			im.Tags = append(im.Tags, v)
		}
	}, ids...); err != nil {
		return nil, err
	}
	err = s.eachRow(ctx, `SELECT image_id, severity, COUNT(*) FROM findings`+scope+` GROUP BY image_id, severity`, func(id int64, v string, n int) {
		if im := byID[id]; im != nil {
			im.Counts[v] = n
		}
	}, ids...)
	return out, err
}

// eachRow runs a query whose rows are (image id, text[, count]).
func (s *SQLite) eachRow(ctx context.Context, q string, fn func(id int64, v string, n int), args ...any) error {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	for rows.Next() {
		var id int64
		var v string
		var n int
		dest := []any{&id, &v, &n}[:len(cols)]
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		fn(id, v, n)
	}
	return rows.Err()
}

// Pending implements Store.
func (s *SQLite) Pending(ctx context.Context) ([]Image, error) {
	return s.images(ctx, `WHERE state = ? ORDER BY id`, StatePending)
}

// Images implements Store.
func (s *SQLite) Images(ctx context.Context, after string, limit int) ([]Image, error) {
	var from int64
	if after != "" {
		id, err := s.imageID(ctx, s.db, after)
		if err != nil {
			return nil, fmt.Errorf("after %s: %w", after, err)
		}
		from = id
	}
	where, args := `WHERE id > ? ORDER BY id`, []any{from}
	if limit > 0 {
		where, args = where+` LIMIT ?`, append(args, limit)
	}
	return s.images(ctx, where, args...)
}

// Image implements Store.
func (s *SQLite) Image(ctx context.Context, digest string) (*Image, error) {
	ims, err := s.images(ctx, `WHERE digest = ?`, digest)
	if err != nil {
		return nil, err
	}
	if len(ims) == 0 {
		return nil, ErrNotFound
	}
	return &ims[0], nil
}

func (s *SQLite) imageID(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, digest string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM images WHERE digest = ?`, digest).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound
	}
	return id, err
}

// Assessed implements Store.
func (s *SQLite) Assessed(ctx context.Context, digest string, a *Assessment) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		id, err := s.imageID(ctx, tx, digest)
		if err != nil {
			return err
		}
		at := a.At.UTC().Format(time.RFC3339Nano)
		if _, err := tx.ExecContext(ctx, `UPDATE images SET state = ?, error = '', attempts = attempts + 1, assessed_at = ?, db_version = ?, sbom = ? WHERE id = ?`,
			StateDone, at, a.DBVersion, pack(a.SBOM), id); err != nil {
			return err
		}
		all := append(append([]finding.Finding(nil), a.Other...), a.Vulns...)
		if err := recordHistory(ctx, tx, id, "", all, "", at); err != nil {
			return err
		}
		for _, q := range []string{`DELETE FROM packages WHERE image_id = ?`, `DELETE FROM findings WHERE image_id = ?`} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return err
			}
		}
		ins, err := tx.PrepareContext(ctx, `INSERT INTO packages (ecosystem, name, version, image_id) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`)
		if err != nil {
			return err
		}
		defer ins.Close()
		for _, p := range a.Packages {
			if _, err := ins.ExecContext(ctx, p.Ecosystem, p.Name, p.Version, id); err != nil {
				return err
			}
		}
		if err := insertFindings(ctx, tx, id, 0, a.Other, ""); err != nil {
			return err
		}
		return insertFindings(ctx, tx, id, len(a.Other), a.Vulns, a.DBVersion)
	})
}

func insertFindings(ctx context.Context, tx *sql.Tx, id int64, seq int, fs []finding.Finding, version string) error {
	ins, err := tx.PrepareContext(ctx, `INSERT INTO findings (image_id, seq, gate, severity, db_version, data) VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	for i := range fs {
		b, err := json.Marshal(&fs[i])
		if err != nil {
			return err
		}
		if _, err := ins.ExecContext(ctx, id, seq+i, string(fs[i].Gate), fs[i].Severity.String(), version, pack(b)); err != nil {
			return err
		}
	}
	return nil
}

// Failed implements Store.
func (s *SQLite) Failed(ctx context.Context, digest string, cause error) error {
	_, err := s.db.ExecContext(ctx, `UPDATE images SET state = ?, error = ?, attempts = attempts + 1 WHERE digest = ? AND state = ?`, StateFailed, cause.Error(), digest, StatePending)
	return err
}

// Findings implements Store.
func (s *SQLite) Findings(ctx context.Context, digest string) ([]Finding, error) {
	id, err := s.imageID(ctx, s.db, digest)
	if err != nil {
		return nil, err
	}
	seen := map[string]time.Time{}
	hrows, err := s.db.QueryContext(ctx, `SELECT key, first_seen FROM history WHERE image_id = ? AND fixed_at IS NULL`, id)
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
	rows, err := s.db.QueryContext(ctx, `SELECT db_version, data FROM findings WHERE image_id = ? ORDER BY seq`, id)
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
func (s *SQLite) Fixed(ctx context.Context, digest string) ([]Finding, error) {
	id, err := s.imageID(ctx, s.db, digest)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT gate, finding_id, severity, fixed_version, first_seen, fixed_at, data FROM history WHERE image_id = ? AND fixed_at IS NOT NULL ORDER BY fixed_at, key`, id)
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

// Changes implements Store.
func (s *SQLite) Changes(ctx context.Context, version string, limit int) (*Changes, error) {
	// The literal != '' lets SQLite use the partial indexes.
	const changed = `
		SELECT h.image_id, 'new' AS kind, h.gate, h.finding_id, h.severity, h.first_seen AS at FROM history h WHERE h.new_version = ?1 AND h.new_version != '' AND h.fixed_at IS NULL
		UNION ALL
		SELECT h.image_id, 'fixed', h.gate, h.finding_id, h.severity, h.fixed_at FROM history h WHERE h.fixed_version = ?1 AND h.fixed_version != ''`
	out := &Changes{List: []Change{}}
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(kind = 'new'), 0), COALESCE(SUM(kind = 'fixed'), 0), COUNT(DISTINCT image_id) FROM (`+changed+`)`, version).
		Scan(&out.New, &out.Fixed, &out.Images); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.db.QueryContext(ctx, `SELECT i.digest, i.repository, c.kind, c.gate, c.finding_id, c.severity, c.at FROM (`+changed+`) c JOIN images i ON i.id = c.image_id
		ORDER BY i.repository, i.digest, c.kind, c.finding_id LIMIT ?2`, version, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var c Change
		var gate, at string
		if err := rows.Scan(&c.Digest, &c.Repository, &c.Kind, &gate, &c.ID, &c.Severity, &at); err != nil {
			return nil, err
		}
		c.Gate, c.At = finding.Gate(gate), parseTime(at)
		out.List = append(out.List, c)
	}
	return out, rows.Err()
}

// Trend implements Store.
func (s *SQLite) Trend(ctx context.Context) ([]Day, error) {
	count := func(col string) (map[string]map[string]int, error) {
		rows, err := s.db.QueryContext(ctx, `SELECT substr(`+col+`, 1, 10), severity, COUNT(*) FROM history WHERE `+col+` IS NOT NULL GROUP BY 1, 2`)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := map[string]map[string]int{}
		for rows.Next() {
			var day, sev string
			var n int
			if err := rows.Scan(&day, &sev, &n); err != nil {
				return nil, err
			}
			if out[day] == nil {
				out[day] = map[string]int{}
			}
			out[day][sev] = n
		}
		return out, rows.Err()
	}
	newBy, err := count("first_seen")
	if err != nil {
		return nil, err
	}
	fixedBy, err := count("fixed_at")
	if err != nil {
		return nil, err
	}
	return Trend(newBy, fixedBy), nil
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// recordHistory brings an image's history up to its new findings fs
// (those of gate only, when gate is set), before its stored findings are
// replaced: findings not open yet start (or reopen) at at, open ones no
// longer reported are fixed at at and keep their last report. version is
// the database version of a re-match (” for a read).
func recordHistory(ctx context.Context, tx *sql.Tx, id int64, gate finding.Gate, fs []finding.Finding, version, at string) error {
	scope, args := ``, []any{id}
	if gate != "" {
		scope, args = ` AND gate = ?`, append(args, string(gate))
	}
	open := map[string]bool{}
	rows, err := tx.QueryContext(ctx, `SELECT key FROM history WHERE image_id = ? AND fixed_at IS NULL`+scope, args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return err
		}
		open[k] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	start, err := tx.PrepareContext(ctx, `INSERT INTO history (image_id, key, gate, finding_id, severity, first_seen, new_version) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(image_id, key) DO UPDATE SET severity = excluded.severity, new_version = excluded.new_version, fixed_at = NULL, fixed_version = '', data = NULL`)
	if err != nil {
		return err
	}
	defer start.Close()
	for i := range fs {
		k := HistoryKey(&fs[i])
		if open[k] {
			delete(open, k)
			continue
		}
		if _, err := start.ExecContext(ctx, id, k, string(fs[i].Gate), fs[i].ID, fs[i].Severity.String(), at, version); err != nil {
			return err
		}
	}
	if len(open) == 0 {
		return nil
	}
	// What is left was fixed: keep each as last reported.
	old, err := tx.QueryContext(ctx, `SELECT data FROM findings WHERE image_id = ?`+scope, args...)
	if err != nil {
		return err
	}
	last := map[string][]byte{}
	for old.Next() {
		var data []byte
		var f finding.Finding
		if err := old.Scan(&data); err != nil {
			old.Close()
			return err
		}
		if decode(data, &f) == nil && open[HistoryKey(&f)] {
			last[HistoryKey(&f)] = data
		}
	}
	old.Close()
	if err := old.Err(); err != nil {
		return err
	}
	fix, err := tx.PrepareContext(ctx, `UPDATE history SET fixed_at = ?, fixed_version = ?, data = ? WHERE image_id = ? AND key = ?`)
	if err != nil {
		return err
	}
	defer fix.Close()
	for k := range open {
		data := last[k]
		if data == nil {
			data = []byte(`{}`)
		}
		if _, err := fix.ExecContext(ctx, at, version, data, id, k); err != nil {
			return err
		}
	}
	return nil
}

// Keys implements Store.
func (s *SQLite) Keys(ctx context.Context) ([]Package, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT ecosystem, name FROM packages ORDER BY ecosystem, name`)
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
func (s *SQLite) ImagesWith(ctx context.Context, keys []Package) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	// Bounded batches keep each statement under SQLite's variable limit.
	for len(keys) > 0 {
		n := min(len(keys), 400)
		var cond []string
		var args []any
		for _, k := range keys[:n] {
			cond = append(cond, `(p.ecosystem = ? AND p.name = ?)`)
			args = append(args, k.Ecosystem, k.Name)
		}
		keys = keys[n:]
		digests, err := s.digests(ctx, `SELECT DISTINCT i.digest FROM packages p JOIN images i ON i.id = p.image_id WHERE i.state = '`+StateDone+`' AND (`+strings.Join(cond, " OR ")+`)`, args...)
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

func (s *SQLite) digests(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// ImagesNotAt implements Store.
func (s *SQLite) ImagesNotAt(ctx context.Context, version string) ([]string, error) {
	return s.digests(ctx, `SELECT digest FROM images WHERE state = ? AND db_version != ? ORDER BY id`, StateDone, version)
}

// SBOMs implements Store.
func (s *SQLite) SBOMs(ctx context.Context, digests []string) (map[string]json.RawMessage, error) {
	out := make(map[string]json.RawMessage, len(digests))
	if len(digests) == 0 {
		return out, nil
	}
	q := `SELECT digest, sbom FROM images WHERE digest IN (?` + strings.Repeat(`, ?`, len(digests)-1) + `)`
	args := make([]any, len(digests))
	for i, d := range digests {
		args[i] = d
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
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
	sbomDecoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<30))
	zstdMagic      = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// pack compresses stored JSON: inventories and findings.
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

// Rematched implements Store.
func (s *SQLite) Rematched(ctx context.Context, rs []Rematch) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for i := range rs {
			if err := s.rematched(ctx, tx, &rs[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// rematched replaces one image's vulnerability findings within tx.
func (s *SQLite) rematched(ctx context.Context, tx *sql.Tx, r *Rematch) error {
	id, err := s.imageID(ctx, tx, r.Digest)
	if err != nil {
		return fmt.Errorf("image %s: %w", r.Digest, err)
	}
	var next int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), -1) + 1 FROM findings WHERE image_id = ?`, id).Scan(&next); err != nil {
		return err
	}
	when := r.At.UTC().Format(time.RFC3339Nano)
	if err := recordHistory(ctx, tx, id, finding.GateVuln, r.Vulns, r.Version, when); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM findings WHERE image_id = ? AND gate = ?`, id, string(finding.GateVuln)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE images SET assessed_at = ?, db_version = ? WHERE id = ?`, when, r.Version, id); err != nil {
		return err
	}
	return insertFindings(ctx, tx, id, next, r.Vulns, r.Version)
}

// Advance implements Store.
func (s *SQLite) Advance(ctx context.Context, from, to string, skip []string) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE IF NOT EXISTS skip (digest TEXT PRIMARY KEY)`); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM skip`); err != nil {
			return err
		}
		for _, d := range skip {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO skip (digest) VALUES (?)`, d); err != nil {
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
		return nil
	})
	return int(n), err
}

// Close implements Store.
func (s *SQLite) Close() error { return s.db.Close() }

var _ Store = (*SQLite)(nil)
