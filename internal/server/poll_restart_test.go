package server

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/registry"
	"github.com/bulwark-sec/bulwark/internal/server/config"
	"github.com/bulwark-sec/bulwark/internal/server/jobs"
	"github.com/bulwark-sec/bulwark/internal/server/poll"
	"github.com/bulwark-sec/bulwark/internal/server/store"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// A server restarted on its store polls a real registry without reading
// or recording again what it knew: the poller starts from the tags
// stored, so its first round hands over nothing and no image is read; a
// second tag of the known digest is recorded without a read, and only a
// new image is read (once).
func TestPollRestart(t *testing.T) {
	ctx := context.Background()
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	dir := t.TempDir()
	db := filepath.Join(dir, "vulndb.bwdb")
	writeDB(t, db, time.Unix(1_800_000_000, 0).UTC(), npmAdvisory("GHSA-lodash", "lodash", "4.17.21"))
	tr := &countingTransport{}
	cfg := &config.Config{Watched: []config.Watch{{Registry: reg.Host, Repository: "team/app"}}, PollEvery: time.Hour, PollTimeout: 10 * time.Second}
	img := npmImage(t, "lodash", "4.17.20")
	d := testutil.Push(t, reg.Host+"/team/app:1", img)
	start := func() (*store.SQL, *Server, *poll.Poller) {
		t.Helper()
		st, err := store.Open(ctx, filepath.Join(dir, "s.db"))
		if err != nil {
			t.Fatal(err)
		}
		srv, err := New(ctx, Options{Store: st, DBFile: db, Log: testWriter{t}, Registries: map[string]registry.Settings{reg.Host: {Transport: tr}},
			Jobs: jobs.Options{Poll: 50 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		p, err := srv.poller(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return st, srv, p
	}
	assessed := func(st store.Store, d string) func() bool {
		return func() bool {
			im, err := st.Image(ctx, d)
			return err == nil && im.State == store.StateDone
		}
	}

	st, srv, p := start()
	if n := p.Round(ctx); n != 1 {
		t.Fatalf("first round recorded %d tag(s), want 1", n)
	}
	testutil.WaitFor(t, 30*time.Second, "the image read", assessed(st, d))
	srv.Close()
	st.Close()
	blobs := tr.blobs.Load()

	st, srv, p = start()
	defer st.Close()
	defer srv.Close()
	if n := p.Round(ctx); n != 0 {
		t.Errorf("after the restart the first round recorded %d tag(s) again, want 0", n)
	}
	testutil.Push(t, reg.Host+"/team/app:2", img)
	if n := p.Round(ctx); n != 1 {
		t.Errorf("a second tag of the known digest: %d tag(s) recorded, want 1", n)
	}
	d3 := testutil.Push(t, reg.Host+"/team/app:3", npmImage(t, "left-pad", "1.0.0"))
	if n := p.Round(ctx); n != 1 {
		t.Errorf("a new image: %d tag(s) recorded, want 1", n)
	}
	testutil.WaitFor(t, 30*time.Second, "the new image read", assessed(st, d3))
	time.Sleep(300 * time.Millisecond) // a second read would start now
	if got := srv.Reads(); got != 1 {
		t.Errorf("%d image read(s) after the restart, want 1 (the new image)", got)
	}
	if got := tr.blobs.Load() - blobs; got == 0 {
		t.Error("the new image was not read")
	}
	im, err := st.Image(ctx, d)
	if err != nil || !slices.Equal(im.Tags, []string{"1", "2"}) {
		t.Errorf("the known image after the restart: %+v, %v; want tags 1 and 2", im, err)
	}
}
