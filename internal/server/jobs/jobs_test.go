package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/server/notify"
	"github.com/bulwark-sec/bulwark/internal/server/store"
	"github.com/bulwark-sec/bulwark/internal/testutil"
	"github.com/bulwark-sec/bulwark/internal/testutil/postgres"
)

func digest(i int) string { return fmt.Sprintf("sha256:%064x", i) }

// fill adds n pending images and queues their reads.
func fill(t *testing.T, st *store.SQL, q *Queue, n int) {
	t.Helper()
	ctx := context.Background()
	var args []river.JobArgs
	for i := range n {
		if _, err := st.Add(ctx, "r", "app", digest(i), "v"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
		args = append(args, IngestArgs{Digest: digest(i)})
	}
	if added, err := q.Add(ctx, args...); err != nil || added != n {
		t.Fatalf("queued %d, %v; want %d", added, err, n)
	}
	// Queued again (a second server, a webhook retry): nothing new.
	if added, err := q.Add(ctx, args...); err != nil || added != 0 {
		t.Fatalf("queued again %d, %v; want 0", added, err)
	}
}

// Two clients (two servers) on one PostgreSQL database work 500 queued
// reads: each is done exactly once, and both took part.
func TestTwoWorkers(t *testing.T) {
	ctx := context.Background()
	url := postgres.URL(t)
	var mu sync.Mutex
	done := map[string]int{}
	by := map[string]int{}
	var queues []*Queue
	for _, id := range []string{"a", "b"} {
		st, err := store.OpenURL(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		q, err := New(ctx, st, Handlers{Ingest: func(ctx context.Context, a IngestArgs) error {
			time.Sleep(time.Millisecond)
			mu.Lock()
			done[a.Digest]++
			by[id]++
			mu.Unlock()
			return nil
		}}, Options{ID: id, Workers: 8})
		if err != nil {
			t.Fatal(err)
		}
		queues = append(queues, q)
		if id == "a" {
			fill(t, st, q, 500)
		}
	}
	for _, q := range queues {
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { q.Stop(context.Background()) })
	}
	testutil.WaitFor(t, 60*time.Second, "500 jobs", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(done) == 500
	})
	time.Sleep(300 * time.Millisecond) // a job done twice would show now
	mu.Lock()
	defer mu.Unlock()
	for d, n := range done {
		if n != 1 {
			t.Errorf("%s done %d times", d, n)
		}
	}
	t.Logf("jobs per worker: %v", by)
	if by["a"] == 0 || by["b"] == 0 {
		t.Errorf("one worker did everything: %v", by)
	}
	if js, err := queues[0].List(ctx, "completed", 1000); err != nil || len(js) != 500 {
		t.Errorf("completed jobs %d, %v; want 500", len(js), err)
	}
}

// A job that always fails is retried with backoff, then parked with its
// errors listed; the other jobs are unaffected.
func TestParked(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			url := filepath.Join(t.TempDir(), "s.db")
			if engine == "postgres" {
				url = postgres.URL(t)
			}
			st, err := store.OpenURL(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			var parked atomic.Value
			var tries atomic.Int64
			q, err := New(ctx, st, Handlers{
				Ingest: func(ctx context.Context, a IngestArgs) error {
					if a.Digest == digest(1) {
						tries.Add(1)
						return fmt.Errorf("registry hangs")
					}
					return nil
				},
				Parked: func(ctx context.Context, kind string, args json.RawMessage, err error) {
					var a IngestArgs
					json.Unmarshal(args, &a)
					parked.Store(kind + " " + a.Digest + ": " + err.Error())
				},
			}, Options{MaxAttempts: 3, Backoff: 10 * time.Millisecond, Poll: 20 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			fill(t, st, q, 3)
			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer q.Stop(context.Background())
			testutil.WaitFor(t, 30*time.Second, "the parked job", func() bool { return parked.Load() != nil })
			if got := parked.Load().(string); got != "ingest "+digest(1)+": registry hangs" || tries.Load() != 3 {
				t.Errorf("parked %q after %d tries", got, tries.Load())
			}
			testutil.WaitFor(t, 10*time.Second, "the parked job listed", func() bool {
				js, _ := q.List(ctx, "parked", 10)
				return len(js) == 1 && len(js[0].Errors) == 3 && js[0].Errors[2] == "registry hangs"
			})
			testutil.WaitFor(t, 10*time.Second, "2 completed", func() bool {
				js, _ := q.List(ctx, "completed", 10)
				return len(js) == 2
			})
		})
	}
}

// workerEnv makes the test binary a worker process (TestMain).
const workerEnv = "BULWARK_TEST_JOBS_WORKER"

func TestMain(m *testing.M) {
	testutil.RunChild(workerEnv, runWorker)
	os.Exit(m.Run())
}

// workerSpec is what a worker process is told.
type workerSpec struct {
	DB, Hook, Hang, Marker string
	JobTimeout             time.Duration
}

