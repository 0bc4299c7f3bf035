package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/policy"
	"github.com/bulwark-sec/bulwark/internal/registry"
	"github.com/bulwark-sec/bulwark/internal/server/store"
	"github.com/bulwark-sec/bulwark/internal/testutil"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

const token = "test-token"

// countingTransport counts the registry requests that read an image.
type countingTransport struct {
	blobs, manifests atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	switch {
	case strings.Contains(r.URL.Path, "/blobs/"):
		c.blobs.Add(1)
	case strings.Contains(r.URL.Path, "/manifests/"):
		c.manifests.Add(1)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func npmAdvisory(id, pkg, fixed string) vulndb.Advisory {
	return vulndb.Advisory{ID: id, Summary: pkg + " is vulnerable", DatabaseSeverity: "HIGH",
		Affected: []vulndb.Affected{{Ecosystem: "npm", Package: pkg, Ranges: []vulndb.Range{{Type: "SEMVER", Events: []vulndb.Event{{Introduced: "0"}, {Fixed: fixed}}}}}}}
}

// writeDB writes a database file, replacing path whole as db update does.
func writeDB(t testing.TB, path string, built time.Time, advs ...vulndb.Advisory) {
	t.Helper()
	var buf bytes.Buffer
	if err := vulndb.Write(&buf, vulndb.Metadata{BuiltAt: built}, advs); err != nil {
		t.Fatal(err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// npmImage is an image holding one npm package.
func npmImage(t *testing.T, pkg, version string) v1.Image {
	return testutil.Image(t, v1.Config{User: "node"}, testutil.Step{CreatedBy: "COPY app /app", Layer: testutil.Layer(t,
		testutil.File{Path: "app/node_modules/" + pkg + "/package.json", Content: fmt.Sprintf(`{"name":%q,"version":%q}`, pkg, version)})})
}

type fixture struct {
	srv  *Server
	url  string
	reg  *testutil.Registry
	tr   *countingTransport
	db   string
	st   store.Store
	push func(repo, tag string, img v1.Image) string
}

// start runs a server on a store in a temporary folder, fed by a real
// registry's notifications; tweaks adjust its options.
func start(t *testing.T, tweaks ...func(*Options)) *fixture {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{url: "http://" + ln.Addr().String(), tr: &countingTransport{}}
	f.reg = testutil.StartRegistry(t, testutil.RegistryOptions{Notify: f.url + "/api/v1/webhooks/registry", NotifyToken: token})
	dir := t.TempDir()
	f.db = filepath.Join(dir, "vulndb.bwdb")
	writeDB(t, f.db, time.Unix(1_800_000_000, 0).UTC(), npmAdvisory("GHSA-lodash", "lodash", "4.17.21"))
	st, err := store.Open(context.Background(), filepath.Join(dir, "server.db"))
	if err != nil {
		t.Fatal(err)
	}
	f.st = st
	t.Cleanup(func() { st.Close() })
	o := Options{Store: st, DBFile: f.db, Token: token, FailOn: policy.AtLeast(finding.High), Log: testWriter{t},
		Registries: map[string]registry.Settings{f.reg.Host: {Transport: f.tr}}}
	for _, tw := range tweaks {
		tw(&o)
	}
	f.srv, err = New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: f.srv.Handler()}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close(); f.srv.Close() })
	f.push = func(repo, tag string, img v1.Image) string {
		t.Helper()
		return testutil.Push(t, f.reg.Host+"/"+repo+":"+tag, img)
	}
	return f
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func (f *fixture) get(t *testing.T, path string, v any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if v != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, b)
		}
	}
	return resp.StatusCode
}

func (f *fixture) post(t *testing.T, path, body string) (int, string) {
	t.Helper()
	return send(t, f.url+path, strings.NewReader(body), "Authorization", "Bearer "+token)
}

