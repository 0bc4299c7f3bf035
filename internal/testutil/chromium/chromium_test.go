package chromium

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A page served on 127.0.0.1 comes back as its DOM after its script ran,
// and as a PNG screenshot in the test's artifact folder.
func TestDOMAndScreenshot(t *testing.T) {
	b := Require(t)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>t</title><p id="p">served</p><script>document.getElementById("p").textContent += " and scripted"</script>`)
	}))
	defer ts.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dom, err := b.DOM(ctx, ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dom, "served and scripted") {
		t.Errorf("DOM lacks the scripted text:\n%s", dom)
	}
	out := filepath.Join(t.ArtifactDir(), "page.png")
	if err := b.Screenshot(ctx, ts.URL, out, 400, 300); err != nil {
		t.Fatal(err)
	}
	png, err := os.ReadFile(out)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("screenshot %s is not a PNG: %v", out, err)
	}
	t.Logf("screenshot: %s", out)
}

// A run that outlives its context is killed and says so.
func TestTimeout(t *testing.T) {
	b := Require(t)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	}))
	defer ts.Close()
	defer ts.CloseClientConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, err := b.DOM(ctx, ts.URL)
	if err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("DOM of a page that never loads: %v", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("the timeout took %v", d)
	}
}
