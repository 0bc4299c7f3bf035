package dashboard

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/testutil/chromium"
)

// The main pages in headless chromium show the stored images and
// findings; their screenshots are kept in the test's artifact folder
// (go test -artifacts keeps them).
func TestBrowser(t *testing.T) {
	b := chromium.Require(t)
	h := newDashboard(t)
	// chromium sends no header of ours: the test stands in for the login
	// (TestAuth covers it) with the bearer token.
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+token)
		h.ServeHTTP(w, r)
	}))
	defer ts.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dir := t.ArtifactDir()
	for _, p := range []struct {
		name, path string
		want       []string
	}{
		{"overview", "/ui/", []string{"team/api", "team/web", "stale", "critical and high"}},
		{"image", "/ui/images/" + dAPI, []string{"CVE-2026-5555", "openssl 3.0.11-1", "RUN apt-get install -y libssl3", "Fixed (1)"}},
		{"changes", "/ui/changes", []string{"CVE-2026-5555", "CVE-2026-3333"}},
	} {
		dom, err := b.DOM(ctx, ts.URL+p.path)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range p.want {
			if !strings.Contains(dom, w) {
				t.Errorf("%s in chromium lacks %q", p.name, w)
			}
		}
		out := filepath.Join(dir, p.name+".png")
		if err := b.Screenshot(ctx, ts.URL+p.path, out, 1280, 900); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(out); err != nil || fi.Size() < 10_000 {
			t.Errorf("screenshot %s: %v (a blank page?)", out, err)
		}
	}
	t.Logf("screenshots in %s", dir)
}
