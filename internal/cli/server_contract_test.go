package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/bulwark-sec/bulwark/internal/testutil"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

// syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServer runs `bulwark server ARGS...` (the test binary) and waits
// for its "listening on" line: it returns the process, its output and
// the URL it serves (http:// or https://ADDR). The process is killed at
// the test's end.
func startServer(t *testing.T, args ...string) (*exec.Cmd, *syncBuffer, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"server"}, args...)...)
	cmd.Env = append(os.Environ(), "BULWARK_TEST_MAIN=1")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	addrRe := regexp.MustCompile(`listening on (https?://127\.0\.0\.1:[0-9]+)`)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if m := addrRe.FindStringSubmatch(out.String()); m != nil {
			return cmd, out, m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 'listening on' line within 30s:\n%s", out.String())
		}
	}
}

// TestServerContract walks the smallest contract of issue 15 through the
// binary, configured by flags (and a file only for the EventBridge host
// mapping): --listen 127.0.0.1:0 (the address from the log line),
// --database sqlite://, --watch on a real registry that sends no
// notifications (polled), --insecure, --token, --db; /healthz without the
// token, the API with it; an image pushed to the watched repository is
// picked up by the poll and assessed; its findings are the Finding JSON of
// `bulwark scan -f json` with id; an ECR push event (AWS's documented
// sample) for another image is assessed; a registry notification of a
// second tag does not read the image again; the database is refreshed;
// SIGTERM stops it with exit 0.
func TestServerContract(t *testing.T) {
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	dir := t.TempDir()
	dbFile := filepath.Join(dir, "vulndb.bwdb")
	var buf bytes.Buffer
	adv := vulndb.Advisory{ID: "GHSA-lodash", Summary: "lodash is vulnerable", DatabaseSeverity: "HIGH",
		Affected: []vulndb.Affected{{Ecosystem: "npm", Package: "lodash", Ranges: []vulndb.Range{{Type: "SEMVER", Events: []vulndb.Event{{Introduced: "0"}, {Fixed: "4.17.21"}}}}}}}
	if err := vulndb.Write(&buf, vulndb.Metadata{BuiltAt: time.Unix(1_800_000_000, 0).UTC()}, []vulndb.Advisory{adv}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(dbFile, buf.Bytes(), 0o644)
	const ecrHost = "123456789012.dkr.ecr.us-west-2.amazonaws.com"
	cfg := filepath.Join(dir, "server.yaml")
	os.WriteFile(cfg, []byte("webhooks:\n  eventbridge:\n    hosts:\n      "+ecrHost+": "+reg.Host+"\n"), 0o600)

	const token = "contract-token"
	cmd, out, base := startServer(t, "--config", cfg, "--listen", "127.0.0.1:0", "--database", "sqlite://"+filepath.Join(dir, "s.db"),
		"--watch", reg.Host+"/team/polled", "--insecure", "--token", token, "--db", dbFile, "--poll-interval", "1s")
	call := func(method, path, body string, auth bool) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if auth {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, out.String())
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if code, b := call("GET", "/healthz", "", false); code != 200 || strings.TrimSpace(string(b)) != "ok" {
		t.Errorf("/healthz: %d %s", code, b)
	}
	for _, p := range []string{"GET /api/v1/images", "POST /api/v1/webhooks/registry", "POST /api/v1/webhooks/eventbridge", "POST /api/v1/db/refresh"} {
		m, path, _ := strings.Cut(p, " ")
		if code, _ := call(m, path, "{}", false); code != http.StatusUnauthorized {
			t.Errorf("%s without the token: HTTP %d, want 401", p, code)
		}
	}

	type image struct {
		Digest     string         `json:"digest"`
		Repository string         `json:"repository"`
		Tags       []string       `json:"tags"`
		State      string         `json:"state"`
		AssessedAt *time.Time     `json:"assessedAt"`
		DBVersion  string         `json:"dbVersion"`
		Stale      *bool          `json:"stale"`
		Counts     map[string]int `json:"counts"`
	}
	wait := func(digest string, ok func(image) bool) image {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); ; {
			var list struct {
				Images []image `json:"images"`
			}
			if code, b := call("GET", "/api/v1/images", "", true); code == 200 {
				if err := json.Unmarshal(b, &list); err != nil {
					t.Fatalf("images: %v: %s", err, b)
				}
			}
			for _, im := range list.Images {
				if im.Digest == digest && im.State == "done" && ok(im) {
					return im
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("image %s not assessed within 60s: %+v\n%s", digest, list.Images, out.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	npm := func(version string) v1.Image {
		return testutil.Image(t, v1.Config{User: "node"}, testutil.Step{CreatedBy: "COPY app /app", Layer: testutil.Layer(t,
			testutil.File{Path: "app/node_modules/lodash/package.json", Content: fmt.Sprintf(`{"name":"lodash","version":%q}`, version)})})
	}

	// Polled: pushed after the start to the watched repository.
	img := npm("4.17.0")
	polledRef := reg.Host + "/team/polled:1.0"
	d1 := testutil.Push(t, polledRef, img)
	im := wait(d1, func(image) bool { return true })
	if im.Repository != "team/polled" || len(im.Tags) != 1 || im.AssessedAt == nil || im.DBVersion == "" || im.Stale == nil || *im.Stale || im.Counts["HIGH"] != 1 {
		t.Errorf("polled image: %+v", im)
	}
	code, b := call("GET", "/api/v1/images/"+d1+"/findings", "", true)
	var got []map[string]any
	if code != 200 || json.Unmarshal(b, &got) != nil {
		t.Fatalf("findings: %d %s", code, b)
	}
	var scanOut, scanErr bytes.Buffer
	Execute(t.Context(), []string{"scan", polledRef, "--insecure", "--db", dbFile, "-f", "json", "--exit-code", "0"}, &scanOut, &scanErr)
	var rep struct {
		Findings []map[string]any `json:"findings"`
	}
	if err := json.Unmarshal(scanOut.Bytes(), &rep); err != nil {
		t.Fatalf("scan -f json: %v: %s %s", err, scanOut.String(), scanErr.String())
	}
	var want map[string]any
	for _, f := range rep.Findings {
		if f["id"] == "GHSA-lodash" {
			want = f
		}
	}
	var have map[string]any
	for _, f := range got {
		if f["id"] == "GHSA-lodash" {
			have = f
		}
	}
	if want == nil || have == nil {
		t.Fatalf("GHSA-lodash: scan %v, API %v", rep.Findings, got)
	}
	for k, v := range want {
		if k == "failing" || k == "fingerprint" {
			continue // the gate's verdict and the report's fingerprint belong to a scan run
		}
		if fmt.Sprint(have[k]) != fmt.Sprint(v) {
			t.Errorf("finding field %q: API %v, scan -f json %v", k, have[k], v)
		}
	}

	// EventBridge: AWS's documented ECR push event, its host mapped to
	// the local registry.
	d2 := testutil.Push(t, reg.Host+"/team/ecr:7", npm("4.17.21"))
	ev, err := os.ReadFile("../server/eventbridge/testdata/ecr-image-push.json")
	if err != nil {
		t.Fatal(err)
	}
	body := strings.NewReplacer("my-repository-name", "team/ecr", "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd12345678", d2, `"latest"`, `"7"`).Replace(string(ev))
	if code, b := call("POST", "/api/v1/webhooks/eventbridge", body, true); code != 200 || !bytes.Contains(b, []byte(`"new": 1`)) {
		t.Errorf("eventbridge: %d %s", code, b)
	}
	if im := wait(d2, func(image) bool { return true }); im.Repository != "team/ecr" || im.Counts["HIGH"] != 0 {
		t.Errorf("ECR image: %+v", im)
	}

	// The registry's notification of a second tag of the polled image.
	env := fmt.Sprintf(`{"events":[{"action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":%q,"repository":"team/polled","tag":"again"},"request":{"host":%q}}]}`, d1, reg.Host)
	if code, b := call("POST", "/api/v1/webhooks/registry", env, true); code != 200 || !bytes.Contains(b, []byte(`"new": 0`)) {
		t.Errorf("registry webhook: %d %s", code, b)
	}
	wait(d1, func(im image) bool { return len(im.Tags) == 2 })
	var status struct {
		ImageReads int `json:"imageReads"`
	}
	if _, b := call("GET", "/api/v1/status", "", true); json.Unmarshal(b, &status) != nil || status.ImageReads != 2 {
		t.Errorf("status: %s, want 2 image reads", b)
	}
	if code, b := call("POST", "/api/v1/db/refresh", "", true); code != 200 || !bytes.Contains(b, []byte(`"queued": 0`)) {
		t.Errorf("db refresh: %d %s", code, b)
	}
	if code, _ := call("POST", "/api/v1/webhooks/registry", "not json", true); code != http.StatusBadRequest {
		t.Errorf("not JSON: %d", code)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v\n%s", err, out.String())
	}
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		if strings.Contains(sc.Text(), "panic") {
			t.Errorf("server log: %s", sc.Text())
		}
	}
}
