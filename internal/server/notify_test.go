package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/server/jobs"
	"github.com/bulwark-sec/bulwark/internal/server/notify"
	"github.com/bulwark-sec/bulwark/internal/server/store"
	"github.com/bulwark-sec/bulwark/internal/testutil"
	"github.com/bulwark-sec/bulwark/internal/testutil/postgres"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

// receiver counts the events delivered to it, checking signatures.
type receiver struct {
	mu     sync.Mutex
	events map[int64]store.Event
	count  map[int64]int
	bad    int
	// url is where it listens (set by the test).
	url string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var ev store.Event
	if notify.Verify("s3cret", r.Header.Get(notify.HeaderTimestamp), r.Header.Get(notify.HeaderSignature), body, time.Minute) != nil || json.Unmarshal(body, &ev) != nil {
		rc.bad++
		return
	}
	rc.events[ev.ID] = ev
	rc.count[ev.ID]++
}

// reasons lists the delivered events as "reason new/fixed ID digest".
func (rc *receiver) list() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	for _, ev := range rc.events {
		for _, f := range ev.New {
			out = append(out, fmt.Sprintf("%s new %s %s", ev.Reason, f.ID, ev.Image.Digest))
		}
		for _, f := range ev.Fixed {
			out = append(out, fmt.Sprintf("%s fixed %s %s", ev.Reason, f.ID, ev.Image.Digest))
		}
	}
	return out
}

// A database update adding an advisory for a package of 3 of 1,000
// stored images re-matches those 3 and delivers 3 events ("new"), once
// each; withdrawing it delivers 3 "fixed" events. A target that never
// answers is retried, then its jobs are parked with their errors in
// /api/v1/jobs, while the server keeps serving. On SQLite and PostgreSQL.
func TestNotifyRematch(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) { testNotifyRematch(t, engine) })
	}
}

func testNotifyRematch(t *testing.T, engine string) {
	ctx := context.Background()
	dir := t.TempDir()
	url := filepath.Join(dir, "s.db")
	if engine == "postgres" {
		url = postgres.URL(t)
	}
	st, err := store.OpenURL(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	storedImages(t, st, 1000)
	db := filepath.Join(dir, "vulndb.bwdb")
	other := npmAdvisory("GHSA-other", "not-stored", "2.0.0")
	writeDB(t, db, time.Unix(1, 0).UTC(), other)

	rc := &receiver{events: map[int64]store.Event{}, count: map[int64]int{}}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	// A target that accepts connections and never answers.
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	var held []net.Conn
	var heldMu sync.Mutex
	go func() {
		for {
			c, err := dead.Accept()
			if err != nil {
				return
			}
			heldMu.Lock()
			held = append(held, c)
			heldMu.Unlock()
		}
	}()
	defer func() {
		heldMu.Lock()
		for _, c := range held {
			c.Close()
		}
		heldMu.Unlock()
	}()

	srv, err := New(ctx, Options{Store: st, DBFile: db, Token: token, Log: testWriter{t},
		Notify: []notify.Target{{Name: "hook", URL: hook.URL, Secret: "s3cret"}, {Name: "dead", URL: "http://" + dead.Addr().String() + "/", Secret: "s3cret"}},
		Jobs:   jobs.Options{MaxAttempts: 3, Backoff: 50 * time.Millisecond, JobTimeout: 2 * time.Second, Poll: 50 * time.Millisecond}, RematchBatch: 50})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.WaitRematch(ctx); err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(srv.Handler())
	defer api.Close()

	rare := npmAdvisory("GHSA-rare", "rare", "2.0.0")
	for _, step := range []struct {
		advs []vulndb.Advisory
		kind string
	}{{[]vulndb.Advisory{other, rare}, "new"}, {[]vulndb.Advisory{other}, "fixed"}} {
		writeDB(t, db, time.Unix(int64(len(step.advs)*10), 0).UTC(), step.advs...)
		res, err := srv.Refresh(ctx)
		if err != nil || res.Queued != 3 || res.Jobs != 1 {
			t.Fatalf("refresh: %+v, %v; want 3 queued in 1 job", res, err)
		}
		testutil.WaitFor(t, 30*time.Second, "3 more deliveries", func() bool { return len(rc.list()) >= 3 })
		time.Sleep(300 * time.Millisecond)
		got := rc.list()
		if len(got) != 3 {
			t.Fatalf("delivered %v; want 3 events", got)
		}
		for i, g := range got {
			want := fmt.Sprintf("rematch %s GHSA-rare ", step.kind)
			if len(g) < len(want) || g[:len(want)] != want {
				t.Errorf("event %d: %s; want %s...", i, g, want)
			}
		}
		rc.mu.Lock()
		for id, n := range rc.count {
			if n != 1 {
				t.Errorf("event %d delivered %d times", id, n)
			}
		}
		if rc.bad != 0 {
			t.Errorf("%d deliveries with a bad signature or body", rc.bad)
		}
		rc.events, rc.count = map[int64]store.Event{}, map[int64]int{}
		rc.mu.Unlock()
	}

	// The dead target: 6 deliveries parked after 3 attempts each, while
	// the API answers.
	var parked struct {
		Jobs []jobs.Job `json:"jobs"`
	}
	testutil.WaitFor(t, 60*time.Second, "6 parked deliveries", func() bool {
		req, _ := http.NewRequest("GET", api.URL+"/api/v1/jobs?state=parked", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("the API took %s while a target hangs", d)
		}
		parked.Jobs = nil
		json.NewDecoder(resp.Body).Decode(&parked)
		return len(parked.Jobs) == 6
	})
	for _, j := range parked.Jobs {
		if j.Kind != jobs.KindNotify || j.Attempt != 3 || len(j.Errors) != 3 {
			t.Errorf("parked job %+v", j)
		}
	}
	t.Logf("a parked delivery's last error: %s", parked.Jobs[0].Errors[2])
}