// handlers are the worker's: a read stores one new finding (so one event
// in the outbox, written with it) and queues its delivery; a read of
// spec.Hang writes spec.Marker and never ends.
func handlers(st *store.SQL, q **Queue, spec workerSpec) Handlers {
	target := notify.Target{Name: "hook", URL: spec.Hook, Secret: "s3cret"}
	return Handlers{
		Ingest: func(ctx context.Context, a IngestArgs) error {
			if a.Digest == spec.Hang && spec.Marker != "" {
				os.WriteFile(spec.Marker, nil, 0o644)
				<-ctx.Done()
				return ctx.Err()
			}
			im, err := st.Image(ctx, a.Digest)
			if err != nil || im.State != store.StatePending {
				return err
			}
			err = st.Assessed(ctx, a.Digest, &store.Assessment{SBOM: json.RawMessage(`{}`), DBVersion: "v1", At: time.Now(),
				Vulns: []finding.Finding{{Gate: finding.GateVuln, ID: "CVE-" + a.Digest[7:15], Severity: finding.High}}})
			if err != nil {
				return err
			}
			ids, err := st.Undispatched(ctx, 1000)
			if err != nil {
				return err
			}
			var args []river.JobArgs
			for _, id := range ids {
				args = append(args, NotifyArgs{Event: id, Target: target.Name})
			}
			if _, err := (*q).Add(ctx, args...); err != nil {
				return err
			}
			return st.MarkDispatched(ctx, ids)
		},
		Notify: func(ctx context.Context, a NotifyArgs) error {
			if done, err := st.Delivered(ctx, a.Event, a.Target); err != nil || done {
				return err
			}
			ev, err := st.Event(ctx, a.Event)
			if err != nil {
				return err
			}
			if err := notify.Deliver(ctx, http.DefaultClient, target, ev); err != nil {
				return err
			}
			return st.MarkDelivered(ctx, a.Event, a.Target)
		},
	}
}

func runWorker(raw string) int {
	var spec workerSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx := context.Background()
	st, err := store.OpenURL(ctx, spec.DB)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var q *Queue
	q, err = New(ctx, st, handlers(st, &q, spec), Options{ID: "child", JobTimeout: spec.JobTimeout, Workers: 4})
	if err == nil {
		err = q.Start(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	select {} // until killed
}

// A worker process killed with SIGKILL in the middle of a read loses
// nothing: the read is retried by another worker once River's rescuer
// finds it stuck, every image is read, and every event is delivered
// exactly once to the receiver.
func TestKilledWorker(t *testing.T) {
	ctx := context.Background()
	url := postgres.URL(t)
	var mu sync.Mutex
	got := map[string]int{}
	var bad atomic.Int64
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if notify.Verify("s3cret", r.Header.Get(notify.HeaderTimestamp), r.Header.Get(notify.HeaderSignature), body, time.Minute) != nil {
			bad.Add(1)
		}
		mu.Lock()
		got[r.Header.Get(notify.HeaderEvent)]++
		mu.Unlock()
	}))
	defer hook.Close()
	st, err := store.OpenURL(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const n = 20
	spec := workerSpec{DB: url, Hook: hook.URL, Hang: digest(7), Marker: filepath.Join(t.TempDir(), "hung"), JobTimeout: time.Second}
	var q *Queue
	insertOnly, err := New(ctx, st, Handlers{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fill(t, st, insertOnly, n)

	child := testutil.StartChild(t, workerEnv, spec, nil)
	testutil.WaitFor(t, 60*time.Second, "the worker to hang in a read", func() bool {
		_, err := os.Stat(spec.Marker)
		return err == nil
	})
	testutil.WaitFor(t, 60*time.Second, "the other reads", func() bool {
		ims, _ := st.Pending(ctx)
		return len(ims) == 1
	})
	// The kill is to land in the hung read, not between a delivery's 2xx
	// answer and its record (a delivery in flight at a crash is sent again:
	// docs/server.md says so): wait until the child recorded every delivery
	// it made.
	testutil.WaitFor(t, 60*time.Second, "the other reads' deliveries", func() bool {
		mu.Lock()
		delivered := len(got)
		mu.Unlock()
		waiting, err := insertOnly.Waiting(ctx, KindNotify)
		return err == nil && delivered == n-1 && waiting == 0
	})
	testutil.KillChild(t, child)

	// This process takes over; River's rescuer finds the stuck read.
	spec.Marker = ""
	q, err = New(ctx, st, handlers(st, &q, spec), Options{ID: "parent", JobTimeout: time.Second, Backoff: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer q.Stop(context.Background())
	testutil.WaitFor(t, 90*time.Second, "the rescued read", func() bool {
		ims, _ := st.Pending(ctx)
		return len(ims) == 0
	})
	testutil.WaitFor(t, 30*time.Second, "every delivery", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == n
	})
	time.Sleep(500 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	for id, c := range got {
		if c != 1 {
			t.Errorf("event %s delivered %d times", id, c)
		}
	}
	if len(got) != n || bad.Load() != 0 {
		t.Errorf("%d events delivered, want %d; %d bad signatures", len(got), n, bad.Load())
	}
}
