package update

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/testutil"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
	"github.com/bulwark-sec/bulwark/internal/vulndb/build"
	"github.com/bulwark-sec/bulwark/internal/vulndb/update/feedtest"
)

const td = "../testdata"

func sources(base string) Sources {
	u := feedtest.At(base)
	return Sources{OSVBase: u.OSV, Ecosystems: []string{"Go", "PyPI"}, NVD: u.NVD, DebianTracker: u.Debian, AlpineSecDB: []string{u.Alpine}, KEV: u.KEV, EPSS: u.EPSS}
}

func testOptions(db, base string) Options {
	return Options{DB: db, FromUpstream: true, Sources: sources(base), Retries: 2, Backoff: 10 * time.Millisecond, Stall: 500 * time.Millisecond}
}

// previous writes an older database at path and returns its bytes.
func previous(t testing.TB, path string) []byte {
	t.Helper()
	_, err := build.Build(context.Background(), build.Options{Output: path, OSV: []string{td + "/osv/go/GO-2022-0969.json"}})
	if err != nil {
		t.Fatal(err)
	}
	return testutil.ReadFile(t, path)
}

func TestUpdateFromSources(t *testing.T) {
	f := feedtest.New(t)
	srv := f.Start(t)
	path := filepath.Join(t.TempDir(), "cache", "vulndb.bwdb")
	res, err := Update(context.Background(), testOptions(path, srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	if res.Metadata.Advisories == 0 || len(res.Metadata.Sources) != 7 {
		t.Fatalf("metadata %+v", res.Metadata)
	}
	db, err := vulndb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range [][2]string{{"Go", "golang.org/x/crypto"}, {"PyPI", "PyYAML"}, {"Debian:12", "curl"}, {"Alpine:v3.19", "openssh"}} {
		advs, err := db.Lookup(q[0], q[1])
		if err != nil || len(advs) == 0 {
			t.Errorf("Lookup(%s, %s) = %v, %v", q[0], q[1], advs, err)
		}
	}
	advs, _ := db.Lookup("Debian:12", "curl")
	if advs[0].KEV == nil {
		t.Errorf("KEV data missing: %+v", advs[0])
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("the update left files behind: %v", entries)
	}
}

// TestUpdateFailures serves broken downloads; each must fail naming the
// source, retry only what retrying can fix, and leave the previous
// database exactly as it was.
func TestUpdateFailures(t *testing.T) {
	goZip := feedtest.Zip(t, td+"/osv/go")
	corrupt := append([]byte(nil), goZip...)
	for i := len(corrupt) / 3; i < len(corrupt)/3+64; i++ {
		corrupt[i] ^= 0x5a
	}
	hijackHalf := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(goZip)))
		w.WriteHeader(http.StatusOK)
		w.Write(goZip[:len(goZip)/2])
		w.(http.Flusher).Flush()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}
	for _, tc := range []struct {
		name     string
		handler  http.HandlerFunc
		attempts int32
		want     string
	}{
		{"connection dropped halfway", hijackHalf, 3, "cut off"},
		{"corrupt zip", func(w http.ResponseWriter, r *http.Request) { w.Write(corrupt) }, 3, "damaged"},
		{"wrong digest", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Goog-Hash", "crc32c=AAAAAA==,md5=AAAAAAAAAAAAAAAAAAAAAA==")
			w.Write(goZip)
		}, 3, "digest mismatch"},
		{"HTML instead of zip", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte("<!DOCTYPE html><html><body>Please sign in to the proxy</body></html>"))
		}, 1, "HTML page"},
		{"HTML without a content type", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write([]byte("<html><body>Please sign in to the proxy</body></html>"))
		}, 1, "HTML page"},
		{"slow server", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(len(goZip)))
			w.Write(goZip[:100])
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}, 3, "stalled"},
		{"server error", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "busy", http.StatusServiceUnavailable) }, 3, "503"},
		{"not found", http.NotFound, 1, "404"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := feedtest.New(t)
			f.Override["/osv/Go/all.zip"] = tc.handler
			srv := f.Start(t)
			path := filepath.Join(t.TempDir(), "vulndb.bwdb")
			before := previous(t, path)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := Update(ctx, testOptions(path, srv.URL))
			var se *SourceError
			if !errors.As(err, &se) || se.Source != "osv Go" {
				t.Fatalf("error %v, want a SourceError for osv Go", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) || !strings.Contains(msg, "previous database is unchanged") || !strings.Contains(msg, srv.URL+"/osv/Go/all.zip") {
				t.Errorf("error %q lacks %q, the URL or the reassurance", msg, tc.want)
			}
			if n := f.Hits["/osv/Go/all.zip"].Load(); n != tc.attempts {
				t.Errorf("%d attempts, want %d", n, tc.attempts)
			}
			if !bytes.Equal(testutil.ReadFile(t, path), before) {
				t.Error("the previous database changed")
			}
			entries, _ := os.ReadDir(filepath.Dir(path))
			if len(entries) != 1 {
				t.Errorf("the update left files behind: %v", entries)
			}
		})
	}
}

func TestUpdateInterrupted(t *testing.T) {
	f := feedtest.New(t)
	started := make(chan struct{})
	f.Override["/osv/PyPI/all.zip"] = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000")
		w.Write(make([]byte, 10))
		w.(http.Flusher).Flush()
		close(started)
		<-r.Context().Done()
	}
	srv := f.Start(t)
	path := filepath.Join(t.TempDir(), "vulndb.bwdb")
	before := previous(t, path)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	_, err := Update(ctx, testOptions(path, srv.URL))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if !bytes.Equal(testutil.ReadFile(t, path), before) {
		t.Error("the previous database changed")
	}
}

// TestUpdateUnreachableNotRetried: a host nobody listens on is not tried
// again (the backoff here is an hour; the test is bounded by its context).
func TestUpdateUnreachableNotRetried(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	o := testOptions(filepath.Join(t.TempDir(), "vulndb.bwdb"), dead)
	o.Retries, o.Backoff = 3, time.Hour
	_, err = Update(ctx, o)
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("error %v, want the refused connection at once", err)
	}
}
