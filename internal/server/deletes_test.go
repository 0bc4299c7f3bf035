package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/registry"
	"github.com/bulwark-sec/bulwark/internal/server/config"
	"github.com/bulwark-sec/bulwark/internal/server/notify"
	"github.com/bulwark-sec/bulwark/internal/server/store"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// deletedImage is an image of the API with its deletion time.
type deletedImage struct {
	Tags      []string   `json:"tags"`
	Stale     bool       `json:"stale"`
	DeletedAt *time.Time `json:"deletedAt"`
}

func (f *fixture) image(t *testing.T, digest string) deletedImage {
	t.Helper()
	var got struct {
		Image deletedImage `json:"image"`
	}
	if code := f.get(t, "/api/v1/images/"+digest, &got); code != http.StatusOK {
		t.Fatalf("image %s: HTTP %d", digest, code)
	}
	return got.Image
}

// TestRegistryDeletes: the CNCF registry's notifications of a manifest
// deleted by digest (and of its tags, which go with it) mark the image
// deleted in the API, without tags, while another image of the repository
// keeps its own; a database update touching both re-matches and notifies
// only the one still in the registry, the deleted one staying stale;
// pushed again, the deleted image is back without being read again.
func TestRegistryDeletes(t *testing.T) {
	rc := &receiver{events: map[int64]store.Event{}, count: map[int64]int{}}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	f := start(t, func(o *Options) { o.Notify = []notify.Target{{Name: "t", URL: hook.URL, Secret: "s3cret"}} })
	imgA := npmImage(t, "left-pad", "1.3.0")
	dA := f.push("team/app", "1", imgA)
	f.push("team/app", "2", imgA)
	dB := f.push("team/app", "3", npmImage(t, "lodash", "4.17.0"))
	f.waitImage(t, dA, func(im apiImage) bool { return len(im.Tags) == 2 })
	f.waitImage(t, dB, func(apiImage) bool { return true })

	testutil.DeleteManifest(t, f.reg.Host+"/team/app@"+dA)
	testutil.WaitFor(t, 30*time.Second, "the deletion in the API", func() bool { return f.image(t, dA).DeletedAt != nil })
	if im := f.image(t, dA); len(im.Tags) != 0 {
		t.Errorf("deleted image: tags %v, want none", im.Tags)
	}
	if im := f.image(t, dB); im.DeletedAt != nil || !slices.Equal(im.Tags, []string{"3"}) {
		t.Errorf("the other image: %+v; want not deleted, tag 3", im)
	}
	req, _ := http.NewRequest(http.MethodGet, f.url+"/ui/images/"+dA, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "deleted from the registry") {
		t.Errorf("the deleted image's dashboard page (HTTP %d) does not say it was deleted", resp.StatusCode)
	}

	writeDB(t, f.db, time.Unix(1_800_086_400, 0).UTC(), npmAdvisory("GHSA-lodash", "lodash", "4.17.21"), npmAdvisory("GHSA-lodash2", "lodash", "4.17.22"), npmAdvisory("GHSA-leftpad", "left-pad", "1.3.1"))
	res, err := f.srv.Refresh(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.KeysChanged != 2 || res.Queued != 1 {
		t.Errorf("refresh: %+v; want 2 keys changed, 1 image (not the deleted one) queued", res)
	}
	if err := f.srv.WaitRematch(context.Background()); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 30*time.Second, "the re-match's event", func() bool {
		return slices.Contains(rc.list(), "rematch new GHSA-lodash2 "+dB)
	})
	for _, e := range rc.list() {
		if strings.HasPrefix(e, "rematch") && strings.HasSuffix(e, dA) {
			t.Errorf("notified about the deleted image: %s", e)
		}
	}
	if im := f.image(t, dA); !im.Stale {
		t.Errorf("the deleted image after the update: %+v; want stale (not re-matched)", im)
	}
	if _, ok := f.findings(t, dA)["GHSA-leftpad"]; ok {
		t.Error("the deleted image was re-matched")
	}

	reads := f.srv.Reads()
	f.push("team/app", "1", imgA)
	testutil.WaitFor(t, 30*time.Second, "the image pushed again", func() bool {
		im := f.image(t, dA)
		return im.DeletedAt == nil && slices.Equal(im.Tags, []string{"1"})
	})
	if got := f.srv.Reads(); got != reads {
		t.Errorf("%d image reads after pushing a deleted image again, want none", got-reads)
	}
}

