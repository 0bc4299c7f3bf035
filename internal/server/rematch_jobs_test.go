package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/inventory"
	"github.com/bulwark-sec/bulwark/internal/server/jobs"
	"github.com/bulwark-sec/bulwark/internal/server/notify"
	"github.com/bulwark-sec/bulwark/internal/server/store"
	"github.com/bulwark-sec/bulwark/internal/testutil"
	"github.com/bulwark-sec/bulwark/internal/testutil/postgres"
)

// childEnv makes the test binary a server process (TestMain).
const childEnv = "BULWARK_TEST_SERVER_CHILD"

func TestMain(m *testing.M) {
	testutil.RunChild(childEnv, runChild)
	os.Exit(m.Run())
}

// childSpec is what a server process is told: its store and database,
// the notification receiver, and the file it writes when its first
// re-match job has matched, after which that job never ends.
type childSpec struct {
	Store, DB, Hook, Marker string
}

// rematchOptions are the options of the servers of the re-match tests.
func rematchOptions(st store.Store, db, hook, id string) Options {
	return Options{Store: st, DBFile: db, Log: io.Discard, RematchBatch: 10,
		Notify: []notify.Target{{Name: "hook", URL: hook, Secret: "s3cret"}},
		Jobs:   jobs.Options{ID: id, JobTimeout: time.Second, Backoff: 100 * time.Millisecond, Poll: 50 * time.Millisecond}}
}

