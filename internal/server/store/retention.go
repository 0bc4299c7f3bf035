package store

import (
	"context"
	"database/sql"
	"slices"
	"time"
)

// Retention says what ages out of the store; a zero duration keeps that
// kind of row for ever.
type Retention struct {
	// Images: an image with no tag left (each tag moved to another digest,
	// or it was pushed by digest only) that runs nowhere and was last
	// pushed, polled or reported running longer ago is removed with its
	// findings, history and events.
	Images time.Duration
	// History: findings fixed longer ago leave the history (open ones
	// stay, whatever their age).
	History time.Duration
	// Events: outbox events written longer ago, already handed to the job
	// queue, are removed with their delivery records.
	Events time.Duration
	// Deployments: deployments not reported again for longer are removed.
	Deployments time.Duration
	// Now is the time the ages count from (default: now).
	Now time.Time
}

// Pruned counts what Prune removed.
type Pruned struct {
	Images      int64 `json:"images"`
	History     int64 `json:"history"`
	Events      int64 `json:"events"`
	Deployments int64 `json:"deployments"`
	// Skipped is true when another server was pruning (PostgreSQL).
	Skipped bool `json:"skipped,omitempty"`
}

// agedOut selects the images the Images rule removes (seen before ?).
const agedOut = `COALESCE(images.seen_at, images.added_at) < ?
	AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.image_id = images.id)
	AND NOT EXISTS (SELECT 1 FROM deployments d WHERE d.digest = images.digest AND d.gone_at IS NULL)`

// untrend takes the history of the images with the ids out of the
// trend summary and the version totals, as if they had never been
// stored.
func untrend(ctx context.Context, tx execer, ids []int64) error {
	t := newTally()
	for chunk := range slices.Chunk(ids, maxArgs) {
		set, args := in(chunk)
		err := each(ctx, tx, `SELECT db_version, SUM(added), SUM(fixed), COUNT(*) FROM version_changes WHERE image_id `+set+` GROUP BY db_version`, args, func(rows *sql.Rows) error {
			var v string
			var added, fixed, images int
			err := rows.Scan(&v, &added, &fixed, &images)
			t.addTotal(v, -added, -fixed, -images)
			return err
		})
		if err != nil {
			return err
		}
		err = each(ctx, tx, `SELECT first_seen, COALESCE(fixed_at, ''), severity FROM history WHERE image_id `+set, args, func(rows *sql.Rows) error {
			var first, fixed, sev string
			if err := rows.Scan(&first, &fixed, &sev); err != nil {
				return err
			}
			t.addTrend(first, sev, -1, 0)
			if fixed != "" {
				t.addTrend(fixed, sev, 0, -1)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return t.flush(ctx, tx)
}

// removeAgedOut removes the images agedOut selects (seen before
// before), locked first (on PostgreSQL) so that what leaves the totals
// is what they held: the trend and the version totals forget their
// findings, the store's totals their groups and counts. It returns how
// many it removed.
func (s *SQL) removeAgedOut(ctx context.Context, tx execer, before string) (int64, error) {
	tot := newTotals()
	var ids []int64
	err := each(ctx, tx, `SELECT images.id, images.state, images.db_version, `+countColumns+` FROM images LEFT JOIN image_counts c ON c.image_id = images.id WHERE `+agedOut+` ORDER BY images.id`+s.forUpdate("images"),
		[]any{before}, func(rows *sql.Rows) error {
			var id int64
			var g group
			var c [len(severityNames)]sql.NullInt64
			dest := []any{&id, &g.state, &g.version}
			for i := range c {
				dest = append(dest, &c[i])
			}
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			ids = append(ids, id)
			tot.move(g, group{}, 1)
			for i := range c {
				tot.findings[i] -= int(c[i].Int64)
			}
			return nil
		})
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	if err := untrend(ctx, tx, ids); err != nil {
		return 0, err
	}
	for chunk := range slices.Chunk(ids, maxArgs) {
		set, args := in(chunk)
		if _, err := tx.ExecContext(ctx, `DELETE FROM images WHERE id `+set, args...); err != nil {
			return 0, err
		}
	}
	return int64(len(ids)), tot.flush(ctx, tx)
}

// retentionLock is the PostgreSQL advisory lock held by the one server
// pruning at a time.
const retentionLock = 0x62756c78

// Prune implements Store. On PostgreSQL only one server prunes at a time:
// the others find the lock taken and skip the round.
func (s *SQL) Prune(ctx context.Context, r Retention) (*Pruned, error) {
	if r.Now.IsZero() {
		r.Now = time.Now()
	}
	out := &Pruned{}
	err := s.tx(ctx, func(tx execer) error {
		if s.pool != nil {
			var got bool
			if err := tx.QueryRowContext(ctx, `SELECT pg_try_advisory_xact_lock(?)`, retentionLock).Scan(&got); err != nil {
				return err
			}
			if !got {
				out.Skipped = true
				return nil
			}
		}
		del := func(n *int64, age time.Duration, q string) error {
			if age <= 0 {
				return nil
			}
			res, err := tx.ExecContext(ctx, q, stamp(r.Now.Add(-age)))
			if err != nil {
				return err
			}
			*n, _ = res.RowsAffected()
			return nil
		}
		if err := del(&out.Deployments, r.Deployments, `DELETE FROM deployments WHERE seen_at < ?`); err != nil {
			return err
		}
		if r.Images > 0 {
			n, err := s.removeAgedOut(ctx, tx, stamp(r.Now.Add(-r.Images)))
			if err != nil {
				return err
			}
			out.Images = n
		}
		if err := del(&out.History, r.History, `DELETE FROM history WHERE fixed_at IS NOT NULL AND fixed_at < ?`); err != nil {
			return err
		}
		return del(&out.Events, r.Events, `DELETE FROM events WHERE dispatched = 1 AND created_at < ?`)
	})
	return out, err
}
