package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/policy"
	"github.com/bulwark-sec/bulwark/internal/server/store"
)

// /metrics needs the token (unless PublicMetrics) and shows the stored
// images and findings and the requests served, by route; / leads to the
// dashboard.
func TestMetrics(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "vulndb.bwdb")
	writeDB(t, db, time.Unix(1_800_000_000, 0).UTC(), npmAdvisory("GHSA-lodash", "lodash", "4.17.21"))
	st := openStore(t, dir)
	for _, d := range []string{"sha256:" + strings.Repeat("1", 64), "sha256:" + strings.Repeat("2", 64)} {
		if _, err := st.Add(ctx, "r.example", "app", d, "1"); err != nil {
			t.Fatal(err)
		}
	}
	for _, public := range []bool{false, true} {
		srv, err := New(ctx, Options{Store: st, DBFile: db, Token: token, PublicMetrics: public, FailOn: policy.AtLeast(finding.High), Log: testWriter{t}})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Assessed(ctx, "sha256:"+strings.Repeat("1", 64), &store.Assessment{SBOM: json.RawMessage(`{}`), DBVersion: srv.DBVersion(), At: time.Now(),
			Vulns: []finding.Finding{{Gate: finding.GateVuln, ID: "GHSA-lodash", Severity: finding.High, Fingerprint: "x"}}}); err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(srv.Handler())
		do := func(path string, auth bool) (int, string) {
			req, _ := http.NewRequest(http.MethodGet, ts.URL+path, nil)
			if auth {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		if code, _ := do("/metrics", false); (code == http.StatusOK) != public {
			t.Errorf("public %v: /metrics without the token: HTTP %d", public, code)
		}
		if code, _ := do("/api/v1/images/sha256:"+strings.Repeat("1", 64), true); code != http.StatusOK {
			t.Errorf("image: HTTP %d", code)
		}
		code, body := do("/metrics", true)
		for _, want := range []string{
			`bulwark_images{state="done"} 1`, `bulwark_images_stale 0`,
			`bulwark_findings{severity="HIGH"} 1`, `bulwark_store_up 1`,
			`bulwark_http_request_duration_seconds_count{code="200",method="GET",route="GET /api/v1/images/{digest}"} 1`,
		} {
			if code != http.StatusOK || !strings.Contains(body, want) {
				t.Errorf("public %v: /metrics (HTTP %d) lacks %s", public, code, want)
			}
		}
		if code, _ := do("/", false); code != http.StatusSeeOther {
			t.Errorf("/: HTTP %d, want a redirect to the dashboard", code)
		}
		ts.Close()
		srv.Close()
	}
}
