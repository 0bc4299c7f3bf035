package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/admission"
	"github.com/bulwark-sec/bulwark/internal/admission/k8s"
	"github.com/bulwark-sec/bulwark/internal/deployment"
	"github.com/bulwark-sec/bulwark/internal/registry"
	"github.com/bulwark-sec/bulwark/internal/server/jobs"
	"github.com/bulwark-sec/bulwark/internal/server/notify"
	"github.com/bulwark-sec/bulwark/internal/server/poll"
	"github.com/bulwark-sec/bulwark/internal/server/store"
	"github.com/bulwark-sec/bulwark/internal/server/webhook"
	"github.com/bulwark-sec/bulwark/internal/sign"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// reportingAdmission starts the Kubernetes admission webhook with a
// policy reporting to the server at url (cluster prod), and returns its
// URL.
func reportingAdmission(t *testing.T, url string) string {
	t.Helper()
	pol, err := admission.ParsePolicy([]byte(fmt.Sprintf("registries: [\"127.0.0.1:5000\"]\nreport:\n  url: %s\n  token: %s\n  cluster: prod\n", url, token)))
	if err != nil {
		t.Fatal(err)
	}
	dec, err := admission.New(context.Background(), pol, admission.Options{})
	if err != nil {
		t.Fatal(err)
	}
	adm := httptest.NewServer(k8s.NewHandler(dec, slog.New(slog.NewTextHandler(io.Discard, nil))))
	t.Cleanup(adm.Close)
	return adm.URL
}

// admit sends an AdmissionReview to the webhook at url, which must allow
// it.
func admit(t *testing.T, url, review string) {
	t.Helper()
	resp, err := http.Post(url+"/validate", "application/json", strings.NewReader(review))
	if err != nil {
		t.Fatal(err)
	}
	var rv struct {
		Response struct {
			Allowed bool `json:"allowed"`
		} `json:"response"`
	}
	json.NewDecoder(resp.Body).Decode(&rv)
	resp.Body.Close()
	if !rv.Response.Allowed {
		t.Fatalf("the admission webhook denied %s", review)
	}
}

