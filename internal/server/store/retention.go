package store

import (
	"context"
	"database/sql"
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

// untrend takes the history of the images agedOut selects out of the
// trend summary and the version totals, as if they had never been
// stored.
func untrend(ctx context.Context, tx execer, before string) error {
	t := newTally()
	err := each(ctx, tx, `SELECT c.db_version, SUM(c.added), SUM(c.fixed), COUNT(*) FROM version_changes c JOIN images ON images.id = c.image_id WHERE `+agedOut+` GROUP BY c.db_version`, []any{before}, func(rows *sql.Rows) error {
		var v string
		var added, fixed, images int
		err := rows.Scan(&v, &added, &fixed, &images)
		t.addTotal(v, -added, -fixed, -images)
		return err
	})
	if err != nil {
		return err
	}
	err = each(ctx, tx, `SELECT h.first_seen, COALESCE(h.fixed_at, ''), h.severity FROM history h JOIN images ON images.id = h.image_id WHERE `+agedOut, []any{before}, func(rows *sql.Rows) error {
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
	return t.flush(ctx, tx)
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
			// The trend forgets the findings of the images removed.
			if err := untrend(ctx, tx, stamp(r.Now.Add(-r.Images))); err != nil {
				return err
			}
		}
		if err := del(&out.Images, r.Images, `DELETE FROM images WHERE `+agedOut); err != nil {
			return err
		}
		if err := del(&out.History, r.History, `DELETE FROM history WHERE fixed_at IS NOT NULL AND fixed_at < ?`); err != nil {
			return err
		}
		return del(&out.Events, r.Events, `DELETE FROM events WHERE dispatched = 1 AND created_at < ?`)
	})
	return out, err
}
