package server

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/server/store"
	"github.com/bulwark-sec/bulwark/internal/testutil"
	"github.com/bulwark-sec/bulwark/internal/vulndb/update"
	"github.com/bulwark-sec/bulwark/internal/vulndb/update/feedtest"
)

// An update that finds the published database unchanged downloads
// nothing (its signature is checked, the layer is not fetched: counted
// on a proxy in front of the real registry), leaves the file as it was
// and re-matches nothing; a new version is downloaded and installed.
func TestDBUpdateUnchanged(t *testing.T) {
	ctx := context.Background()
	r := newDBRepo(t)
	var blobs atomic.Int32
	proxy := testutil.HostileProxy(t, r.reg.Host, func(w http.ResponseWriter, req *http.Request) bool {
		if strings.Contains(req.URL.Path, "/blobs/") {
			blobs.Add(1)
		}
		return false
	})
	v1 := r.publish(r.build("v1", 1, npmAdvisory("GHSA-other", "not-stored", "2.0.0")), true)
	db := filepath.Join(r.dir, "cache", "vulndb.bwdb")
	st, err := store.Open(ctx, filepath.Join(r.dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := New(ctx, Options{Store: st, DBFile: db, Log: testWriter{t}, Update: r.schedule(time.Hour, proxy+"/bulwark-sec/bulwark-db")})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if !bytes.Equal(testutil.ReadFile(t, db), v1) {
		t.Fatal("the database pulled at the start is not v1")
	}
	downloads := blobs.Load()
	fi0, _ := os.Stat(db)
	version := srv.DBVersion()

	res, err := srv.UpdateDB(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.From != version || res.To != version || res.Queued != 0 {
		t.Errorf("update with the database unchanged: %+v; want nothing to do at %s", res, version)
	}
	// The signature's blobs are read (small); the database's is not.
	sigBlobs := blobs.Load() - downloads
	if fi1, _ := os.Stat(db); !fi1.ModTime().Equal(fi0.ModTime()) {
		t.Error("the unchanged database file was replaced")
	}
	rec, err := st.DBUpdate(ctx)
	if err != nil || rec == nil || rec.Error != "" || rec.LastSuccess == nil || rec.LastSuccess.Before(fi0.ModTime()) || rec.Version != version {
		t.Errorf("the update's record: %+v, %v; want a success at %s", rec, err, version)
	}

	v2 := r.publish(r.build("v2", 2, npmAdvisory("GHSA-other", "not-stored", "2.0.1")), true)
	before := blobs.Load()
	if res, err := srv.UpdateDB(ctx); err != nil || res.To == version {
		t.Fatalf("update to v2: %+v, %v", res, err)
	}
	if !bytes.Equal(testutil.ReadFile(t, db), v2) {
		t.Error("v2 not installed")
	}
	if got := blobs.Load() - before; got != sigBlobs+1 {
		t.Errorf("the update to v2 fetched %d blobs, want the signature's %d and the database", got, sigBlobs)
	}
}

// A schedule from upstream sources builds the database from the advisory
// feeds (the db tests' local servers, real formats) as `bulwark db update
// --from-upstream` does: before the start when there is no file, then on
// each update; a feed that fails leaves the database in use, with the
// error (naming the source) recorded.
func TestDBUpdateFromUpstream(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	feeds := feedtest.New(t)
	fs := feeds.Start(t)
	u := feedtest.At(fs.URL)
	sources := update.Sources{OSVBase: u.OSV, Ecosystems: []string{"Go", "PyPI"}, NVD: u.NVD, DebianTracker: u.Debian, AlpineSecDB: []string{u.Alpine}, KEV: u.KEV, EPSS: u.EPSS}
	db := filepath.Join(dir, "db", "vulndb.bwdb")
	st := openStore(t, dir)
	srv, err := New(ctx, Options{Store: st, DBFile: db, Log: testWriter{t},
		Update: &DBUpdate{Every: time.Hour, Timeout: time.Minute, FromUpstream: true, Sources: sources, Retries: -1}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if n := feeds.Hits["/osv/Go/all.zip"].Load(); n != 1 {
		t.Errorf("the OSV Go feed was downloaded %d times before the start, want 1", n)
	}
	rec, err := st.DBUpdate(ctx)
	if err != nil || rec == nil || rec.Source != upstreamSource || rec.Version != srv.DBVersion() {
		t.Fatalf("the first build's record: %+v, %v", rec, err)
	}
	if meta := srv.cur.Load().db.Metadata(); meta.Advisories == 0 || len(meta.Sources) < 5 {
		t.Fatalf("the database built from the feeds: %d advisories, sources %+v", meta.Advisories, meta.Sources)
	}

	time.Sleep(1100 * time.Millisecond) // a build time of its own
	if _, err := srv.UpdateDB(ctx); err != nil {
		t.Fatal(err)
	}
	if n := feeds.Hits["/osv/Go/all.zip"].Load(); n != 2 {
		t.Errorf("the OSV Go feed was downloaded %d times after an update, want 2", n)
	}
	version, before := srv.DBVersion(), testutil.ReadFile(t, db)
	feeds.Override["/kev.json"] = func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "gone", http.StatusNotFound) }
	if _, err := srv.UpdateDB(ctx); err == nil || !strings.Contains(err.Error(), "kev") {
		t.Fatalf("update with the KEV feed gone: %v; want an error naming it", err)
	}
	if srv.DBVersion() != version || !bytes.Equal(testutil.ReadFile(t, db), before) {
		t.Error("a failed build changed the database in use")
	}
	if rec, _ := st.DBUpdate(ctx); rec == nil || !strings.Contains(rec.Error, "kev") {
		t.Errorf("the failed build's record: %+v", rec)
	}
}
