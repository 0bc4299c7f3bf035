package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/bulwark-sec/bulwark/internal/registry"
	"github.com/bulwark-sec/bulwark/internal/server/jobs"
	"github.com/bulwark-sec/bulwark/internal/server/store"
	"github.com/bulwark-sec/bulwark/internal/sign"
	"github.com/bulwark-sec/bulwark/internal/vulndb/update"
)

// DBUpdate is the server's own database update schedule: every Every,
// the leader among the servers on the store queues a dbupdate job; the
// server that runs it pulls the database as `bulwark db update` does
// (the signature checked with Key before the download, nothing
// downloaded when the installed database is the repository's, the file
// replaced in one rename), or builds it from the upstream sources as
// `bulwark db update --from-upstream` does, and refreshes to it as POST
// /api/v1/db/refresh does. A failed attempt leaves the file and the
// results as they were and is retried with the queue's backoff, then
// parked.
type DBUpdate struct {
	// Every is the time between updates.
	Every time.Duration
	// Timeout bounds the pull of one attempt (the refresh after it is
	// bounded by the job's timeout, Timeout plus a minute).
	Timeout time.Duration
	// Repositories are tried in order until one gives a database.
	Repositories []string
	// Key must verify the database artifact's signature.
	Key *sign.Verifier
	// Registry is the access to the database registry.
	Registry *registry.Client
	// Retries and Backoff are those of a download within an attempt
	// (update.Options; zero: its defaults).
	Retries int
	Backoff time.Duration
	// FromUpstream builds the database from Sources (Repositories and Key
	// unused), incrementally with State (a folder kept between updates).
	FromUpstream bool
	State        string
	Sources      update.Sources
}

// jobTimeout bounds a whole dbupdate job: the pull, then the refresh.
func (u *DBUpdate) jobTimeout() time.Duration { return u.Timeout + time.Minute }

// dbUpdateJob runs a scheduled update, unless the database in use was
// pulled less than half an interval ago (a restart, or the first pull of
// the start, followed by the schedule's run at the start).
func (s *Server) dbUpdateJob(ctx context.Context, _ jobs.DBUpdateArgs) error {
	u := s.o.Update
	if u == nil {
		return errors.New("this server has no database update schedule (db.update): every server on the store needs the same configuration")
	}
	rec, err := s.o.Store.DBUpdate(ctx)
	if err != nil {
		return err
	}
	if rec != nil && rec.Error == "" && rec.LastSuccess != nil && time.Since(*rec.LastSuccess) < u.Every/2 && rec.Version == s.DBVersion() {
		return nil
	}
	_, err = s.UpdateDB(ctx)
	return err
}

// UpdateDB pulls the database and refreshes the server to it, recording
// the attempt in the store (GET /api/v1/status). One runs at a time.
func (s *Server) UpdateDB(ctx context.Context) (*RefreshResult, error) {
	s.updating.Lock()
	defer s.updating.Unlock()
	return s.updateDB(ctx)
}

// updateDB is UpdateDB with s.updating held.
func (s *Server) updateDB(ctx context.Context) (*RefreshResult, error) {
	u := s.o.Update
	at := time.Now()
	pctx, cancel := context.WithTimeout(ctx, u.Timeout)
	pulled, err := update.Update(pctx, s.pullOptions())
	if err != nil && errors.Is(pctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("%w (gave up after db.update.timeout %s)", err, u.Timeout)
	}
	cancel()
	var res *RefreshResult
	switch {
	case err == nil && pulled.Unchanged:
		// The file was left as it was: nothing to refresh.
		v := s.DBVersion()
		res = &RefreshResult{From: v, To: v}
	case err == nil:
		res, err = s.Refresh(ctx)
	}
	version, from := "", ""
	if err == nil {
		version, from = res.To, source(pulled)
		if pulled.Unchanged {
			fmt.Fprintf(s.o.Log, "bulwark server: database update: %s unchanged at %s, nothing downloaded\n", version, from)
		} else {
			fmt.Fprintf(s.o.Log, "bulwark server: database update: installed %s from %s\n", version, from)
		}
	} else {
		fmt.Fprintf(s.o.Log, "bulwark server: database update failed, the database in use (%s) stays: %v\n", s.DBVersion(), err)
	}
	s.metrics.DBUpdate(err)
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer rcancel()
	if rerr := s.o.Store.RecordDBUpdate(rctx, at, version, from, err); rerr != nil {
		fmt.Fprintf(s.o.Log, "bulwark server: recording the database update: %v\n", rerr)
	}
	return res, err
}