type apiImage struct {
	Digest     string         `json:"digest"`
	Repository string         `json:"repository"`
	Tags       []string       `json:"tags"`
	State      string         `json:"state"`
	Error      string         `json:"error"`
	DBVersion  string         `json:"dbVersion"`
	Stale      bool           `json:"stale"`
	Policy     string         `json:"policy"`
	Counts     map[string]int `json:"counts"`
}

type apiFinding struct {
	ID        string     `json:"id"`
	Gate      string     `json:"gate"`
	DBVersion string     `json:"dbVersion"`
	Stale     bool       `json:"stale"`
	FirstSeen *time.Time `json:"firstSeen"`
	FixedAt   *time.Time `json:"fixedAt"`
}

// waitImage polls the API until the image is read (the registry delivers
// its notifications in the background).
func (f *fixture) waitImage(t *testing.T, digest string, ready func(apiImage) bool) apiImage {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var got struct {
			Image apiImage `json:"image"`
		}
		if f.get(t, "/api/v1/images/"+digest, &got) == http.StatusOK && got.Image.State != store.StatePending && ready(got.Image) {
			return got.Image
		}
		if time.Now().After(deadline) {
			t.Fatalf("image %s not assessed within 60s (last: %+v)", digest, got.Image)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (f *fixture) findings(t *testing.T, digest string) map[string]apiFinding {
	t.Helper()
	var fs []apiFinding
	if code := f.get(t, "/api/v1/images/"+digest+"/findings", &fs); code != http.StatusOK {
		t.Fatalf("findings of %s: HTTP %d", digest, code)
	}
	out := map[string]apiFinding{}
	for _, x := range fs {
		out[x.ID] = x
	}
	return out
}

// TestServerEndToEnd: the CNCF registry notifies the server of pushes; each
// digest is read once; a database change re-matches only the images whose
// packages it touches, from the stored inventory, with no registry read.
func TestServerEndToEnd(t *testing.T) {
	f := start(t)
	dA := f.push("team/a", "1.0", npmImage(t, "left-pad", "1.3.0"))
	dB := f.push("team/b", "1.0", npmImage(t, "lodash", "4.17.0"))
	dC := f.push("team/c", "1.0", npmImage(t, "express", "4.0.0"))
	for _, d := range []string{dA, dB, dC} {
		im := f.waitImage(t, d, func(apiImage) bool { return true })
		if im.State != store.StateDone {
			t.Fatalf("image %s: state %s: %s", d, im.State, im.Error)
		}
		if im.Stale || im.DBVersion != f.srv.DBVersion() {
			t.Errorf("image %s: dbVersion %q stale %v, want current %q", d, im.DBVersion, im.Stale, f.srv.DBVersion())
		}
	}
	if _, ok := f.findings(t, dB)["GHSA-lodash"]; !ok {
		t.Errorf("image b: no GHSA-lodash finding: %v", f.findings(t, dB))
	}
	if _, ok := f.findings(t, dA)["GHSA-leftpad"]; ok {
		t.Errorf("image a: GHSA-leftpad before the database has it")
	}
	if got := f.srv.Reads(); got != 3 {
		t.Errorf("%d image reads for 3 pushes, want 3", got)
	}

	// A second tag of a known digest: the tag is recorded, the image is
	// not read again.
	if d := f.push("team/a", "latest", npmImage(t, "left-pad", "1.3.0")); d != dA {
		t.Fatalf("same image, digest %s != %s", d, dA)
	}
	f.waitImage(t, dA, func(im apiImage) bool { return len(im.Tags) == 2 })
	blobs, manifests := f.tr.blobs.Load(), f.tr.manifests.Load()
	if got := f.srv.Reads(); got != 3 {
		t.Errorf("%d image reads after a second tag of a known digest, want 3", got)
	}

	// The database gains an advisory for left-pad (image a only).
	old := f.srv.DBVersion()
	writeDB(t, f.db, time.Unix(1_800_086_400, 0).UTC(), npmAdvisory("GHSA-lodash", "lodash", "4.17.21"), npmAdvisory("GHSA-leftpad", "left-pad", "1.3.1"))
	code, body := f.post(t, "/api/v1/db/refresh", "")
	if code != http.StatusOK {
		t.Fatalf("refresh: HTTP %d: %s", code, body)
	}
	var res RefreshResult
	if err := json.Unmarshal([]byte(body), &res); err != nil {
		t.Fatal(err)
	}
	if res.From != old || res.To == old || res.KeysChanged != 1 || res.Queued != 1 || res.Advanced != 2 {
		t.Errorf("refresh: %+v, want 1 key changed, 1 image queued for re-matching, 2 kept current", res)
	}
	if err := f.srv.WaitRematch(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.tr.blobs.Load() - blobs + f.tr.manifests.Load() - manifests; got != 0 {
		t.Errorf("the re-match made %d registry requests, want 0", got)
	}
	if got := f.srv.Reads(); got != 3 {
		t.Errorf("%d image reads after the re-match, want 3", got)
	}
	fa := f.findings(t, dA)
	if x, ok := fa["GHSA-leftpad"]; !ok || x.DBVersion != res.To || x.Stale {
		t.Errorf("image a after the update: GHSA-leftpad %+v (present %v), want from %s, not stale", x, ok, res.To)
	}
	for _, d := range []string{dA, dB, dC} {
		var got struct {
			Image apiImage `json:"image"`
		}
		f.get(t, "/api/v1/images/"+d, &got)
		if got.Image.DBVersion != res.To || got.Image.Stale {
			t.Errorf("image %s after the update: dbVersion %s stale %v, want %s, current", d, got.Image.DBVersion, got.Image.Stale, res.To)
		}
	}
	if x := f.findings(t, dB)["GHSA-lodash"]; x.DBVersion != res.To || x.Stale {
		t.Errorf("image b's kept finding: %+v, want dbVersion %s", x, res.To)
	}
	// The history: GHSA-leftpad is new at the update, first seen then.
	if x := fa["GHSA-leftpad"]; x.FirstSeen == nil || x.FixedAt != nil {
		t.Errorf("GHSA-leftpad history: first seen %v, fixed %v", x.FirstSeen, x.FixedAt)
	}
	var changes struct {
		DBVersion string         `json:"dbVersion"`
		New       int            `json:"new"`
		Changes   []store.Change `json:"changes"`
	}
	if code := f.get(t, "/api/v1/changes", &changes); code != http.StatusOK || changes.DBVersion != res.To || changes.New != 1 || len(changes.Changes) != 1 ||
		changes.Changes[0].Digest != dA || changes.Changes[0].Kind != "new" || changes.Changes[0].ID != "GHSA-leftpad" {
		t.Errorf("changes since the update: HTTP %d %+v", code, changes)
	}
	// Withdrawn: fixed, listed with ?state=fixed.
	writeDB(t, f.db, time.Unix(1_800_172_800, 0).UTC(), npmAdvisory("GHSA-lodash", "lodash", "4.17.21"))
	if code, body := f.post(t, "/api/v1/db/refresh", ""); code != http.StatusOK {
		t.Fatalf("refresh: HTTP %d: %s", code, body)
	}
	if err := f.srv.WaitRematch(context.Background()); err != nil {
		t.Fatal(err)
	}
	var fixed []apiFinding
	if code := f.get(t, "/api/v1/images/"+dA+"/findings?state=fixed", &fixed); code != http.StatusOK || len(fixed) != 1 || fixed[0].ID != "GHSA-leftpad" || fixed[0].FixedAt == nil {
		t.Errorf("fixed findings of image a: HTTP %d %+v", code, fixed)
	}
	if code := f.get(t, "/api/v1/images/"+dA+"/findings?state=gone", nil); code != http.StatusBadRequest {
		t.Errorf("?state=gone: HTTP %d, want 400", code)
	}

	// A refresh with the same file changes nothing.
	code, body = f.post(t, "/api/v1/db/refresh", "")
	if code != http.StatusOK || !strings.Contains(body, `"queued": 0`) {
		t.Errorf("second refresh: HTTP %d %s", code, body)
	}
}

// TestWebhookHostile: bodies that are not the registry's envelope are
// refused with 400, the server keeps serving, and nothing is stored.
func TestWebhookHostile(t *testing.T) {
	f := start(t)
	for name, body := range map[string]string{
		"not json":   "{{{{",
		"empty":      "",
		"no events":  `{"x":1}`,
		"bad digest": `{"events":[{"action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:../../x","repository":"a"},"request":{"host":"h"}}]}`,
	} {
		if code, resp := f.post(t, "/api/v1/webhooks/registry", body); code != http.StatusBadRequest {
			t.Errorf("%s: HTTP %d %s, want 400", name, code, resp)
		}
	}
	if code, resp := f.post(t, "/api/v1/webhooks/registry", `{"events":[`+strings.Repeat(`{},`, 2<<20)+`{}]}`); code != http.StatusRequestEntityTooLarge {
		t.Errorf("6 MB body: HTTP %d %s, want 413", code, resp)
	}
	// Without the token.
	resp, err := http.Post(f.url+"/api/v1/webhooks/registry", "application/json", strings.NewReader(`{"events":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: HTTP %d, want 401", resp.StatusCode)
	}
	// A push to a registry that is not configured is not read.
	good := `{"events":[{"action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:` + strings.Repeat("a", 64) + `","repository":"a"},"request":{"host":"evil.example:443"}}]}`
	if code, resp := f.post(t, "/api/v1/webhooks/registry", good); code != http.StatusOK || !strings.Contains(resp, `"ignored": 1`) {
		t.Errorf("unknown registry: HTTP %d %s", code, resp)
	}
	var list struct {
		Images []apiImage `json:"images"`
	}
	if code := f.get(t, "/api/v1/images", &list); code != http.StatusOK || len(list.Images) != 0 {
		t.Errorf("images after hostile bodies: HTTP %d %+v, want none", code, list.Images)
	}
	if code := f.get(t, "/api/v1/images/sha256:"+strings.Repeat("b", 64), nil); code != http.StatusNotFound {
		t.Errorf("unknown image: HTTP %d, want 404", code)
	}
	if resp, err := http.Get(f.url + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("healthz after hostile bodies: %v %v", resp, err)
	}
}

// TestStaleMarked: findings stored from another database version are
// shown as stale, never as current.
func TestStaleMarked(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	d := "sha256:" + strings.Repeat("c", 64)
	if _, err := f.st.Add(ctx, "elsewhere:5000", "x", d, "1"); err != nil {
		t.Fatal(err)
	}
	a := &store.Assessment{SBOM: json.RawMessage(`{"packages":[]}`), DBVersion: "older", At: time.Now(),
		Vulns: []finding.Finding{{Gate: finding.GateVuln, ID: "CVE-1", Severity: finding.High}},
		Other: []finding.Finding{{Gate: finding.GateLint, ID: "CIS-DI-0001", Severity: finding.Medium}}}
	if err := f.st.Assessed(ctx, d, a); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Image    apiImage     `json:"image"`
		Findings []apiFinding `json:"findings"`
	}
	if code := f.get(t, "/api/v1/images/"+d, &got); code != http.StatusOK {
		t.Fatalf("HTTP %d", code)
	}
	if !got.Image.Stale || got.Image.Counts["HIGH"] != 1 || got.Image.Policy != "fail" {
		t.Errorf("image: %+v, want stale with 1 HIGH, policy fail (failOn HIGH)", got.Image)
	}
	for _, x := range got.Findings {
		if x.Stale != (x.Gate == "vuln") {
			t.Errorf("finding %+v: stale %v", x, x.Stale)
		}
	}
}