// The admission webhook allows a pod and reports it; the server records
// the deployment; a database update adds an advisory for a package of 3
// stored images, and the event of the one that runs names the pod. A
// target with onlyDeployed gets that event alone.
func TestDeploymentNotify(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := openStore(t, dir)
	st.SetDeploymentExpiry(time.Hour)
	storedImages(t, st, 5) // images 0, 1 and 2 hold the package "rare"
	running := fmt.Sprintf("sha256:%064x", 0)
	db := filepath.Join(dir, "vulndb.bwdb")
	other := npmAdvisory("GHSA-other", "not-stored", "2.0.0")
	writeDB(t, db, time.Unix(1, 0).UTC(), other)

	all := &receiver{events: map[int64]store.Event{}, count: map[int64]int{}}
	deployed := &receiver{events: map[int64]store.Event{}, count: map[int64]int{}}
	for _, rc := range []*receiver{all, deployed} {
		hs := httptest.NewServer(rc)
		defer hs.Close()
		rc.url = hs.URL
	}
	srv, err := New(ctx, Options{Store: st, DBFile: db, Token: token, Log: testWriter{t},
		Notify: []notify.Target{{Name: "all", URL: all.url, Secret: "s3cret"}, {Name: "deployed", URL: deployed.url, Secret: "s3cret", OnlyDeployed: true}},
		Jobs:   jobs.Options{MaxAttempts: 3, Backoff: 50 * time.Millisecond, JobTimeout: time.Second, Poll: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.WaitRematch(ctx); err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(srv.Handler())
	defer api.Close()

	// The admission webhook, reporting to the server.
	adm := reportingAdmission(t, api.URL)
	admit(t, adm, `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1",
	 "kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","name":"web","namespace":"shop",
	 "object":{"metadata":{"name":"web"},"spec":{"containers":[{"name":"app","image":"127.0.0.1:5000/repo@`+running+`"}]}}}}`)
	want := "kubernetes/prod/shop/pod/web"
	testutil.WaitFor(t, 10*time.Second, "the pod's deployment recorded", func() bool {
		ds, err := st.Deployments(ctx, running, false)
		return err == nil && len(ds) == 1 && ds[0].String() == want
	})
	var got struct {
		Image store.Image `json:"image"`
	}
	if code := (&fixture{url: api.URL}).get(t, "/api/v1/images/"+running, &got); code != http.StatusOK {
		t.Fatalf("GET image: %d", code)
	}
	if len(got.Image.Deployments) != 1 || got.Image.Deployments[0].String() != want {
		t.Errorf("GET image: deployments %+v, want %s", got.Image.Deployments, want)
	}

	writeDB(t, db, time.Unix(20, 0).UTC(), other, npmAdvisory("GHSA-rare", "rare", "2.0.0"))
	res, err := srv.Refresh(ctx)
	if err != nil || res.Queued != 3 {
		t.Fatalf("refresh: %+v, %v; want 3 queued for re-matching", res, err)
	}
	testutil.WaitFor(t, 30*time.Second, "3 events to all, 1 to deployed", func() bool { return len(all.list()) == 3 && len(deployed.list()) == 1 })
	time.Sleep(300 * time.Millisecond) // no more arrives
	if got := deployed.list(); len(got) != 1 || got[0] != "rematch new GHSA-rare "+running {
		t.Fatalf("onlyDeployed target got %v; want the running image's event alone", got)
	}
	for _, ev := range all.events {
		var names []string
		for _, d := range ev.Deployments {
			names = append(names, d.String())
		}
		wantNames := ""
		if ev.Image.Digest == running {
			wantNames = want
		}
		if strings.Join(names, ",") != wantNames {
			t.Errorf("event of %s names deployments %v, want %q", ev.Image.Digest, names, wantNames)
		}
	}
	if n := len(all.list()); n != 3 {
		t.Errorf("all: %d events, want 3", n)
	}
}

// POST /api/v1/deployments takes a report, refuses a bad one naming the
// field, and GET lists what runs.
func TestDeploymentsAPI(t *testing.T) {
	f := start(t)
	d := "sha256:" + strings.Repeat("ab", 32)
	for _, c := range []struct {
		body string
		code int
		msg  string
	}{
		{`{"deployments":[{"platform":"ecs","cluster":"prod","name":"api","digest":"` + d + `"}]}`, 200, `"recorded": 1`},
		{`[{"platform":"kubernetes","cluster":"prod","namespace":"shop","name":"deployment/web","digest":"` + d + `"}]`, 200, `"recorded": 1`},
		{`{"deployments":[{"platform":"nomad","cluster":"c","name":"x","digest":"` + d + `"}]}`, 400, `deployments[0]: platform \"nomad\"`},
		{`{"deployments":[{"platform":"ecs","cluster":"c","name":"x","digest":"sha256:12"}]}`, 400, `digest \"sha256:12\"`},
		{`{"deployments":[]}`, 400, "names no deployment"},
		{`not json`, 400, "not a deployment report"},
	} {
		code, body := f.post(t, "/api/v1/deployments", c.body)
		if code != c.code || !strings.Contains(body, c.msg) {
			t.Errorf("POST %s: %d %s; want %d with %s", c.body, code, body, c.code, c.msg)
		}
	}
	code, _ := send(t, f.url+"/api/v1/deployments", strings.NewReader(`[]`), "", "")
	if code != http.StatusUnauthorized {
		t.Errorf("without the token: %d, want 401", code)
	}
	var list struct {
		Deployments []deployment.Deployment `json:"deployments"`
	}
	f.get(t, "/api/v1/deployments?digest="+d, &list)
	if len(list.Deployments) != 2 || list.Deployments[0].String() != "ecs/prod/api" || list.Deployments[1].String() != "kubernetes/prod/shop/deployment/web" {
		t.Errorf("deployments %+v", list.Deployments)
	}
	// web is reported gone (every digest of it), then a complete report
	// of the ECS cluster prod that lists nothing: api is gone too.
	for _, c := range []struct{ body, want string }{
		{`[{"platform":"kubernetes","cluster":"prod","namespace":"shop","name":"deployment/web","goneAt":"2020-01-01T00:00:00Z"}]`, `"recorded": 1`},
		{`{"complete":{"platform":"ecs","cluster":"prod"},"deployments":[]}`, `"gone": 1`},
	} {
		if code, body := f.post(t, "/api/v1/deployments", c.body); code != 200 || !strings.Contains(body, c.want) {
			t.Errorf("POST %s: %d %s; want 200 with %s", c.body, code, body, c.want)
		}
	}
	list.Deployments = nil
	f.get(t, "/api/v1/deployments?digest="+d, &list)
	if len(list.Deployments) != 1 || list.Deployments[0].Name != "deployment/web" {
		t.Errorf("running after a goneAt before it was reported: %+v; want web still running (the reports crossed)", list.Deployments)
	}
	code, body := f.post(t, "/api/v1/deployments", `[{"platform":"kubernetes","cluster":"prod","namespace":"shop","name":"deployment/web"}]`)
	if code != 400 || !strings.Contains(body, `deployments[0]: digest \"\"`) {
		t.Errorf("a running deployment without a digest: %d %s; want 400 naming the digest", code, body)
	}
	f.post(t, "/api/v1/deployments", `[{"platform":"kubernetes","cluster":"prod","namespace":"shop","name":"deployment/web","goneAt":"2099-01-01T00:00:00Z"}]`)
	list.Deployments = nil
	f.get(t, "/api/v1/deployments?digest="+d, &list)
	if len(list.Deployments) != 0 {
		t.Errorf("running after both were reported gone: %+v", list.Deployments)
	}
	f.get(t, "/api/v1/deployments?gone=true&digest="+d, &list)
	if len(list.Deployments) != 2 || list.Deployments[0].GoneAt == nil || list.Deployments[1].GoneAt == nil {
		t.Errorf("?gone=true: %+v; want both, with goneAt", list.Deployments)
	}
}

// Each read image's cosign signature is checked with the configured
// keys: signed by the key with bulwark sign or with the cosign binary
// (with the key named), signed by another key only (invalid), not
// signed; requireSignature fails the policy of all but the signed ones.
func TestSignatureStatus(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	keys := map[string]string{}
	for _, k := range []string{"release", "other"} {
		priv, pub, err := sign.GenerateKeyPair([]byte("pw"))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, k+".key"), priv, 0o600)
		keys[k] = filepath.Join(dir, k+".pub")
		os.WriteFile(keys[k], pub, 0o644)
	}
	// The images are pushed and signed on a registry that sends the
	// server nothing, then handed over as a poll would.
	quiet := testutil.StartRegistry(t, testutil.RegistryOptions{})
	reg, err := sign.NewRegistry(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	digests := map[string]string{}
	cosign := testutil.RequireTool(t, "cosign")
	for i, name := range []string{"signed", "other", "unsigned", "cosign"} {
		ref := quiet.Host + "/app:" + name
		digests[name] = testutil.Push(t, ref, npmImage(t, "left-pad", fmt.Sprintf("1.0.%d", i)))
		switch name {
		case "unsigned":
			continue
		case "cosign":
			cmd := exec.Command(cosign, "sign", "--key", filepath.Join(dir, "release.key"), "--tlog-upload=false", "-a", "env=prod", quiet.Host+"/app@"+digests[name])
			cmd.Env = append(os.Environ(), "COSIGN_PASSWORD=pw", "COSIGN_YES=true", "HOME="+t.TempDir(), "TUF_ROOT="+t.TempDir())
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("cosign sign: %v\n%s", err, out)
			}
			continue
		}
		key := map[string]string{"signed": "release", "other": "other"}[name]
		s, err := sign.LoadSigner(ctx, filepath.Join(dir, key+".key"), sign.StaticPass([]byte("pw")))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sign.SignImage(ctx, reg, ref, s, sign.SignOptions{Annotations: map[string]string{"env": "prod"}}); err != nil {
			t.Fatal(err)
		}
	}
	f := start(t, func(o *Options) {
		o.Registries[quiet.Host] = registry.Settings{}
		o.Signature.Keys = []string{keys["release"]}
		o.Signature.Annotations = map[string]string{"env": "prod"}
		o.RequireSignature = true
	})
	// A poll round lists the four image tags and the three signature tags
	// (sha256-<hex>.sig): the signatures are not images to assess.
	artifacts := 0
	p := &poll.Poller{Timeout: time.Minute, Log: io.Discard,
		Targets: []poll.Target{{Registry: quiet.Host, Repository: "app", Client: f.srv.clients[quiet.Host]}},
		Record: func(ctx context.Context, pushes []webhook.Push) error {
			res, err := f.srv.Record(ctx, "poll", pushes)
			artifacts += res.Artifacts
			return err
		}}
	p.Round(ctx)
	if artifacts != 3 {
		t.Errorf("poll round: %d signature tags set aside, want 3", artifacts)
	}
	for name, want := range map[string][3]string{
		"signed":   {"signed", keys["release"], "pass"},
		"cosign":   {"signed", keys["release"], "pass"},
		"other":    {"invalid", "", "fail"},
		"unsigned": {"unsigned", "", "fail"},
	} {
		var got struct {
			Image struct {
				apiImage
				Signature string `json:"signature"`
				Signer    string `json:"signer"`
			} `json:"image"`
		}
		f.waitImage(t, digests[name], func(apiImage) bool { return true })
		f.get(t, "/api/v1/images/"+digests[name], &got)
		if g := [3]string{got.Image.Signature, got.Image.Signer, got.Image.Policy}; g != want {
			t.Errorf("%s: signature, signer, policy = %q; want %q", name, g, want)
		}
	}
	var page struct {
		Images []struct {
			Digest    string `json:"digest"`
			Signature string `json:"signature"`
		} `json:"images"`
	}
	f.get(t, "/api/v1/images", &page)
	n := 0
	for _, im := range page.Images {
		if im.Digest == digests["signed"] && im.Signature == "signed" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("GET /api/v1/images does not show the signed image's status: %+v", page.Images)
	}
	if len(page.Images) != len(digests) {
		t.Errorf("GET /api/v1/images: %d images, want the %d pushed (no signature manifests): %+v", len(page.Images), len(digests), page.Images)
	}
}

// The server applies the retention rules every PruneEvery: a deployment
// not reported for longer than its expiry goes, one reported since stays.
func TestPruneJob(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := openStore(t, dir)
	db := filepath.Join(dir, "vulndb.bwdb")
	writeDB(t, db, time.Unix(1, 0).UTC())
	d := "sha256:" + strings.Repeat("c", 64)
	now := time.Now()
	if err := st.ReportDeployments(ctx, []deployment.Deployment{
		{Platform: deployment.ECS, Cluster: "prod", Name: "old", Digest: d, SeenAt: now.Add(-2 * time.Hour)},
		{Platform: deployment.ECS, Cluster: "prod", Name: "new", Digest: d, SeenAt: now},
	}); err != nil {
		t.Fatal(err)
	}
	srv, err := New(ctx, Options{Store: st, DBFile: db, Log: testWriter{t}, PruneEvery: 50 * time.Millisecond,
		Retention: store.Retention{Deployments: time.Hour}, Jobs: jobs.Options{Poll: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	testutil.WaitFor(t, 10*time.Second, "the old deployment pruned", func() bool {
		ds, err := st.Deployments(ctx, d, false)
		return err == nil && len(ds) == 1 && ds[0].Name == "new"
	})
}
