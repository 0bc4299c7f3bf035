// Package jobs is the durable job queue of `bulwark server`: image reads
// (ingest), re-matches of stored images against a new database (rematch),
// notification deliveries (notify) and the scheduled database update
// (dbupdate, a River periodic job that the elected leader queues, so
// several servers queue it once) run as River jobs
// (riverqueue/river) in the store's own database, on PostgreSQL (the
// riverpgxv5 driver, so several server processes share the work) or on
// SQLite (the riversqlite driver, one process). A job is unique by its
// arguments, so a digest is never read twice however many servers
// enqueue it; a failing job is retried with exponential backoff, then
// parked (River's "discarded" state) with its errors listed by List.
package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
)

// Kinds of job.
const (
	KindIngest   = "ingest"
	KindNotify   = "notify"
	KindRematch  = "rematch"
	KindDBUpdate = "dbupdate"
)

// IngestArgs reads a pending image.
type IngestArgs struct {
	Digest string `json:"digest"`
}

// Kind implements river.JobArgs.
func (IngestArgs) Kind() string { return KindIngest }

// NotifyArgs delivers an outbox event to a notification target.
type NotifyArgs struct {
	Event  int64  `json:"event"`
	Target string `json:"target"`
}

// Kind implements river.JobArgs.
func (NotifyArgs) Kind() string { return KindNotify }

// RematchArgs re-matches a batch of stored images against database
// Version. Batches are unique by their arguments while waiting or
// running, not once done: an image stale again later (a database rolled
// back and forward) is queued again, and the handler skips the images
// already at Version.
type RematchArgs struct {
	Version string   `json:"version"`
	Digests []string `json:"digests"`
}

// Kind implements river.JobArgs.
func (RematchArgs) Kind() string { return KindRematch }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (RematchArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: waiting}}
}

// DBUpdateArgs updates the vulnerability database and refreshes the
// server to it. One is waiting or running at a time.
type DBUpdateArgs struct{}

// Kind implements river.JobArgs.
func (DBUpdateArgs) Kind() string { return KindDBUpdate }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (DBUpdateArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: waiting}}
}

// waiting are the states of a job not done yet.
var waiting = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
	rivertype.JobStateRunning, rivertype.JobStateScheduled}

// Handlers do the work of each kind. A returned error retries the job;
// Parked is told when the last attempt failed.
type Handlers struct {
	Ingest  func(ctx context.Context, a IngestArgs) error
	Notify  func(ctx context.Context, a NotifyArgs) error
	Rematch func(ctx context.Context, a RematchArgs) error
	// DBUpdate runs the scheduled database update.
	DBUpdate func(ctx context.Context, a DBUpdateArgs) error
	// Parked, when set, records a job that gave up (the image's error).
	Parked func(ctx context.Context, kind string, args json.RawMessage, err error)
}

// Options tune the queue; zero values take the defaults.
type Options struct {
	// Workers is how many jobs run at once in this process (default 4).
	Workers int
	// MaxAttempts is how often a job is tried before it is parked
	// (default 5).
	MaxAttempts int
	// Backoff is the delay before the first retry, doubled at each
	// further one up to an hour (default 2s).
	Backoff time.Duration
	// JobTimeout bounds one attempt (default 10m). A job whose process
	// died is retried after twice this time (River's rescuer).
	JobTimeout time.Duration
	// Poll is how often SQLite is polled for jobs (default 200ms);
	// PostgreSQL is woken by LISTEN/NOTIFY and polled every second.
	Poll time.Duration
	// DBUpdateEvery, when not 0, queues a DBUpdate job at the start of
	// the elected leader and every DBUpdateEvery after (River's periodic
	// jobs run on the leader only); DBUpdateTimeout bounds its attempts
	// (default JobTimeout).
	DBUpdateEvery, DBUpdateTimeout time.Duration
	// ID names this process among the servers (default: River's).
	ID string
	// Log receives River's own messages (default: warnings and errors to
	// nowhere).
	Log *slog.Logger
}

// Engine is the store's database: a PostgreSQL pool, or else SQLite.
type Engine interface {
	DB() *sql.DB
	Pool() *pgxpool.Pool
}

// client is what the queue uses of river.Client, for either driver.
type client interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
}

// Queue runs jobs. It is safe for concurrent use.
type Queue struct {
	c           client
	maxAttempts int
}

// backoff is the retry policy: Backoff doubled per attempt, at most an
// hour.
type backoff struct{ base time.Duration }

func (b backoff) NextRetry(job *rivertype.JobRow) time.Time {
	d := b.base << min(max(job.Attempt-1, 0), 20)
	if d <= 0 || d > time.Hour {
		d = time.Hour
	}
	return time.Now().Add(d)
}