// firstPull pulls the database at the start when its file is missing
// and the server has an update schedule.
func (s *Server) firstPull(ctx context.Context) error {
	u := s.o.Update
	if u == nil {
		return nil
	}
	if _, err := os.Stat(s.o.DBFile); !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	fmt.Fprintf(s.o.Log, "bulwark server: no database at %s yet: pulling it\n", s.o.DBFile)
	at := time.Now()
	pctx, cancel := context.WithTimeout(ctx, u.Timeout)
	defer cancel()
	res, err := update.Update(pctx, s.pullOptions())
	if err != nil {
		return fmt.Errorf("no vulnerability database at %s, and pulling it failed: %w", s.o.DBFile, err)
	}
	st, err := openDB(s.o.DBFile)
	if err != nil {
		return err
	}
	st.db.Close()
	return s.o.Store.RecordDBUpdate(ctx, at, st.version, source(res), nil)
}

// upstreamSource is the source recorded for a database built from the
// upstream sources.
const upstreamSource = "upstream sources"

// source names where an update's database came from.
func source(res *update.Result) string {
	if res.From == "" {
		return upstreamSource
	}
	return res.From
}

// pullOptions are the options of the update's pull (or build).
func (s *Server) pullOptions() update.Options {
	u := s.o.Update
	o := update.Options{DB: s.o.DBFile, Repositories: u.Repositories, Key: u.Key, Registry: u.Registry, Retries: u.Retries, Backoff: u.Backoff,
		FromUpstream: u.FromUpstream, State: u.State, Sources: u.Sources}
	if u.FromUpstream {
		o.Log = s.o.Log // each source downloaded, then the build
	}
	return o
}

// followUpdate pulls the database when a re-match job names a newer one
// than the server has: another server's scheduled update installed it,
// and this one, with its own file, pulls the same.
func (s *Server) followUpdate(ctx context.Context, version string) {
	// Versions start with the build time, so they sort by age. A build
	// from upstream makes a version of its own, never another server's:
	// following would build again, newer still, and again on the other.
	if s.o.Update == nil || s.o.Update.FromUpstream || version <= s.DBVersion() {
		return
	}
	s.updating.Lock()
	defer s.updating.Unlock()
	if version > s.DBVersion() {
		_, _ = s.updateDB(ctx)
	}
}

// dbUpdateStatus is the update schedule as GET /api/v1/status shows it.
type dbUpdateStatus struct {
	// Interval and Repositories (or FromUpstream) are this server's
	// configuration.
	Interval     string   `json:"interval"`
	Repositories []string `json:"repositories"`
	FromUpstream bool     `json:"fromUpstream,omitempty"`
	// LastAttempt, LastSuccess, Error, Version and Source are the record
	// of the last attempts, by whichever server ran them.
	*store.DBUpdate
	// State is the state of the last update job (available, running,
	// retryable, completed, parked ...; "" when none is kept), with its
	// attempt.
	State       string `json:"state"`
	Attempt     int    `json:"attempt"`
	MaxAttempts int    `json:"maxAttempts"`
	// NextRun is when the next attempt is due: the retry of a failed one,
	// else the next of the schedule (nil while one runs).
	NextRun *time.Time `json:"nextRun"`
}

// updateStatus reports the update schedule (nil without one).
func (s *Server) updateStatus(ctx context.Context) (*dbUpdateStatus, error) {
	u := s.o.Update
	if u == nil {
		return nil, nil
	}
	st := &dbUpdateStatus{Interval: u.Every.String(), Repositories: u.Repositories, FromUpstream: u.FromUpstream}
	rec, err := s.o.Store.DBUpdate(ctx)
	if err != nil {
		return nil, err
	}
	st.DBUpdate = rec
	job, err := s.queue.Latest(ctx, jobs.KindDBUpdate)
	if err != nil || job == nil {
		return st, err
	}
	st.State, st.Attempt, st.MaxAttempts = job.State, job.Attempt, job.MaxAttempts
	switch job.State {
	case "running":
	case "available", "scheduled", "retryable", "pending":
		st.NextRun = &job.ScheduledAt
	default: // completed, parked, cancelled: the schedule's next
		next := job.CreatedAt.Add(u.Every)
		st.NextRun = &next
	}
	return st, nil
}
