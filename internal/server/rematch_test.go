package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/server/store"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

// TestRematchFailsHalfway: a refresh re-matching 450 images in batches
// fails on the 301st image's stored inventory. Every image is then either
// wholly at the new version or wholly at the old one (stale), the server
// keeps the old database, and the next refresh brings every image up.
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
	if _, err := srv.Refresh(ctx); err == nil {
		t.Fatal("refresh over a broken stored inventory: no error")
	}
	if srv.DBVersion() != old {
		t.Fatalf("server at %s after a failed refresh, want %s", srv.DBVersion(), old)
	}
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
			if wantAllNew && !isNew {
				t.Fatalf("image %d at %s after the second refresh", i, im.DBVersion)
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
	res, err := srv.Refresh(ctx)
	if err != nil || res.Rematched != 450 {
		t.Fatalf("second refresh: %+v, %v; want 450 re-matched", res, err)
	}
	check(true)
}

// storedServer is a server over a SQLite store holding n stored images
// and the database file db with no advisories; both are closed at the test's end.
func storedServer(t *testing.T, n int, token string) (st *store.SQL, srv *Server, db string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	storedImages(t, st, n)
	db = filepath.Join(dir, "vulndb.bwdb")
	writeDB(t, db, time.Unix(1, 0).UTC())
	srv, err = New(ctx, Options{Store: st, DBFile: db, Token: token, Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return st, srv, db
}
