package store

import (
	"context"
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
	return s.tx(ctx, func(tx execer) error {
		up, err := tx.PrepareContext(ctx, `INSERT INTO deployments (platform, cluster, namespace, name, digest, first_seen, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (platform, cluster, namespace, name, digest) DO UPDATE SET seen_at = excluded.seen_at WHERE excluded.seen_at > deployments.seen_at`)
		if err != nil {
			return err
		}
		defer up.Close()
		seen, err := tx.PrepareContext(ctx, `UPDATE images SET seen_at = ? WHERE digest = ? AND (seen_at IS NULL OR seen_at < ?)`)
		if err != nil {
			return err
		}
		defer seen.Close()
		for _, d := range ds {
			at := stamp(d.SeenAt)
			if _, err := up.ExecContext(ctx, d.Platform, d.Cluster, d.Namespace, d.Name, d.Digest, at, at); err != nil {
				return err
			}
			if _, err := seen.ExecContext(ctx, at, d.Digest, at); err != nil {
				return err
			}
		}
		return nil
	})
}

// Deployments implements Store.
func (s *SQL) Deployments(ctx context.Context, digest string) ([]deployment.Deployment, error) {
	return deploymentsOf(ctx, s.x(), s.runningSince(), digest)
}

// deploymentsOf lists the deployments seen since since (all when
// empty) of one digest (all when empty), by digest and name.
func deploymentsOf(ctx context.Context, q execer, since string, digests ...string) ([]deployment.Deployment, error) {
	where, args := `WHERE seen_at >= ?`, []any{since}
	if len(digests) > 0 && digests[0] != "" {
		where += ` AND digest IN (?` + strings.Repeat(`, ?`, len(digests)-1) + `)`
		for _, d := range digests {
			args = append(args, d)
		}
	}
	rows, err := q.QueryContext(ctx, `SELECT platform, cluster, namespace, name, digest, first_seen, seen_at FROM deployments `+where+` ORDER BY digest, platform, cluster, namespace, name`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []deployment.Deployment{}
	for rows.Next() {
		var d deployment.Deployment
		var first, seen string
		if err := rows.Scan(&d.Platform, &d.Cluster, &d.Namespace, &d.Name, &d.Digest, &first, &seen); err != nil {
			return nil, err
		}
		f := parseTime(first)
		d.FirstSeen, d.SeenAt = &f, parseTime(seen)
		out = append(out, d)
	}
	return out, rows.Err()
}
