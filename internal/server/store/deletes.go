package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"
)

// notRead is the error of a pending image whose manifest was deleted
// before it was read.
const notRead = "deleted from the registry before it was read"

// undelete records a push of a known digest at seen: an image deleted
// from the registry is there again. It returns true when the image now
// waits to be read (it was deleted before it was read; tot gets the
// move).
func undelete(ctx context.Context, tx execer, digest, seen string, tot *totals) (bool, error) {
	var deleted sql.NullString
	var read bool
	var was group
	if err := tx.QueryRowContext(ctx, `SELECT deleted_at, sbom IS NOT NULL, state, db_version FROM images WHERE digest = ?`, digest).Scan(&deleted, &read, &was.state, &was.version); err != nil {
		return false, err
	}
	if !deleted.Valid {
		_, err := tx.ExecContext(ctx, `UPDATE images SET seen_at = ? WHERE digest = ?`, seen, digest)
		return false, err
	}
	if read {
		_, err := tx.ExecContext(ctx, `UPDATE images SET seen_at = ?, deleted_at = NULL WHERE digest = ?`, seen, digest)
		return false, err
	}
	_, err := tx.ExecContext(ctx, `UPDATE images SET seen_at = ?, deleted_at = NULL, state = ?, error = '', attempts = 0 WHERE digest = ?`, seen, StatePending, digest)
	tot.move(was, group{StatePending, was.version}, 1)
	return err == nil, err
}

// Untag implements Store.
func (s *SQL) Untag(ctx context.Context, registry, repository string, tags []string) ([]string, error) {
	var out []string
	err := s.tx(ctx, func(tx execer) error {
		out = out[:0]
		var ids []int64
		for chunk := range slices.Chunk(tags, 500) {
			list := `(?` + strings.Repeat(`, ?`, len(chunk)-1) + `)`
			args := []any{registry, repository}
			for _, t := range chunk {
				args = append(args, t)
			}
			got, err := column[int64](ctx, tx, `SELECT DISTINCT t.image_id FROM tags t JOIN images i ON i.id = t.image_id WHERE i.registry = ? AND t.repository = ? AND t.tag IN `+list, args...)
			if err != nil {
				return err
			}
			ids = append(ids, got...)
			if _, err := tx.ExecContext(ctx, `DELETE FROM tags WHERE image_id IN (SELECT id FROM images WHERE registry = ?) AND repository = ? AND tag IN `+list, args...); err != nil {
				return err
			}
		}
		slices.Sort(ids)
		for chunk := range slices.Chunk(slices.Compact(ids), 500) {
			set, args := in(chunk)
			got, err := column[string](ctx, tx, `SELECT digest FROM images WHERE id `+set+` AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.image_id = images.id) ORDER BY id`, args...)
			if err != nil {
				return err
			}
			out = append(out, got...)
		}
		return nil
	})
	return out, err
}

// Delete implements Store. The image loses its tags in the repository;
// it is marked deleted when the repository is the one it was recorded
// under and no other repository still tags it.
func (s *SQL) Delete(ctx context.Context, registry, repository, digest string, at time.Time) (bool, error) {
	var marked bool
	err := s.tx(ctx, func(tx execer) error {
		var id int64
		var recorded string
		var was group
		err := tx.QueryRowContext(ctx, `SELECT id, repository, state, db_version FROM images WHERE registry = ? AND digest = ?`+s.forUpdate(""), registry, digest).Scan(&id, &recorded, &was.state, &was.version)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM tags WHERE image_id = ? AND repository = ?`, id, repository); err != nil {
			return err
		}
		if recorded != repository {
			return nil
		}
		// The values on the right are the row's before the update.
		res, err := tx.ExecContext(ctx, `UPDATE images SET deleted_at = ?,
				state = CASE WHEN state = ? THEN ? ELSE state END,
				error = CASE WHEN state = ? THEN ? ELSE error END
			WHERE id = ? AND deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.image_id = images.id)`,
			stamp(at), StatePending, StateFailed, StatePending, notRead, id)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		marked = n == 1
		if !marked || was.state != StatePending {
			return nil
		}
		tot := newTotals()
		tot.move(was, group{StateFailed, was.version}, 1)
		return tot.flush(ctx, tx)
	})
	return marked, err
}