// runChild serves as a server process until killed, printing "written
// DIGEST" for each image its re-match jobs write.
func runChild(raw string) int {
	var spec childSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx := context.Background()
	st, err := store.OpenURL(ctx, spec.Store)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var mu sync.Mutex
	hung := false
	o := rematchOptions(st, spec.DB, spec.Hook, "child")
	// One worker: when it hangs in the batch, no delivery of this process
	// is in flight, so a repeat could only come from a lost batch.
	o.Jobs.Workers = 1
	o.rematchHook = func(digests []string, written bool) {
		mu.Lock()
		first := !written && !hung
		hung = hung || first
		if written {
			for _, d := range digests {
				fmt.Printf("written %s\n", d)
			}
		}
		mu.Unlock()
		if first {
			os.WriteFile(spec.Marker, nil, 0o644)
			select {} // this job, in the middle of its batch, until killed
		}
	}
	if _, err := New(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	select {}
}

// hotImages stores n read images at database version "v0": the even ones
// hold the npm package "hot" 1.0.0, the odd ones "cold".
func hotImages(t *testing.T, st store.Store, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		name := "hot"
		if i%2 == 1 {
			name = "cold"
		}
		sb := &inventory.SBOM{Target: finding.Target{Name: fmt.Sprint(i)},
			Packages: []inventory.Package{{Name: name, Version: "1.0.0", Ecosystem: inventory.NPM, Kind: inventory.KindLang}}}
		raw, _ := json.Marshal(sb)
		d := fmt.Sprintf("sha256:%064x", i)
		if _, err := st.Add(ctx, "r", "repo", d, ""); err != nil {
			t.Fatal(err)
		}
		if err := st.Assessed(ctx, d, &store.Assessment{SBOM: raw, Packages: PackageIndex(sb), DBVersion: "v0", At: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
}

// rematchCounter counts the images each server's re-match jobs wrote.
type rematchCounter struct {
	mu sync.Mutex
	by map[string]map[string]int // server -> digest -> times
}

func (c *rematchCounter) add(server string, digests []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.by[server] == nil {
		c.by[server] = map[string]int{}
	}
	for _, d := range digests {
		c.by[server][d]++
	}
}

// check: every digest of want written exactly once in all, by the
// servers together; it returns how many each server wrote.
func (c *rematchCounter) check(t *testing.T, want []string) map[string]int {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	total := map[string]int{}
	per := map[string]int{}
	for server, m := range c.by {
		for d, n := range m {
			total[d] += n
			per[server] += n
		}
	}
	for _, d := range want {
		if total[d] != 1 {
			t.Errorf("%s re-matched %d times, want once", d, total[d])
		}
	}
	if len(total) != len(want) {
		t.Errorf("%d images re-matched, want %d", len(total), len(want))
	}
	return per
}

// hotDigests are the digests of hotImages holding "hot".
func hotDigests(n int) []string {
	var out []string
	for i := 0; i < n; i += 2 {
		out = append(out, fmt.Sprintf("sha256:%064x", i))
	}
	return out
}

// waitDeliveries waits for want events and checks each was delivered
// once, as a "new" GHSA-hot finding of a distinct image.
func waitDeliveries(t *testing.T, rc *receiver, want int) {
	t.Helper()
	testutil.WaitFor(t, 60*time.Second, fmt.Sprintf("%d deliveries", want), func() bool { return len(rc.list()) >= want })
	time.Sleep(500 * time.Millisecond) // a second delivery would show now
	got := rc.list()
	images := map[string]bool{}
	for _, g := range got {
		if !strings.HasPrefix(g, "rematch new GHSA-hot ") {
			t.Errorf("delivered %s", g)
		}
		images[g[strings.LastIndex(g, " ")+1:]] = true
	}
	if len(got) != want || len(images) != want {
		t.Errorf("%d events for %d images delivered, want %d", len(got), len(images), want)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for id, n := range rc.count {
		if n != 1 {
			t.Errorf("event %d delivered %d times", id, n)
		}
	}
	if rc.bad != 0 {
		t.Errorf("%d deliveries with a bad signature or body", rc.bad)
	}
}

// rematchSetup starts PostgreSQL, writes a database file without
// advisories for the stored packages and starts a notification receiver.
func rematchSetup(t *testing.T) (url, db string, rc *receiver, hook string) {
	url = postgres.URL(t)
	db = filepath.Join(t.TempDir(), "vulndb.bwdb")
	writeDB(t, db, time.Unix(1, 0).UTC(), npmAdvisory("GHSA-other", "not-stored", "2.0.0"))
	rc = &receiver{events: map[int64]store.Event{}, count: map[int64]int{}}
	hs := httptest.NewServer(rc)
	t.Cleanup(hs.Close)
	return url, db, rc, hs.URL
}

// Two servers on one PostgreSQL database, both refreshing to a database
// update that touches 150 of 300 stored images: the re-match runs as 15
// jobs of 10 images, shared by both servers; each image is re-matched
// exactly once and its "new" event delivered once.
func TestRematchTwoServers(t *testing.T) {
	ctx := context.Background()
	url, db, rc, hook := rematchSetup(t)
	const n = 300
	count := &rematchCounter{by: map[string]map[string]int{}}
	var srvs []*Server
	for _, id := range []string{"a", "b"} {
		st, err := store.OpenURL(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if id == "a" {
			hotImages(t, st, n)
		}
		o := rematchOptions(st, db, hook, id)
		o.rematchHook = func(digests []string, written bool) {
			if written {
				count.add(id, digests)
			} else {
				time.Sleep(20 * time.Millisecond) // a batch takes a while, so both servers take part
			}
		}
		srv, err := New(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Close)
		srvs = append(srvs, srv)
	}
	for _, srv := range srvs {
		if err := srv.WaitRematch(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var all []string
	for i := range n {
		all = append(all, fmt.Sprintf("sha256:%064x", i))
	}
	count.check(t, all) // the start's re-match from "v0": all 300, once
	count.by = map[string]map[string]int{}

	writeDB(t, db, time.Unix(2, 0).UTC(), npmAdvisory("GHSA-other", "not-stored", "2.0.0"), npmAdvisory("GHSA-hot", "hot", "2.0.0"))
	var wg sync.WaitGroup
	results := make([]*RefreshResult, 2)
	for i, srv := range srvs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := srv.Refresh(ctx)
			if err != nil {
				t.Error(err)
			}
			results[i] = res
		}()
	}
	wg.Wait()
	t.Logf("refreshes: %+v, %+v", results[0], results[1])
	for _, srv := range srvs {
		if err := srv.WaitRematch(ctx); err != nil {
			t.Fatal(err)
		}
	}
	per := count.check(t, hotDigests(n))
	t.Logf("images re-matched per server: %v", per)
	if per["a"] == 0 || per["b"] == 0 {
		t.Errorf("one server did every re-match: %v", per)
	}
	waitDeliveries(t, rc, n/2)
	if js, err := srvs[0].Jobs(ctx, "parked", 10); err != nil || len(js) != 0 {
		t.Errorf("parked jobs %+v, %v", js, err)
	}
}

// A server process killed with SIGKILL in the middle of a re-match batch
// loses nothing: the other server rescues the batch once River finds it
// stuck, every touched image is re-matched exactly once, and each event
// is delivered once.
func TestRematchKilled(t *testing.T) {
	ctx := context.Background()
	url, db, rc, hook := rematchSetup(t)
	dir := filepath.Dir(db)
	st, err := store.OpenURL(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const n = 200
	hotImages(t, st, n)
	count := &rematchCounter{by: map[string]map[string]int{}}
	o := rematchOptions(st, db, hook, "parent")
	o.rematchHook = func(digests []string, written bool) {
		if written {
			count.add("parent", digests)
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
	srv, err := New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.WaitRematch(ctx); err != nil {
		t.Fatal(err)
	}
	count.by = map[string]map[string]int{}

	spec := childSpec{Store: url, DB: db, Hook: hook, Marker: filepath.Join(dir, "hung")}
	out, stdout := io.Pipe()
	child := testutil.StartChild(t, childEnv, spec, stdout)
	lines := make(chan []string, 1)
	go func() {
		var ds []string
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "written "); ok {
				ds = append(ds, d)
			}
		}
		lines <- ds
	}()
	time.Sleep(time.Second) // the child's queue starts

	writeDB(t, db, time.Unix(2, 0).UTC(), npmAdvisory("GHSA-other", "not-stored", "2.0.0"), npmAdvisory("GHSA-hot", "hot", "2.0.0"))
	res, err := srv.Refresh(ctx)
	if err != nil || res.Queued != n/2 || res.Jobs != n/20 {
		t.Fatalf("refresh: %+v, %v; want %d images queued in %d jobs", res, err, n/2, n/20)
	}
	testutil.WaitFor(t, 60*time.Second, "the child to hang in a batch", func() bool {
		_, err := os.Stat(spec.Marker)
		return err == nil
	})
	testutil.KillChild(t, child)
	stdout.Close()
	count.add("child", <-lines)

	testutil.WaitFor(t, 90*time.Second, "every image re-matched", func() bool {
		left, _ := st.ImagesNotAt(ctx, res.To, nil)
		return len(left) == 0
	})
	per := count.check(t, hotDigests(n))
	t.Logf("images re-matched per server: %v", per)
	if per["parent"] == 0 {
		t.Error("the parent re-matched nothing: the killed batch was not rescued")
	}
	waitDeliveries(t, rc, n/2)
}