// worker runs one kind of job with a handler.
type worker[T river.JobArgs] struct {
	river.WorkerDefaults[T]
	fn     func(context.Context, T) error
	parked func(ctx context.Context, kind string, args json.RawMessage, err error)
	// timeout bounds an attempt (0: the queue's JobTimeout).
	timeout time.Duration
}

// Timeout implements river.Worker.
func (w *worker[T]) Timeout(*river.Job[T]) time.Duration { return w.timeout }

func (w *worker[T]) Work(ctx context.Context, job *river.Job[T]) error {
	err := w.fn(ctx, job.Args)
	var snoozed *river.JobSnoozeError
	if err != nil && job.Attempt >= job.MaxAttempts && w.parked != nil && !errors.As(err, &snoozed) {
		w.parked(ctx, job.Kind, job.EncodedArgs, err)
	}
	return err
}

// New migrates River's tables in the engine's database and returns a
// queue running the handlers; nil handlers make an insert-only queue (no
// workers). Start begins working.
func New(ctx context.Context, e Engine, h Handlers, o Options) (*Queue, error) {
	o.Workers = cmpOr(o.Workers, 4)
	o.MaxAttempts = cmpOr(o.MaxAttempts, 5)
	o.Backoff = cmpOr(o.Backoff, 2*time.Second)
	o.JobTimeout = cmpOr(o.JobTimeout, 10*time.Minute)
	o.Poll = cmpOr(o.Poll, 200*time.Millisecond)
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	cfg := &river.Config{
		ID:                   o.ID,
		JobTimeout:           o.JobTimeout,
		RescueStuckJobsAfter: 2 * max(o.JobTimeout, o.DBUpdateTimeout),
		MaxAttempts:          o.MaxAttempts,
		RetryPolicy:          backoff{o.Backoff},
		Logger:               o.Log,
	}
	if h.Ingest != nil || h.Notify != nil || h.Rematch != nil || h.DBUpdate != nil {
		ws := river.NewWorkers()
		if h.Ingest != nil {
			river.AddWorker(ws, &worker[IngestArgs]{fn: h.Ingest, parked: h.Parked})
		}
		if h.Notify != nil {
			river.AddWorker(ws, &worker[NotifyArgs]{fn: h.Notify, parked: h.Parked})
		}
		if h.Rematch != nil {
			river.AddWorker(ws, &worker[RematchArgs]{fn: h.Rematch, parked: h.Parked})
		}
		if h.DBUpdate != nil {
			river.AddWorker(ws, &worker[DBUpdateArgs]{fn: h.DBUpdate, parked: h.Parked, timeout: o.DBUpdateTimeout})
			if o.DBUpdateEvery > 0 {
				cfg.PeriodicJobs = []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(o.DBUpdateEvery),
					func() (river.JobArgs, *river.InsertOpts) { return DBUpdateArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true})}
			}
		}
		cfg.Workers = ws
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: o.Workers}}
	}
	q := &Queue{maxAttempts: o.MaxAttempts}
	if pool := e.Pool(); pool != nil {
		d := riverpgxv5.New(pool)
		if err := migratePostgres(ctx, pool, d); err != nil {
			return nil, err
		}
		c, err := river.NewClient(d, cfg)
		if err != nil {
			return nil, fmt.Errorf("job queue: %w", err)
		}
		q.c = c
		return q, nil
	}
	d := riversqlite.New(e.DB())
	m, err := rivermigrate.New(d, nil)
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, fmt.Errorf("job queue: migrating River's tables: %w", err)
	}
	cfg.PollOnly = true
	cfg.FetchPollInterval = o.Poll
	cfg.FetchCooldown = min(o.Poll, river.FetchCooldownDefault)
	c, err := river.NewClient(d, cfg)
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	q.c = c
	return q, nil
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// migrationLock keeps servers starting together from migrating River's
// tables at once.
const migrationLock = 0x72697672 // "rivr"

func migratePostgres(ctx context.Context, pool *pgxpool.Pool, d *riverpgxv5.Driver) error {
	m, err := rivermigrate.New(d, nil)
	if err != nil {
		return fmt.Errorf("job queue: %w", err)
	}
	// A session lock: River's migrations commit one by one (a new enum
	// value must be committed before use).
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("job queue: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("job queue: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock)
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("job queue: migrating River's tables: %w", err)
	}
	return nil
}

// Start begins working jobs until Stop.
func (q *Queue) Start(ctx context.Context) error { return q.c.Start(ctx) }

