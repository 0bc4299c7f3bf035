package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/bulwark-sec/bulwark/internal/deployment"
)

// stamp is a time as stored for comparisons: RFC 3339 in UTC with a
// fixed width, so that text order is time order.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

// SetDeploymentExpiry sets how long a reported deployment counts as
// running without being reported again (0: until retention removes it).
// Call it before the store is used.
func (s *SQL) SetDeploymentExpiry(d time.Duration) { s.expiry = d }

// runningSince is the oldest seen_at of a deployment still running.
func (s *SQL) runningSince() string {
	if s.expiry <= 0 {
		return ""
	}
	return stamp(time.Now().Add(-s.expiry))
}

// ReportDeployments implements Store.
func (s *SQL) ReportDeployments(ctx context.Context, ds []deployment.Deployment) error {
	return s.tx(ctx, func(tx execer) error { return report(ctx, tx, ds) })
}

// Reconcile implements Store.
func (s *SQL) Reconcile(ctx context.Context, scope deployment.Scope, ds []deployment.Deployment) (int64, error) {
	var n int64
	err := s.tx(ctx, func(tx execer) error {
		if err := report(ctx, tx, ds); err != nil {
			return err
		}
		q, args := `UPDATE deployments SET gone_at = ? WHERE platform = ? AND cluster = ? AND gone_at IS NULL AND seen_at < ?`, []any{stamp(scope.At), scope.Platform, scope.Cluster, stamp(scope.At)}
		if scope.Namespace != "" {
			q, args = q+` AND namespace = ?`, append(args, scope.Namespace)
		}
		if scope.Name != "" {
			q, args = q+` AND name = ?`, append(args, scope.Name)
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// report records deployments running (a report newer than a deployment's
// goneAt brings it back) and gone (not when it was reported running after
// the time it is reported gone: the reports crossed).
func report(ctx context.Context, tx execer, ds []deployment.Deployment) error {
	up, err := tx.PrepareContext(ctx, `INSERT INTO deployments (platform, cluster, namespace, name, digest, first_seen, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (platform, cluster, namespace, name, digest) DO UPDATE SET seen_at = excluded.seen_at,
			gone_at = CASE WHEN excluded.seen_at > deployments.gone_at THEN NULL ELSE deployments.gone_at END
		WHERE excluded.seen_at > deployments.seen_at`)
	if err != nil {
		return err
	}
	defer up.Close()
	seen, err := tx.PrepareContext(ctx, `UPDATE images SET seen_at = ? WHERE digest = ? AND (seen_at IS NULL OR seen_at < ?)`)
	if err != nil {
		return err
	}
	defer seen.Close()
	const goneWhere = `UPDATE deployments SET gone_at = ? WHERE platform = ? AND cluster = ? AND namespace = ? AND name = ? AND gone_at IS NULL AND seen_at <= ?`
	for _, d := range ds {
		if d.GoneAt != nil {
			at := stamp(*d.GoneAt)
			q, args := goneWhere, []any{at, d.Platform, d.Cluster, d.Namespace, d.Name, at}
			if d.Digest != "" {
				q, args = q+` AND digest = ?`, append(args, d.Digest)
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
			continue
		}
		at := stamp(d.SeenAt)
		if _, err := up.ExecContext(ctx, d.Platform, d.Cluster, d.Namespace, d.Name, d.Digest, at, at); err != nil {
			return err
		}
		if _, err := seen.ExecContext(ctx, at, d.Digest, at); err != nil {
			return err
		}
	}
	return nil
}

// Deployments implements Store.
func (s *SQL) Deployments(ctx context.Context, digest string, gone bool) ([]deployment.Deployment, error) {
	return deploymentsOf(ctx, s.x(), s.runningSince(), gone, digest)
}

// deploymentsOf lists the deployments seen since since (all when empty),
// running or, with gone, gone too, of the digests given (all when none or
// ""), by digest and name.
func deploymentsOf(ctx context.Context, q execer, since string, gone bool, digests ...string) ([]deployment.Deployment, error) {
	where, args := `WHERE seen_at >= ?`, []any{since}
	if !gone {
		where += ` AND gone_at IS NULL`
	}
	if len(digests) > 0 && digests[0] != "" {
		where += ` AND digest IN (?` + strings.Repeat(`, ?`, len(digests)-1) + `)`
		for _, d := range digests {
			args = append(args, d)
		}
	}
	rows, err := q.QueryContext(ctx, `SELECT platform, cluster, namespace, name, digest, first_seen, seen_at, gone_at FROM deployments `+where+` ORDER BY digest, platform, cluster, namespace, name`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []deployment.Deployment{}
	for rows.Next() {
		var d deployment.Deployment
		var first, seen string
		var goneAt sql.NullString
		if err := rows.Scan(&d.Platform, &d.Cluster, &d.Namespace, &d.Name, &d.Digest, &first, &seen, &goneAt); err != nil {
			return nil, err
		}
		f := parseTime(first)
		d.FirstSeen, d.SeenAt = &f, parseTime(seen)
		if goneAt.Valid {
			g := parseTime(goneAt.String)
			d.GoneAt = &g
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
