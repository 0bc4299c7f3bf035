package poll

import (
	"context"
	"maps"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/bulwark-sec/bulwark/internal/registry"
	"github.com/bulwark-sec/bulwark/internal/server/webhook"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

type logWriter struct{ t *testing.T }

func (w logWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func image(t *testing.T, content string) v1.Image {
	return testutil.Image(t, v1.Config{}, testutil.Step{CreatedBy: "COPY", Layer: testutil.Layer(t, testutil.File{Path: "f", Content: content})})
}

// hanging is a registry that accepts connections and never answers.
func hanging(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().String()
}

// TestRound: a real registry on 127.0.0.1 with no notifications; a
// watched repository and a whole watched catalog are polled; only tags
// whose digest is new are handed over; a registry that hangs costs one
// timeout and does not hold back the others.
func TestRound(t *testing.T) {
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	other := testutil.StartRegistry(t, testutil.RegistryOptions{})
	client, err := registry.Settings{Insecure: true}.Client()
	if err != nil {
		t.Fatal(err)
	}
	dA := testutil.Push(t, reg.Host+"/team/a:1.0", image(t, "a"))
	testutil.Push(t, reg.Host+"/team/ignored:1.0", image(t, "x"))
	dB := testutil.Push(t, other.Host+"/b:1", image(t, "b"))
	dC := testutil.Push(t, other.Host+"/deep/c:2", image(t, "c"))

	var got []webhook.Push
	p := &Poller{
		Targets: []Target{
			{Registry: reg.Host, Repository: "team/a", Client: client},
			{Registry: other.Host, Client: client},
			{Registry: hanging(t), Repository: "x", Client: client},
		},
		Interval: time.Hour, Timeout: time.Second, Log: logWriter{t},
		Record: func(_ context.Context, ps []webhook.Push) error { got = append(got, ps...); return nil },
	}
	start := time.Now()
	if n := p.Round(t.Context()); n != 3 {
		t.Errorf("first round recorded %d, want 3: %+v", n, got)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the round took %v with one registry hanging (timeout 1s)", took)
	}
	checkRecorded(t, got, map[tagKey]string{{reg.Host, "team/a", "1.0"}: dA, {other.Host, "b", "1"}: dB, {other.Host, "deep/c", "2"}: dC}, false)

	// Nothing new: nothing recorded.
	got = nil
	if n := p.Round(t.Context()); n != 0 {
		t.Errorf("second round recorded %+v", got)
	}
	// A new tag of a known digest is handed over (to gain the tag); a
	// new image too.
	testutil.Push(t, reg.Host+"/team/a:latest", image(t, "a"))
	dA2 := testutil.Push(t, reg.Host+"/team/a:2.0", image(t, "a2"))
	if n := p.Round(t.Context()); n != 2 || len(got) != 2 {
		t.Fatalf("third round recorded %+v", got)
	}
	for _, x := range got {
		if (x.Tag == "latest" && x.Digest != dA) || (x.Tag == "2.0" && x.Digest != dA2) {
			t.Errorf("recorded %+v", x)
		}
	}

	// A failed Record hands the same tags over next round.
	got = nil
	testutil.Push(t, reg.Host+"/team/a:3.0", image(t, "a3"))
	p.Record = func(context.Context, []webhook.Push) error { return context.DeadlineExceeded }
	if n := p.Round(t.Context()); n != 0 {
		t.Errorf("a failed record counted %d", n)
	}
	p.Record = func(_ context.Context, ps []webhook.Push) error { got = append(got, ps...); return nil }
	if n := p.Round(t.Context()); n != 1 || got[0].Tag != "3.0" {
		t.Errorf("after a failed record: %+v", got)
	}

	// Deletions: a manifest deleted by digest takes its tags with it (in
	// a watched repository and in a watched catalog); a tag remembered
	// from the store that the registry no longer has is deleted too; the
	// hanging registry's tags are not (it was not listed).
	got = nil
	testutil.DeleteManifest(t, reg.Host+"/team/a@"+dA2)
	testutil.DeleteManifest(t, other.Host+"/deep/c@"+dC)
	p.Remember([]webhook.Push{{Registry: reg.Host, Repository: "team/a", Tag: "old", Digest: dA}, {Registry: p.Targets[2].Registry, Repository: "x", Tag: "1", Digest: dA}})
	if n := p.Round(t.Context()); n != 3 {
		t.Errorf("round after deletions recorded %d: %+v", n, got)
	}
	checkRecorded(t, got, map[tagKey]string{{reg.Host, "team/a", "2.0"}: dA2, {other.Host, "deep/c", "2"}: dC, {reg.Host, "team/a", "old"}: dA}, true)
	got = nil
	if n := p.Round(t.Context()); n != 0 {
		t.Errorf("round after the deletions were recorded: %+v", got)
	}
}

// checkRecorded fails the test unless got holds each tag of want once,
// with its digest, and nothing else; deleted says whether they must be
// deletions or pushes.
func checkRecorded(t *testing.T, got []webhook.Push, want map[tagKey]string, deleted bool) {
	t.Helper()
	want = maps.Clone(want)
	for _, x := range got {
		if x.Delete != deleted || want[key(x)] != x.Digest {
			t.Errorf("recorded %+v (deletion: %v), want one of %v (deletions: %v)", x, x.Delete, want, deleted)
		}
		delete(want, key(x))
	}
	if len(want) != 0 {
		t.Errorf("not recorded (deletions: %v): %v", deleted, want)
	}
}
