package server

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/registry"
	"github.com/bulwark-sec/bulwark/internal/server/config"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// ecrEvent is the EventBridge fixture (AWS's documented ECR push event)
// for an image of the local registry.
func ecrEvent(t *testing.T, repo, digest, tag string) string {
	t.Helper()
	b, err := os.ReadFile("eventbridge/testdata/ecr-image-push.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	d := ev["detail"].(map[string]any)
	d["repository-name"], d["image-digest"], d["image-tag"] = repo, digest, tag
	out, _ := json.Marshal(ev)
	return string(out)
}

// send posts a body with one header and returns the status and answer.
func send(t *testing.T, url string, body io.Reader, header, value string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, body)
	if header != "" {
		req.Header.Set(header, value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// zeros is an endless body.
type zeros struct{}

func (zeros) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

// TestEventBridge: an ECR push event, as an EventBridge API destination
// delivers it with its API key header, for an image pushed to a registry
// on 127.0.0.1 that sends no notifications (the event's ECR host mapped to
// it): the image is read once and assessed; the same event with another
// tag only adds the tag.
func TestEventBridge(t *testing.T) {
	quiet := testutil.StartRegistry(t, testutil.RegistryOptions{})
	const ecrHost = "123456789012.dkr.ecr.us-west-2.amazonaws.com"
	f := start(t, func(o *Options) {
		o.Registries[quiet.Host] = registry.Settings{}
		o.Webhooks.EventBridge = config.EventBridge{Hook: config.Hook{Header: "x-api-key", Secret: "eb-key"}, Hosts: map[string]string{ecrHost: quiet.Host}}
	})
	ref := quiet.Host + "/team/ecr:1.0"
	img := npmImage(t, "lodash", "4.17.0")
	d := testutil.Push(t, ref, img)
	url := f.url + "/api/v1/webhooks/eventbridge"
	ev := ecrEvent(t, "team/ecr", d, "1.0")
	if code, _ := send(t, url, strings.NewReader(ev), "", ""); code != http.StatusUnauthorized {
		t.Errorf("no API key: HTTP %d, want 401", code)
	}
	if code, _ := send(t, url, strings.NewReader(ev), "x-api-key", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("wrong API key: HTTP %d, want 401", code)
	}
	code, resp := send(t, url, strings.NewReader(ev), "x-api-key", "eb-key")
	if code != http.StatusOK || !strings.Contains(resp, `"new": 1`) {
		t.Fatalf("event: HTTP %d %s", code, resp)
	}
	im := f.waitImage(t, d, func(apiImage) bool { return true })
	if im.State != "done" || im.Repository != "team/ecr" || len(im.Tags) != 1 {
		t.Fatalf("image after the event: %+v", im)
	}
	if _, ok := f.findings(t, d)["GHSA-lodash"]; !ok {
		t.Errorf("no GHSA-lodash finding")
	}
	// The token is taken too; a second tag of the same digest is not read.
	testutil.Push(t, quiet.Host+"/team/ecr:latest", img)
	if code, resp := send(t, url, strings.NewReader(ecrEvent(t, "team/ecr", d, "latest")), "Authorization", "Bearer "+token); code != http.StatusOK || !strings.Contains(resp, `"new": 0`) {
		t.Errorf("second tag: HTTP %d %s", code, resp)
	}
	f.waitImage(t, d, func(im apiImage) bool { return len(im.Tags) == 2 })
	if got := f.srv.Reads(); got != 1 {
		t.Errorf("%d image reads, want 1", got)
	}
	// An account that is not mapped nor configured is not read.
	other := strings.Replace(ev, "123456789012", "999999999999", 1)
	if code, resp := send(t, url, strings.NewReader(other), "x-api-key", "eb-key"); code != http.StatusOK || !strings.Contains(resp, `"ignored": 1`) {
		t.Errorf("unknown account: HTTP %d %s", code, resp)
	}
}

// TestWebhookBodies: at both webhooks, a body that is not JSON is 400 and
// a 1 GB body is 413 after at most 1 MiB is read (quickly, whether its
// length is declared or not), nothing is stored, and the server keeps
// serving.
func TestWebhookBodies(t *testing.T) {
	f := start(t)
	for _, path := range []string{"/api/v1/webhooks/registry", "/api/v1/webhooks/eventbridge"} {
		if code, _ := send(t, f.url+path, strings.NewReader("not json"), "Authorization", "Bearer "+token); code != http.StatusBadRequest {
			t.Errorf("%s, not JSON: HTTP %d, want 400", path, code)
		}
		start := time.Now()
		if code, _ := send(t, f.url+path, io.LimitReader(zeros{}, 1<<30), "Authorization", "Bearer "+token); code != http.StatusRequestEntityTooLarge {
			t.Errorf("%s, 1 GB streamed: HTTP %d, want 413", path, code)
		}
		req, _ := http.NewRequest(http.MethodPost, f.url+path, io.LimitReader(zeros{}, 1<<30))
		req.ContentLength = 1 << 30
		req.Header.Set("Authorization", "Bearer "+token)
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("%s, 1 GB declared: %v %v, want 413", path, resp, err)
		} else {
			resp.Body.Close()
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("%s: two 1 GB bodies took %v to refuse", path, took)
		}
	}
	var list struct {
		Images []apiImage `json:"images"`
	}
	if code := f.get(t, "/api/v1/images", &list); code != http.StatusOK || len(list.Images) != 0 {
		t.Errorf("images after refused bodies: HTTP %d %+v", code, list.Images)
	}
}
