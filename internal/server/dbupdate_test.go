package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/registry"
	"github.com/bulwark-sec/bulwark/internal/server/jobs"
	"github.com/bulwark-sec/bulwark/internal/server/notify"
	"github.com/bulwark-sec/bulwark/internal/server/store"
	"github.com/bulwark-sec/bulwark/internal/testutil"
	"github.com/bulwark-sec/bulwark/internal/testutil/postgres"
	"github.com/bulwark-sec/bulwark/internal/testutil/testkey"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
	"github.com/bulwark-sec/bulwark/internal/vulndb/update"
)

// statusJSON is what the test reads of GET /api/v1/status.
type statusJSON struct {
	DBVersion string          `json:"dbVersion"`
	DBUpdate  *dbUpdateStatus `json:"dbUpdate"`
}

// TestDBUpdateSchedule runs the server's own update schedule against a
// real registry on 127.0.0.1 serving the signed database artifact,
// through a proxy that can damage it. Without a database file the server
// pulls one before it starts. On the schedule the server picks up
// a new version and re-matches: an advisory added for a package of 3 of
// 100 stored images gives the 3 "new" notifications. An unsigned
// artifact, a truncated blob and a registry that hangs (bounded by
// db.update.timeout) each fail the update: retried, then parked, with the
// error in /api/v1/status and /api/v1/jobs; the database file keeps its
// bytes, the server its version, and every image its current, not stale,
// results, with no notification. The next good artifact is picked up.
func TestDBUpdateSchedule(t *testing.T) {
	ctx := context.Background()
	r := newDBRepo(t)
	reg, dir, publish, build := r.reg, r.dir, r.publish, r.build
	// mode says what the proxy does to the registry's answers: "hang"
	// holds every manifest request, "truncate" cuts the database blob
	// (truncated) after 100 bytes.
	var mode atomic.Value
	mode.Store("pass")
	var truncated atomic.Pointer[[]byte]
	proxy := testutil.HostileProxy(t, reg.Host, func(w http.ResponseWriter, r *http.Request) bool {
		switch mode.Load().(string) {
		case "hang":
			if strings.Contains(r.URL.Path, "/manifests/") {
				<-r.Context().Done()
				return true
			}
		case "truncate":
			data := *truncated.Load()
			sum := sha256.Sum256(data)
			if strings.HasSuffix(r.URL.Path, "/blobs/sha256:"+hex.EncodeToString(sum[:])) {
				w.Header().Set("Content-Length", "100")
				w.Write(data[:100])
				return true
			}
		}
		return false
	})
	repo := proxy + "/bulwark-sec/bulwark-db"
	other := npmAdvisory("GHSA-other", "not-stored", "2.0.0")
	rare := npmAdvisory("GHSA-rare", "rare", "2.0.0")
	v1 := publish(build("v1", 1, other), true)
	// No database yet: the server pulls it before it starts.
	db := filepath.Join(dir, "cache", "vulndb.bwdb")

	st := openStore(t, dir)
	storedImages(t, st, 100)
	rc := &receiver{events: map[int64]store.Event{}, count: map[int64]int{}}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	srv, err := New(ctx, Options{Store: st, DBFile: db, Token: token, Log: testWriter{t},
		Notify: []notify.Target{{Name: "hook", URL: hook.URL, Secret: "s3cret"}},
		Update: r.schedule(2*time.Second, repo),
		Jobs:   jobs.Options{MaxAttempts: 2, Backoff: 100 * time.Millisecond, Poll: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if !bytes.Equal(testutil.ReadFile(t, db), v1) {
		t.Fatal("the database pulled at the start is not v1")
	}
	if err := srv.WaitRematch(ctx); err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(srv.Handler())
	defer api.Close()
	f := &fixture{url: api.URL}
	get := func(path string, v any) {
		t.Helper()
		start := time.Now()
		if code := f.get(t, path, v); code != http.StatusOK {
			t.Fatalf("GET %s: %d", path, code)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("GET %s took %s", path, d)
		}
	}
	metrics := func() string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, api.URL+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return b.String()
	}
	status := func() statusJSON {
		t.Helper()
		var s statusJSON
		get("/api/v1/status", &s)
		if s.DBUpdate == nil {
			t.Fatal("no dbUpdate in /api/v1/status")
		}
		return s
	}
	// succeeded waits for a success after since that installed version.
	succeeded := func(since time.Time, version string) {
		t.Helper()
		testutil.WaitFor(t, 90*time.Second, "an update to "+version, func() bool {
			u := status().DBUpdate
			return u.DBUpdate != nil && u.LastSuccess != nil && u.LastSuccess.After(since) && u.Version == version && srv.DBVersion() == version
		})
		if err := srv.WaitRematch(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// The start's update pulls v1 again: nothing changes.
	t0 := time.Now().Add(-time.Minute)
	succeeded(t0, srv.DBVersion())
	v1Version := srv.DBVersion()

	// v2 adds an advisory for "rare" (3 of the 100 images).
	mark := time.Now()
	publish(build("v2", 2, other, rare), true)
	testutil.WaitFor(t, 90*time.Second, "the update to v2", func() bool { return srv.DBVersion() != v1Version })
	v2Version := srv.DBVersion()
	succeeded(mark, v2Version)
	testutil.WaitFor(t, 30*time.Second, "3 notifications", func() bool { return len(rc.list()) >= 3 })
	if got := rc.list(); len(got) != 3 || !strings.HasPrefix(got[0], "rematch new GHSA-rare ") {
		t.Fatalf("delivered %v; want 3 new GHSA-rare", got)
	}
	u := status().DBUpdate
	if u.Error != "" || u.Source != repo || (u.NextRun == nil) != (u.State == "running") || u.Interval != "2s" {
		t.Errorf("status after the update: %+v %+v", u, u.DBUpdate)
	}
	v2 := testutil.ReadFile(t, db)

	// Failures: each parked with its error, nothing changed.
	for _, tc := range []struct {
		name, want string
		publish    func()
	}{
		{"unsigned", "signature check", func() { publish(build("v3", 3, other), false) }},
		{"truncated", "digest mismatch", func() {
			v4 := testutil.ReadFile(t, build("v4", 4, other))
			truncated.Store(&v4)
			mode.Store("truncate")
			publish(filepath.Join(dir, "v4.bwdb"), true)
		}},
		{"hanging", "db.update.timeout", func() { mode.Store("hang") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.publish()
			var u *dbUpdateStatus
			testutil.WaitFor(t, 90*time.Second, "a parked update", func() bool {
				u = status().DBUpdate
				return u.State == "parked" && u.DBUpdate != nil && strings.Contains(u.Error, tc.want)
			})
			t.Logf("parked: %s", u.Error)
			if u.Attempt != 2 || !u.LastSuccess.Before(u.LastAttempt) || u.Version != v2Version {
				t.Errorf("status %+v %+v", u, u.DBUpdate)
			}
			var parked struct {
				Jobs []jobs.Job `json:"jobs"`
			}
			get("/api/v1/jobs?state=parked", &parked)
			if len(parked.Jobs) == 0 || parked.Jobs[0].Kind != jobs.KindDBUpdate || len(parked.Jobs[0].Errors) != 2 || !strings.Contains(parked.Jobs[0].Errors[1], tc.want) {
				t.Errorf("parked jobs %+v", parked.Jobs)
			}
			if !bytes.Equal(testutil.ReadFile(t, db), v2) || srv.DBVersion() != v2Version {
				t.Fatalf("the failed update changed the database (server at %s)", srv.DBVersion())
			}
			var images struct {
				Images []imageJSON `json:"images"`
			}
			get("/api/v1/images?limit=0", &images)
			for _, im := range images.Images {
				if im.Stale || im.DBVersion != v2Version {
					t.Fatalf("image %s at %s, stale %v", im.Digest, im.DBVersion, im.Stale)
				}
			}
			if len(images.Images) != 100 || len(rc.list()) != 3 {
				t.Errorf("%d images, %d events", len(images.Images), len(rc.list()))
			}
			if m := metrics(); !strings.Contains(m, "\nbulwark_db_update_failing 1\n") || !strings.Contains(m, `bulwark_db_updates_total{result="failed"}`) {
				t.Errorf("metrics while failing:\n%s", grepLines(m, "bulwark_db_update"))
			}
		})
	}

	// The registry serves again: v4 withdraws "rare", 3 "fixed" events.
	mark = time.Now()
	mode.Store("pass")
	testutil.WaitFor(t, 90*time.Second, "the update to v4", func() bool { return srv.DBVersion() != v2Version })
	succeeded(mark, srv.DBVersion())
	testutil.WaitFor(t, 30*time.Second, "3 fixed notifications", func() bool { return len(rc.list()) >= 6 })
	fixed := 0
	for _, e := range rc.list() {
		if strings.HasPrefix(e, "rematch fixed GHSA-rare ") {
			fixed++
		}
	}
	if fixed != 3 {
		t.Errorf("delivered %v; want 3 fixed", rc.list())
	}
	if m := metrics(); !strings.Contains(m, "\nbulwark_db_update_failing 0\n") || !strings.Contains(m, "bulwark_db_update_last_success_timestamp_seconds ") {
		t.Errorf("metrics after the update:\n%s", grepLines(m, "bulwark_db_update"))
	}
}

// dbRepo is a real registry on 127.0.0.1 that databases signed with a
// key made by the test are published to.
type dbRepo struct {
	t      *testing.T
	reg    *testutil.Registry
	dir    string
	key    testkey.Pair
	client *registry.Client
	// repo is the database repository in the registry.
	repo string
}

func newDBRepo(t *testing.T) *dbRepo {
	r := &dbRepo{t: t, reg: testutil.StartRegistry(t, testutil.RegistryOptions{}), dir: t.TempDir()}
	r.repo = r.reg.Host + "/bulwark-sec/bulwark-db"
	r.key = testkey.New(t, r.dir, "publisher")
	var err error
	if r.client, err = (registry.Settings{Insecure: true}).Client(); err != nil {
		t.Fatal(err)
	}
	return r
}

// build writes a database file and returns its path.
func (r *dbRepo) build(name string, built int64, advs ...vulndb.Advisory) string {
	r.t.Helper()
	src := filepath.Join(r.dir, name+".bwdb")
	writeDB(r.t, src, time.Unix(built, 0).UTC(), advs...)
	return src
}

// publish pushes a database file to the repository (signed unless not
// signed) and returns its bytes.
func (r *dbRepo) publish(src string, signed bool) []byte {
	r.t.Helper()
	signer := r.key.Signer
	if !signed {
		signer = nil
	}
	if _, err := update.Push(context.Background(), src, r.repo, r.client, signer); err != nil {
		r.t.Fatal(err)
	}
	return testutil.ReadFile(r.t, src)
}

// schedule is an update schedule pulling from repo (the repository, or
// a proxy's) every so often, each pull bounded by 3s.
func (r *dbRepo) schedule(every time.Duration, repo string) *DBUpdate {
	return &DBUpdate{Every: every, Timeout: 3 * time.Second, Repositories: []string{repo}, Key: r.key.Verifier, Registry: r.client, Retries: -1}
}

// grepLines returns the lines of s holding sub.
func grepLines(s, sub string) string {
	var out []string
	for l := range strings.Lines(s) {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

// TestDBUpdateTwoServers: two servers on one PostgreSQL, each with its
// own database file (none at the start: each pulls it first), and the
// same update schedule. The schedule's job is queued once, by the leader,
// not once per server, and pulls nothing (the database was just pulled). When one server's update installs a new version
// touching 150 of 300 images, the other takes some of the re-match jobs,
// pulls the same version itself first, and every touched image is
// re-matched exactly once.
func TestDBUpdateTwoServers(t *testing.T) {
	ctx := context.Background()
	r := newDBRepo(t)
	hot := npmAdvisory("GHSA-hot", "hot", "2.0.0")
	r.publish(r.build("v1", 1), true)
	st, err := store.OpenURL(ctx, postgres.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hotImages(t, st, 300)
	var count atomic.Pointer[rematchCounter]
	servers := map[string]*Server{}
	var started time.Time
	for _, id := range []string{"a", "b"} {
		o := rematchOptions(st, filepath.Join(r.dir, id, "vulndb.bwdb"), "http://127.0.0.1:1/", id)
		o.Notify, o.Log = nil, testWriter{t}
		o.Update = r.schedule(time.Hour, r.repo)
		o.rematchHook = func(digests []string, written bool) {
			c := count.Load()
			switch {
			case c == nil:
			case written:
				c.add(id, digests)
			case id == "a":
				time.Sleep(200 * time.Millisecond) // so that b takes some jobs
			}
		}
		srv, err := New(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		servers[id] = srv
		started = time.Now()
	}
	a, b := servers["a"], servers["b"]
	v1 := a.DBVersion()
	if b.DBVersion() != v1 {
		t.Fatalf("the servers pulled %s and %s", v1, b.DBVersion())
	}
	for _, s := range servers {
		if err := s.WaitRematch(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// The leader's start queues the schedule's first job: once.
	updates := func() int {
		t.Helper()
		n := 0
		for _, state := range []string{"available", "running", "retryable", "completed"} {
			js, err := a.Jobs(ctx, state, 1000)
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range js {
				if j.Kind == jobs.KindDBUpdate {
					n++
				}
			}
		}
		return n
	}
	testutil.WaitFor(t, 60*time.Second, "the schedule's first job", func() bool { return updates() > 0 })
	time.Sleep(3 * time.Second)
	if n := updates(); n != 1 {
		t.Errorf("%d dbupdate jobs queued by two servers' start, want 1", n)
	}
	// That job pulled nothing: each server had just pulled v1.
	if rec, err := st.DBUpdate(ctx); err != nil || rec.Version != v1 || rec.LastAttempt.After(started) {
		t.Errorf("the record %+v, %v: the start's scheduled run pulled again", rec, err)
	}

	count.Store(&rematchCounter{by: map[string]map[string]int{}})
	v2 := r.publish(r.build("v2", 2, hot), true)
	res, err := a.UpdateDB(ctx)
	if err != nil || res.Queued != 150 {
		t.Fatalf("update: %+v, %v; want 150 images queued", res, err)
	}
	testutil.WaitFor(t, 90*time.Second, "every image re-matched", func() bool {
		left, _ := st.ImagesNotAt(ctx, res.To, nil)
		return len(left) == 0
	})
	per := count.Load().check(t, hotDigests(300))
	t.Logf("images re-matched per server: %v", per)
	if per["b"] == 0 {
		t.Fatal("b took no re-match job")
	}
	if b.DBVersion() != res.To || !bytes.Equal(testutil.ReadFile(t, filepath.Join(r.dir, "b", "vulndb.bwdb")), v2) {
		t.Errorf("b at %s, want %s with the file pulled", b.DBVersion(), res.To)
	}
}
