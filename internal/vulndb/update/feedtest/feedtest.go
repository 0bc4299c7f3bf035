// Package feedtest serves the advisory sources of `bulwark db update
// --from-upstream` (OSV zips, NVD, Debian, Alpine, KEV, EPSS) in their
// real formats from internal/vulndb/testdata, on 127.0.0.1, for tests.
package feedtest

import (
	"archive/zip"
	"bytes"
	"crypto/md5" //nolint:gosec // the OSV bucket's x-goog-hash is MD5
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// Testdata is internal/vulndb/testdata.
func Testdata() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata")
}

// Zip zips the .json and .yaml files under dirs, as osv.dev's all.zip.
func Zip(t testing.TB, dirs ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			w, err := zw.Create(filepath.Base(p))
			if err != nil {
				return err
			}
			_, err = w.Write(data)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Feeds serves the sources: Files by path (with the OSV bucket's
// x-goog-hash), Override replacing one path's handler, Hits counting the
// requests of each file's path.
type Feeds struct {
	Files    map[string][]byte
	Override map[string]http.HandlerFunc
	Hits     map[string]*atomic.Int32
}

// New returns the feeds of the test data: OSV Go (with GHSA) and PyPI,
// one NVD page, Debian's tracker, an Alpine secdb, KEV and EPSS (the
// paths of URLs).
func New(t testing.TB) *Feeds {
	td := Testdata()
	return &Feeds{
		Files: map[string][]byte{
			"/osv/Go/all.zip":    Zip(t, td+"/osv/go", td+"/ghsa"),
			"/osv/PyPI/all.zip":  Zip(t, td+"/osv/pypi"),
			"/debian/json":       testutil.ReadFile(t, td+"/distro/debian-tracker.json"),
			"/alpine/v3.19.json": testutil.ReadFile(t, td+"/distro/alpine-v3.19-main.json"),
			"/kev.json":          testutil.ReadFile(t, td+"/exploit/kev.json"),
			"/epss.csv":          testutil.ReadFile(t, td+"/exploit/epss.csv"),
			"/nvd":               testutil.ReadFile(t, td+"/nvd/page-0.json"),
		},
		Override: map[string]http.HandlerFunc{},
		Hits:     map[string]*atomic.Int32{},
	}
}

// URLs are the feeds' URLs under base, by source: OSV (the bucket), NVD,
// Debian, Alpine, KEV, EPSS.
type URLs struct {
	OSV, NVD, Debian, Alpine, KEV, EPSS string
}

// At are the URLs of the feeds served at base.
func At(base string) URLs {
	return URLs{OSV: base + "/osv", NVD: base + "/nvd", Debian: base + "/debian/json", Alpine: base + "/alpine/v3.19.json", KEV: base + "/kev.json", EPSS: base + "/epss.csv"}
}

// Start serves the feeds on 127.0.0.1 until the test ends.
func (f *Feeds) Start(t testing.TB) *httptest.Server {
	for p := range f.Files {
		f.Hits[p] = &atomic.Int32{}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c := f.Hits[r.URL.Path]; c != nil {
			c.Add(1)
		}
		if h := f.Override[r.URL.Path]; h != nil {
			h(w, r)
			return
		}
		data, ok := f.Files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		sum := md5.Sum(data) //nolint:gosec
		w.Header().Set("X-Goog-Hash", "md5="+base64.StdEncoding.EncodeToString(sum[:]))
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.Write(data)
	}))
	t.Cleanup(srv.Close)
	return srv
}