// TestPolledDeletes: a registry without notifications, polled: a tag the
// registry no longer lists is dropped from its image, and an image left
// without tags that the registry no longer has (one HEAD by digest) is
// marked deleted; one it still has is only untagged.
func TestPolledDeletes(t *testing.T) {
	ctx := context.Background()
	quiet := testutil.StartRegistry(t, testutil.RegistryOptions{})
	f := start(t, func(o *Options) { o.Registries[quiet.Host] = registry.Settings{} })
	p, err := f.srv.poller(ctx, &config.Config{Watched: []config.Watch{{Registry: quiet.Host}}, PollEvery: time.Hour, PollTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	imgA := npmImage(t, "left-pad", "1.3.0")
	dA := testutil.Push(t, quiet.Host+"/team/app:1", imgA)
	testutil.Push(t, quiet.Host+"/team/app:2", imgA)
	dB := testutil.Push(t, quiet.Host+"/team/app:3", npmImage(t, "lodash", "4.17.0"))
	if n := p.Round(ctx); n != 3 {
		t.Fatalf("first round recorded %d, want 3", n)
	}
	f.waitImage(t, dA, func(im apiImage) bool { return len(im.Tags) == 2 })
	f.waitImage(t, dB, func(apiImage) bool { return true })

	testutil.DeleteManifest(t, quiet.Host+"/team/app@"+dA)
	if n := p.Round(ctx); n != 2 {
		t.Errorf("round after the deletion recorded %d, want 2 (the two tags)", n)
	}
	if im := f.image(t, dA); im.DeletedAt == nil || len(im.Tags) != 0 {
		t.Errorf("the deleted image: %+v; want deleted, no tags", im)
	}
	if im := f.image(t, dB); im.DeletedAt != nil || !slices.Equal(im.Tags, []string{"3"}) {
		t.Errorf("the other image: %+v", im)
	}

	// dB gains a tag, then the registry loses its old tag only (the
	// manifest stays: tags/list no longer has it once the other tag
	// moved away): dB keeps its new tag, not deleted.
	dC := testutil.Push(t, quiet.Host+"/team/app:3", npmImage(t, "lodash", "4.17.1"))
	if n := p.Round(ctx); n != 1 {
		t.Errorf("round after moving tag 3 recorded %d, want 1", n)
	}
	f.waitImage(t, dC, func(apiImage) bool { return true })
	if im := f.image(t, dB); im.DeletedAt != nil || len(im.Tags) != 0 {
		t.Errorf("the image whose tag moved: %+v; want untagged, not deleted (the registry has it)", im)
	}
}

// TestEventBridgeDeletes: ECR's DELETE events (as EventBridge sends them)
// drop the tag they name; the image is marked deleted when it has no tag
// left and the registry no longer has it (ECR deletes an image with its
// last tag).
func TestEventBridgeDeletes(t *testing.T) {
	quiet := testutil.StartRegistry(t, testutil.RegistryOptions{})
	const ecrHost = "123456789012.dkr.ecr.us-west-2.amazonaws.com"
	f := start(t, func(o *Options) {
		o.Registries[quiet.Host] = registry.Settings{}
		o.Webhooks.EventBridge = config.EventBridge{Hosts: map[string]string{ecrHost: quiet.Host}}
	})
	img := npmImage(t, "lodash", "4.17.0")
	d := testutil.Push(t, quiet.Host+"/team/ecr:1.0", img)
	testutil.Push(t, quiet.Host+"/team/ecr:latest", img)
	url := f.url + "/api/v1/webhooks/eventbridge"
	for _, tag := range []string{"1.0", "latest"} {
		if code, resp := send(t, url, strings.NewReader(ecrEvent(t, "team/ecr", d, tag)), "Authorization", "Bearer "+token); code != http.StatusOK {
			t.Fatalf("push event: HTTP %d %s", code, resp)
		}
	}
	f.waitImage(t, d, func(im apiImage) bool { return len(im.Tags) == 2 })
	deleteEvent := func(tag string) string {
		t.Helper()
		ev := strings.Replace(ecrEvent(t, "team/ecr", d, tag), `"PUSH"`, `"DELETE"`, 1)
		code, resp := send(t, url, strings.NewReader(ev), "Authorization", "Bearer "+token)
		if code != http.StatusOK {
			t.Fatalf("delete event: HTTP %d %s", code, resp)
		}
		return resp
	}
	// The tag latest removed: the image keeps 1.0 (the registry too).
	if resp := deleteEvent("latest"); !strings.Contains(resp, `"deleted": 0`) {
		t.Errorf("deleting tag latest: %s", resp)
	}
	if im := f.image(t, d); im.DeletedAt != nil || !slices.Equal(im.Tags, []string{"1.0"}) {
		t.Errorf("after deleting tag latest: %+v", im)
	}
	// The last tag removed while the registry still has the image: untagged only.
	if resp := deleteEvent("1.0"); !strings.Contains(resp, `"deleted": 0`) {
		t.Errorf("deleting tag 1.0 with the image in the registry: %s", resp)
	}
	if im := f.image(t, d); im.DeletedAt != nil || len(im.Tags) != 0 {
		t.Errorf("after deleting tag 1.0 (image still there): %+v", im)
	}
	// ECR deleted the image with its last tag: the event marks it deleted.
	if code, resp := send(t, url, strings.NewReader(ecrEvent(t, "team/ecr", d, "1.0")), "Authorization", "Bearer "+token); code != http.StatusOK {
		t.Fatalf("push event: HTTP %d %s", code, resp)
	}
	testutil.DeleteManifest(t, quiet.Host+"/team/ecr@"+d)
	if resp := deleteEvent("1.0"); !strings.Contains(resp, `"deleted": 1`) {
		t.Errorf("deleting the last tag of an image the registry deleted: %s", resp)
	}
	if im := f.image(t, d); im.DeletedAt == nil {
		t.Errorf("after ECR deleted the image: %+v; want deleted", im)
	}
}
