package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// DBUpdate is the record of the server's database update schedule.
type DBUpdate struct {
	// LastAttempt is when the last update started.
	LastAttempt time.Time `json:"lastAttempt"`
	// LastSuccess is when the last successful update started (nil: none
	// yet).
	LastSuccess *time.Time `json:"lastSuccess"`
	// Error is the last attempt's error ("" when it succeeded).
	Error string `json:"error"`
	// Version and Source are the database version the last success
	// installed and the repository it came from.
	Version string `json:"version"`
	Source  string `json:"source"`
}

// RecordDBUpdate implements Store.
func (s *SQL) RecordDBUpdate(ctx context.Context, at time.Time, version, source string, err error) error {
	if err != nil {
		_, e := s.x().ExecContext(ctx, `INSERT INTO db_update (id, attempted_at, error) VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET attempted_at = excluded.attempted_at, error = excluded.error`, stamp(at), err.Error())
		return e
	}
	_, e := s.x().ExecContext(ctx, `INSERT INTO db_update (id, attempted_at, succeeded_at, error, version, source) VALUES (1, ?, ?, '', ?, ?)
		ON CONFLICT (id) DO UPDATE SET attempted_at = excluded.attempted_at, succeeded_at = excluded.succeeded_at, error = '',
		version = excluded.version, source = excluded.source`, stamp(at), stamp(at), version, source)
	return e
}

// DBUpdate implements Store.
func (s *SQL) DBUpdate(ctx context.Context) (*DBUpdate, error) {
	var u DBUpdate
	var attempted string
	var succeeded sql.NullString
	err := s.x().QueryRowContext(ctx, `SELECT attempted_at, succeeded_at, error, version, source FROM db_update WHERE id = 1`).
		Scan(&attempted, &succeeded, &u.Error, &u.Version, &u.Source)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	u.LastAttempt = parseTime(attempted)
	if succeeded.Valid {
		t := parseTime(succeeded.String)
		u.LastSuccess = &t
	}
	return &u, nil
}
