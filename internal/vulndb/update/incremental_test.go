package update

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/testutil"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

// upstream serves real-format NVD pages and an OSV bucket (all.zip,
// modified_id.csv, one file per record) on 127.0.0.1 and records what
// was asked for.
type upstream struct {
	mu       sync.Mutex
	requests []string
	nvdFull  []byte            // the answer without a lastModified window
	nvdDelta []byte            // the answer with one
	osvZip   []byte            // Go/all.zip
	csv      string            // Go/modified_id.csv
	records  map[string][]byte // Go/ID.json
}

func (u *upstream) start(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		defer u.mu.Unlock()
		u.requests = append(u.requests, r.URL.RequestURI())
		switch p := r.URL.Path; {
		case p == "/nvd" && r.URL.Query().Get("lastModStartDate") == "":
			w.Write(u.nvdFull)
		case p == "/nvd":
			w.Write(u.nvdDelta)
		case p == "/osv/Go/all.zip":
			w.Write(u.osvZip)
		case p == "/osv/Go/modified_id.csv":
			w.Write([]byte(u.csv))
		case strings.HasPrefix(p, "/osv/Go/") && u.records[strings.TrimSuffix(strings.TrimPrefix(p, "/osv/Go/"), ".json")] != nil:
			w.Write(u.records[strings.TrimSuffix(strings.TrimPrefix(p, "/osv/Go/"), ".json")])
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// take returns the requests since the last call.
func (u *upstream) take() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	r := u.requests
	u.requests = nil
	return r
}

// edit decodes JSON, lets change modify it, and encodes it again.
func edit(t *testing.T, data []byte, change func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	change(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// osvZip zips the records in dir as osv.dev's all.zip, each modified at
// the given time (the Go vulndb's own files carry none).
func osvZip(t *testing.T, dir, modified string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		w, err := zw.Create(e.Name())
		if err != nil {
			t.Fatal(err)
		}
		w.Write(edit(t, testutil.ReadFile(t, filepath.Join(dir, e.Name())), func(m map[string]any) { m["modified"] = modified }))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestIncrementalUpstream builds twice from the same state folder: the
// second run asks NVD only for the window since the first, and OSV only
// for the record that changed, and the database has the new data.
func TestIncrementalUpstream(t *testing.T) {
	page := testutil.ReadFile(t, td+"/nvd/page-0.json")
	rec := testutil.ReadFile(t, td+"/osv/go/GO-2022-0969.json")
	u := &upstream{
		nvdFull: page,
		// The delta: one CVE of the page, modified since, with a new description.
		nvdDelta: edit(t, page, func(m map[string]any) {
			vulns := m["vulnerabilities"].([]any)
			cve := vulns[0].(map[string]any)["cve"].(map[string]any)
			cve["lastModified"] = "2026-12-01T10:00:00.000"
			cve["descriptions"] = []any{map[string]any{"lang": "en", "value": "Changed upstream since the first run."}}
			m["vulnerabilities"], m["totalResults"], m["resultsPerPage"] = vulns[:1], 1, 1
		}),
		osvZip:  osvZip(t, td+"/osv/go", "2024-06-01T00:00:00Z"),
		records: map[string][]byte{},
	}
	srv := u.start(t)
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	first := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	now := first
	o := Options{
		DB: filepath.Join(dir, "vulndb.bwdb"), FromUpstream: true, State: state,
		Sources: Sources{OSVBase: srv.URL + "/osv", Ecosystems: []string{"Go"}, NVD: srv.URL + "/nvd"},
		Retries: -1, Now: func() time.Time { return now },
	}
	ctx := context.Background()
	if _, err := Update(ctx, o); err != nil {
		t.Fatal(err)
	}
	reqs := u.take()
	if strings.Join(reqs, " ") != "/osv/Go/all.zip /nvd?startIndex=0&resultsPerPage=2000" {
		t.Errorf("first run asked for %q", reqs)
	}

	// A day later: GO-2022-0969 changed upstream, and one CVE in NVD.
	now = first.Add(24 * time.Hour)
	u.records["GO-2022-0969"] = edit(t, rec, func(m map[string]any) {
		m["modified"] = "2026-12-01T09:00:00Z"
		m["summary"] = "Changed upstream since the first run"
	})
	u.csv = "2026-12-01T09:00:00Z,GO-2022-0969\n2024-06-01T00:00:00Z,GO-2023-2402\n2024-06-01T00:00:00Z,GO-2022-0617\n"
	if _, err := Update(ctx, o); err != nil {
		t.Fatal(err)
	}
	reqs = u.take()
	window := "lastModStartDate=" + url.QueryEscape("2026-11-30T12:00:00.000+00:00") + "&lastModEndDate=" + url.QueryEscape("2026-12-01T12:00:00.000+00:00")
	want := []string{"/osv/Go/modified_id.csv", "/osv/Go/GO-2022-0969.json", "/nvd?startIndex=0&resultsPerPage=2000&" + window}
	if strings.Join(reqs, " ") != strings.Join(want, " ") {
		t.Errorf("second run asked for\n%q\nwant\n%q", reqs, want)
	}
	db, err := vulndb.Open(o.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	advs, err := db.Lookup("Go", "golang.org/x/net")
	if err != nil {
		t.Fatal(err)
	}
	var summaries []string
	for _, a := range advs {
		summaries = append(summaries, a.ID+": "+a.Summary)
	}
	if !strings.Contains(strings.Join(summaries, "\n"), "GO-2022-0969: Changed upstream since the first run") {
		t.Errorf("the changed OSV record is not in the database:\n%s", strings.Join(summaries, "\n"))
	}

	// A third run at the same time asks NVD for nothing more, and a
	// window longer than NVD's 120 days is split.
	u.take()
	now = now.Add(300 * 24 * time.Hour)
	u.csv = "2026-12-01T09:00:00Z,GO-2022-0969\n"
	if _, err := Update(ctx, o); err != nil {
		t.Fatal(err)
	}
	nvd := 0
	for _, r := range u.take() {
		if strings.HasPrefix(r, "/nvd") {
			nvd++
		}
		if strings.Contains(r, "all.zip") || strings.Contains(r, "GO-2022-0969.json") {
			t.Errorf("unchanged data downloaded again: %s", r)
		}
	}
	if nvd != 3 {
		t.Errorf("%d NVD windows for 300 days, want 3", nvd)
	}
	st, err := loadState(state)
	if err != nil || !st.NVDModified.Equal(now) {
		t.Errorf("state %+v, %v", st, err)
	}
}

// FuzzModifiedIDs feeds arbitrary modified_id.csv files to the reader:
// every ID it returns must be safe in a URL path and a file name.
func FuzzModifiedIDs(f *testing.F) {
	f.Add([]byte("2026-12-01T09:00:00Z,GO-2022-0969\n2024-06-01T00:00:00Z,GO-2023-2402\n"))
	f.Add([]byte("2026-12-01T09:00:00Z,../../etc/passwd\n"))
	path := filepath.Join(f.TempDir(), "modified_id.csv")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ids, _, err := readModifiedIDs(path, time.Time{})
		if err != nil {
			return
		}
		for _, id := range ids {
			if strings.ContainsAny(id, "/\\") || strings.HasPrefix(id, ".") {
				t.Fatalf("unsafe ID %q accepted", id)
			}
		}
	})
}

// TestNVDFullResumes cuts the first, full NVD download off after its first
// page: the next run asks for the second page only, then switches to
// windows.
func TestNVDFullResumes(t *testing.T) {
	page := edit(t, testutil.ReadFile(t, td+"/nvd/page-0.json"), func(m map[string]any) { m["totalResults"] = 4000 })
	debian := testutil.ReadFile(t, td+"/distro/debian-tracker.json")
	var mu sync.Mutex
	var asked []string
	fail := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path == "/debian" {
			w.Write(debian)
			return
		}
		asked = append(asked, r.URL.Query().Get("startIndex")+" "+r.URL.Query().Get("lastModStartDate"))
		if r.URL.Query().Get("startIndex") == "2000" && fail {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.Write(page)
	}))
	defer srv.Close()
	dir := t.TempDir()
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	o := Options{DB: filepath.Join(dir, "vulndb.bwdb"), FromUpstream: true, State: filepath.Join(dir, "state"),
		Sources: Sources{NVD: srv.URL + "/nvd", DebianTracker: srv.URL + "/debian"}, Retries: -1, Now: func() time.Time { return now }}
	if _, err := Update(context.Background(), o); err == nil {
		t.Fatal("a cut-off NVD download succeeded")
	}
	fail = false
	now = now.Add(time.Hour)
	if _, err := Update(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	want := []string{"0 ", "2000 ", "2000 "}
	if strings.Join(asked, ",") != strings.Join(want, ",") {
		t.Errorf("asked for %q, want %q", asked, want)
	}
	st, err := loadState(o.State)
	if err != nil || !st.NVDModified.Equal(now.Add(-time.Hour)) || st.NVDFullNext != 0 {
		t.Errorf("state %+v %v: the window starts when the full download started", st, err)
	}
}

// TestOSVManyChanges: above maxOSVChanges changed records, the
// ecosystem's all.zip is downloaded again instead of each record.
func TestOSVManyChanges(t *testing.T) {
	u := &upstream{osvZip: osvZip(t, td+"/osv/go", "2024-06-01T00:00:00Z"), records: map[string][]byte{}}
	srv := u.start(t)
	dir := t.TempDir()
	o := Options{DB: filepath.Join(dir, "vulndb.bwdb"), FromUpstream: true, State: filepath.Join(dir, "state"),
		Sources: Sources{OSVBase: srv.URL + "/osv", Ecosystems: []string{"Go"}}, Retries: -1}
	if _, err := Update(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	var csv strings.Builder
	for i := 0; i <= maxOSVChanges; i++ {
		fmt.Fprintf(&csv, "2026-12-01T09:00:00Z,GO-2026-%05d\n", i)
	}
	u.csv = csv.String()
	u.take()
	if _, err := Update(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(u.take(), " "); got != "/osv/Go/modified_id.csv /osv/Go/all.zip" {
		t.Errorf("asked for %q", got)
	}
}