// Stop waits for the jobs in progress until ctx ends, then cancels those
// left (they are retried later) and stops.
func (q *Queue) Stop(ctx context.Context) error {
	err := q.c.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return q.c.StopAndCancel(cctx)
	}
	return err
}

// Add enqueues jobs; a job whose arguments match one waiting, running or
// done (a rematch: waiting or running) is skipped. It returns how many
// were new.
func (q *Queue) Add(ctx context.Context, args ...river.JobArgs) (int, error) {
	if len(args) == 0 {
		return 0, nil
	}
	ps := make([]river.InsertManyParams, len(args))
	for i, a := range args {
		opts := river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
		if o, ok := a.(river.JobArgsWithInsertOpts); ok {
			opts = o.InsertOpts()
		}
		ps[i] = river.InsertManyParams{Args: a, InsertOpts: &opts}
	}
	res, err := q.c.InsertMany(ctx, ps)
	if err != nil {
		return 0, fmt.Errorf("job queue: %w", err)
	}
	n := 0
	for _, r := range res {
		if !r.UniqueSkippedAsDuplicate {
			n++
		}
	}
	return n, nil
}

// Waiting counts the jobs of a kind not done yet (waiting, running or to
// be retried).
func (q *Queue) Waiting(ctx context.Context, kind string) (int, error) {
	res, err := q.c.JobList(ctx, river.NewJobListParams().Kinds(kind).States(waiting...).First(10000))
	if err != nil {
		return 0, fmt.Errorf("job queue: %w", err)
	}
	return len(res.Jobs), nil
}

// Job is a job as the API shows it.
type Job struct {
	ID          int64           `json:"id"`
	Kind        string          `json:"kind"`
	State       string          `json:"state"`
	Args        json.RawMessage `json:"args"`
	Attempt     int             `json:"attempt"`
	MaxAttempts int             `json:"maxAttempts"`
	CreatedAt   time.Time       `json:"createdAt"`
	// ScheduledAt is when it runs (a retry: after its backoff).
	ScheduledAt time.Time `json:"scheduledAt"`
	// FinalizedAt is when it completed or was parked.
	FinalizedAt *time.Time `json:"finalizedAt,omitempty"`
	// Errors are the errors of its failed attempts, oldest first.
	Errors []string `json:"errors"`
}

// States a job can be listed by. "parked" is River's "discarded".
var States = map[string]rivertype.JobState{
	"available": rivertype.JobStateAvailable,
	"running":   rivertype.JobStateRunning,
	"retryable": rivertype.JobStateRetryable,
	"scheduled": rivertype.JobStateScheduled,
	"completed": rivertype.JobStateCompleted,
	"parked":    rivertype.JobStateDiscarded,
	"cancelled": rivertype.JobStateCancelled,
}

// List returns up to limit jobs in a state (a key of States), newest
// first.
func (q *Queue) List(ctx context.Context, state string, limit int) ([]Job, error) {
	st, ok := States[state]
	if !ok {
		return nil, fmt.Errorf("no job state %q", state)
	}
	res, err := q.c.JobList(ctx, river.NewJobListParams().States(st).First(limit).OrderBy(river.JobListOrderByID, river.SortOrderDesc))
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	out := make([]Job, 0, len(res.Jobs))
	for _, j := range res.Jobs {
		out = append(out, toJob(j))
	}
	return out, nil
}

// Latest returns the job of a kind queued last (nil: none kept).
func (q *Queue) Latest(ctx context.Context, kind string) (*Job, error) {
	res, err := q.c.JobList(ctx, river.NewJobListParams().Kinds(kind).States(allStates...).First(1).OrderBy(river.JobListOrderByID, river.SortOrderDesc))
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	if len(res.Jobs) == 0 {
		return nil, nil
	}
	j := toJob(res.Jobs[0])
	return &j, nil
}

// allStates are River's states of a job.
var allStates = slices.Concat(waiting, []rivertype.JobState{rivertype.JobStateCancelled, rivertype.JobStateCompleted, rivertype.JobStateDiscarded})

// toJob is a job as the API shows it.
func toJob(j *rivertype.JobRow) Job {
	job := Job{ID: j.ID, Kind: j.Kind, State: string(j.State), Args: j.EncodedArgs, Attempt: j.Attempt, MaxAttempts: j.MaxAttempts,
		CreatedAt: j.CreatedAt, ScheduledAt: j.ScheduledAt, FinalizedAt: j.FinalizedAt, Errors: []string{}}
	if j.State == rivertype.JobStateDiscarded {
		job.State = "parked"
	}
	for _, e := range j.Errors {
		job.Errors = append(job.Errors, e.Error)
	}
	return job
}
