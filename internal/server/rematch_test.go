package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/server/jobs"
	"github.com/bulwark-sec/bulwark/internal/server/store"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

// TestRematchFailsHalfway: a refresh queues the re-match of 450 images in
// 3 jobs of 200; the second fails on the 301st image's stored inventory,
// is retried, then parked with its error listed in /api/v1/jobs. Every
// image is then either wholly at the new version or wholly at the old one
// (shown stale): the 200 of the parked job. Once the inventory is
// repaired, the next refresh queues those 200 again and every image comes
// up.
func TestRematchFailsHalfway(t *testing.T) {
	ctx := context.Background()
	st, srv, db := storedServer(t, 450, "")
	old := srv.DBVersion()
	bad := fmt.Sprintf("sha256:%064x", 300)
	good, err := st.SBOMs(ctx, []string{bad})
	if err != nil {
		t.Fatal(err)
	}
	put := func(raw json.RawMessage) {
		t.Helper()
		if err := st.Assessed(ctx, bad, &store.Assessment{SBOM: raw, Packages: []store.Package{{Ecosystem: "npm", Name: "pkg0", Version: "1.0.0"}}, DBVersion: old, At: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	put(json.RawMessage(`[1]`))
	var advs []vulndb.Advisory
	for i := range 500 {
		advs = append(advs, npmAdvisory(fmt.Sprintf("GHSA-%d", i), fmt.Sprintf("pkg%d", i), "2.0.0"))
	}
	writeDB(t, db, time.Unix(2, 0).UTC(), advs...)
	res, err := srv.Refresh(ctx)
	if err != nil || res.Queued != 450 || res.Jobs != 3 {
		t.Fatalf("refresh: %+v, %v; want 450 images queued in 3 jobs", res, err)
	}
	if err := srv.WaitRematch(ctx); err != nil {
		t.Fatal(err)
	}
	if srv.DBVersion() != res.To {
		t.Fatalf("server at %s after the refresh, want %s", srv.DBVersion(), res.To)
	}
	js, err := srv.Jobs(ctx, "parked", 10)
	if err != nil || len(js) != 1 || js[0].Kind != "rematch" || len(js[0].Errors) != 2 {
		t.Fatalf("parked jobs %+v, %v; want the one re-match job, with its 2 errors", js, err)
	}
	t.Logf("parked: %s", js[0].Errors[1])
	check := func(wantAllNew bool) {
		t.Helper()
		for i := range 450 {
			d := fmt.Sprintf("sha256:%064x", i)
			im, err := st.Image(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			fs, err := st.Findings(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			isNew := im.DBVersion != old
			if wantAllNew && !isNew || !wantAllNew && isNew != (i < 200 || i >= 400) {
				t.Fatalf("image %d at %s (want all new: %v)", i, im.DBVersion, wantAllNew)
			}
			if isNew != (len(fs) > 0) {
				t.Fatalf("image %d at %s with %d finding(s): half re-matched", i, im.DBVersion, len(fs))
			}
			for _, f := range fs {
				if f.DBVersion != im.DBVersion {
					t.Fatalf("image %d at %s holds a finding from %s", i, im.DBVersion, f.DBVersion)
				}
			}
		}
	}
	check(false)
	put(good[bad])
	res, err = srv.Refresh(ctx)
	if err != nil || res.Queued != 200 {
		t.Fatalf("second refresh: %+v, %v; want 200 queued again", res, err)
	}
	if err := srv.WaitRematch(ctx); err != nil {
		t.Fatal(err)
	}
	check(true)
}

// openStore opens a SQLite store in dir for a test and closes it when
// the test ends (after the test's deferred calls, the server's Close
// among them).
func openStore(t *testing.T, dir string) *store.SQL {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// storedServer is a server over a SQLite store holding n stored images
// and the database file db with no advisories; both are closed at the test's end.
func storedServer(t *testing.T, n int, token string) (st *store.SQL, srv *Server, db string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st = openStore(t, dir)
	storedImages(t, st, n)
	db = filepath.Join(dir, "vulndb.bwdb")
	writeDB(t, db, time.Unix(1, 0).UTC())
	srv, err := New(ctx, Options{Store: st, DBFile: db, Token: token, Log: io.Discard,
		Jobs: jobs.Options{MaxAttempts: 2, Backoff: 10 * time.Millisecond, Poll: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	if err := srv.WaitRematch(ctx); err != nil {
		t.Fatal(err)
	}
	return st, srv, db
}
