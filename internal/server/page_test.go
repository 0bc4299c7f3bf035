package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// GET /api/v1/images pages: ?limit= images after ?after=, "next" naming
// the next page's ?after= until the last page; every image once, in order.
// ?limit=0 streams them all (here over three reads of the store), the
// same as the pages.
func TestImagesPaged(t *testing.T) {
	defer func(n int) { streamPage = n }(streamPage)
	streamPage = 100
	_, srv, _ := storedServer(t, 250, token)
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	shown := map[string][]string{} // digest -> each time it was listed
	get := func(q string) (int, []string, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/api/v1/images"+q, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var page struct {
			Images []map[string]any `json:"images"`
			Next   string           `json:"next"`
		}
		if resp.StatusCode == http.StatusOK {
			if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
				t.Fatal(err)
			}
		}
		var ds []string
		for _, im := range page.Images {
			ds = append(ds, fmt.Sprint(im["digest"]))
			shown[ds[len(ds)-1]] = append(shown[ds[len(ds)-1]], fmt.Sprint(im))
		}
		return resp.StatusCode, ds, page.Next
	}
	if _, ds, next := get(""); len(ds) != DefaultImages || next != ds[len(ds)-1] {
		t.Fatalf("first page: %d image(s), next %q; want %d, next the last", len(ds), next, DefaultImages)
	}
	var all []string
	for q, pages := "?limit=60", 0; ; pages++ {
		code, ds, next := get(q)
		if code != http.StatusOK || pages > 5 {
			t.Fatalf("page %d (%s): HTTP %d", pages, q, code)
		}
		all = append(all, ds...)
		if next == "" {
			break
		}
		q = "?limit=60&after=" + next
	}
	for i, d := range all {
		if want := fmt.Sprintf("sha256:%064x", i); d != want || len(all) != 250 {
			t.Fatalf("paged through %d image(s), #%d %s; want 250 in order", len(all), i, d)
		}
	}
	clear(shown)
	all = nil
	for q, pages := "?limit=60", 0; ; pages++ {
		_, ds, next := get(q)
		all = append(all, ds...)
		if next == "" || pages > 5 {
			break
		}
		q = "?limit=60&after=" + next
	}
	if _, ds, next := get("?limit=0"); fmt.Sprint(ds) != fmt.Sprint(all) || next != "" {
		t.Errorf("?limit=0: %d image(s), next %q; want all 250 in order, no next", len(ds), next)
	}
	for d, v := range shown {
		if len(v) != 2 || v[0] != v[1] || !strings.Contains(v[0], "counts:map[") {
			t.Fatalf("%s paged and streamed: %q", d, v)
		}
	}
	if _, ds, _ := get("?limit=0&after=" + all[99]); fmt.Sprint(ds) != fmt.Sprint(all[100:]) {
		t.Errorf("?limit=0 after the 100th: %d image(s)", len(ds))
	}
	for q, want := range map[string]int{"?limit=x": http.StatusBadRequest, "?limit=-1": http.StatusBadRequest, "?after=sha256:nope": http.StatusNotFound} {
		if code, _, _ := get(q); code != want {
			t.Errorf("%s: HTTP %d, want %d", q, code, want)
		}
	}
}
