package k8s_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/bulwark-sec/bulwark/internal/admission"
	"github.com/bulwark-sec/bulwark/internal/admission/admtest"
	"github.com/bulwark-sec/bulwark/internal/admission/k8s"
	"github.com/bulwark-sec/bulwark/internal/registry"
)

// webhook is a running bulwark admission server and a client that trusts
// its development certificate, as the API server would with caBundle.
type webhook struct {
	url    string
	client *http.Client
	calls  *admtest.Counter
}

func startWebhook(t *testing.T, policy string) *webhook {
	t.Helper()
	pol, err := admission.ParsePolicy([]byte(policy))
	if err != nil {
		t.Fatal(err)
	}
	calls := &admtest.Counter{}
	ctx, cancel := context.WithCancel(context.Background())
	c, err := registry.Settings{Transport: calls}.Client()
	if err != nil {
		t.Fatal(err)
	}
	dec, err := admission.New(ctx, pol, admission.Options{Registry: c})
	if err != nil {
		t.Fatal(err)
	}
	cert, pemBytes, err := k8s.DevCertificate([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- k8s.Serve(ctx, l, k8s.NewHandler(dec, slog.New(slog.NewTextHandler(io.Discard, nil))), func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil })
	}()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	t.Cleanup(func() {
		client.CloseIdleConnections()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &webhook{url: "https://" + l.Addr().String(), client: client, calls: calls}
}

// review is an AdmissionReview as the API server sends it.
func review(kind, group, op string, object string) []byte {
	return fmt.Appendf(nil, `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{
"uid":"705ab4f5-6393-11e8-b7cc-42010a800002",
"kind":{"group":%q,"version":"v1","kind":%q},
"resource":{"group":%q,"version":"v1","resource":"x"},
"name":"demo","namespace":"default","operation":%q,
"userInfo":{"username":"admin"},
"object":%s}}`, group, kind, group, op, object)
}

func pod(images ...string) string {
	var cs []string
	for i, img := range images {
		cs = append(cs, fmt.Sprintf(`{"name":"c%d","image":%q}`, i, img))
	}
	return `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"demo"},"spec":{"containers":[` + strings.Join(cs, ",") + `]}}`
}

func (w *webhook) post(t *testing.T, path string, body []byte) (int, *admissionv1.AdmissionResponse, string) {
	t.Helper()
	resp, err := w.client.Post(w.url+path, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil, string(b)
	}
	var rv admissionv1.AdmissionReview
	if err := json.Unmarshal(b, &rv); err != nil {
		t.Fatalf("answer is not an AdmissionReview: %v\n%s", err, b)
	}
	if rv.APIVersion != "admission.k8s.io/v1" || rv.Kind != "AdmissionReview" || rv.Response == nil || rv.Response.UID != "705ab4f5-6393-11e8-b7cc-42010a800002" {
		t.Fatalf("answer does not echo the review: %s", b)
	}
	msg := ""
	if rv.Response.Result != nil {
		msg = rv.Response.Result.Message
	}
	return resp.StatusCode, rv.Response, msg
}

func TestValidate(t *testing.T) {
	f := admtest.New(t)
	w := startWebhook(t, f.StrictPolicy())
	depl := func(init, main string) string {
		return fmt.Sprintf(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"selector":{},"template":{"spec":{"initContainers":[{"name":"i","image":%q}],"containers":[{"name":"m","image":%q}]}}}}`, init, main)
	}
	cron := fmt.Sprintf(`{"apiVersion":"batch/v1","kind":"CronJob","spec":{"schedule":"* * * * *","jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"m","image":%q}]}}}}}}`, f.Signed)
	for _, tc := range []struct {
		name, kind, group, object string
		allowed                   bool
		want                      string
	}{
		{"signed by digest", "Pod", "", pod(f.Signed), true, "signed by"},
		{"signed by tag", "Pod", "", pod(f.SignedTag), true, "vuln attestation"},
		{"unsigned", "Pod", "", pod(f.Unsigned), false, "no signature found"},
		{"wrong key", "Pod", "", pod(f.WrongKey), false, "none verifies with key"},
		{"failing attestation", "Pod", "", pod(f.Critical), false, "CVE-9 (CRITICAL"},
		{"missing attestation", "Pod", "", pod(f.NoAttestation), false, "no vuln attestation found"},
		{"registry not allowed", "Pod", "", pod("docker.io/library/nginx:1.25"), false, "registry index.docker.io is not allowed"},
		{"digest that does not parse", "Pod", "", pod(f.Host + "/team/app@sha256:xyz"), false, "not a valid image reference"},
		{"one bad image of two", "Pod", "", pod(f.Signed, f.Unsigned), false, "unsigned"},
		{"deployment with an unsigned init container", "Deployment", "apps", depl(f.Unsigned, f.Signed), false, "no signature found"},
		{"deployment signed", "Deployment", "apps", depl(f.Signed, f.SignedTag), true, ""},
		{"cronjob signed", "CronJob", "batch", cron, true, ""},
		{"unknown kind", "Widget", "example.com", `{}`, false, "not one bulwark checks"},
		{"object that does not decode", "Pod", "", `{"spec":{"containers":"nope"}}`, false, "does not decode"},
		{"container without image", "Pod", "", `{"spec":{"containers":[{"name":"x"}]}}`, false, "has no image"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := w.calls.N()
			code, resp, msg := w.post(t, "/validate", review(tc.kind, tc.group, "CREATE", tc.object))
			// What the policy refuses on the reference alone costs no call.
			if n := w.calls.N() - before; n != 0 && (strings.Contains(tc.want, "not allowed") || strings.Contains(tc.want, "not a valid")) {
				t.Fatalf("%d registry calls for a decision on the reference alone", n)
			}
			if code != http.StatusOK {
				t.Fatalf("HTTP %d %s", code, msg)
			}
			if resp.Allowed != tc.allowed {
				t.Fatalf("allowed=%v, want %v: %s", resp.Allowed, tc.allowed, msg)
			}
			if !tc.allowed && !strings.Contains(msg, tc.want) {
				t.Fatalf("reason %q does not say %q", msg, tc.want)
			}
			if !tc.allowed && !strings.Contains(msg, "onError=deny (fail-closed)") && resp.Result.Code == http.StatusForbidden {
				t.Fatalf("the decision does not state the onError setting: %s", msg)
			}
		})
	}
	// DELETE runs nothing.
	if _, resp, _ := w.post(t, "/validate", review("Pod", "", "DELETE", `null`)); !resp.Allowed {
		t.Fatal("DELETE was denied")
	}
}

func TestRequireDigestAndMutate(t *testing.T) {
	f := admtest.New(t)
	w := startWebhook(t, fmt.Sprintf("keys: [%s]\nrequireDigest: true\n", f.Pub))
	_, resp, msg := w.post(t, "/validate", review("Pod", "", "CREATE", pod(f.SignedTag)))
	if resp.Allowed || !strings.Contains(msg, "requires a digest") {
		t.Fatalf("a tag passed requireDigest: %s", msg)
	}
	// /mutate pins the tag to the verified digest; /validate then passes
	// the patched pod without calling the registry again.
	_, resp, msg = w.post(t, "/mutate", review("Pod", "", "CREATE", pod(f.SignedTag, f.Signed)))
	if !resp.Allowed {
		t.Fatalf("mutate denied: %s", msg)
	}
	wantPatch := fmt.Sprintf(`[{"op":"replace","path":"/spec/containers/0/image","value":"%s@%s"}]`, f.SignedTag, f.Signed[strings.Index(f.Signed, "@")+1:])
	if resp.PatchType == nil || *resp.PatchType != admissionv1.PatchTypeJSONPatch || string(resp.Patch) != wantPatch {
		t.Fatalf("patch %s, want %s", resp.Patch, wantPatch)
	}
	before := w.calls.N()
	_, resp, msg = w.post(t, "/validate", review("Pod", "", "CREATE", pod(f.SignedTag+"@"+f.Signed[strings.Index(f.Signed, "@")+1:])))
	if !resp.Allowed {
		t.Fatalf("the pinned pod was denied: %s", msg)
	}
	if n := w.calls.N() - before; n != 0 {
		t.Fatalf("a cached digest cost %d registry calls", n)
	}
}

func TestCacheAndUnreachableRegistry(t *testing.T) {
	f := admtest.New(t)
	closed := startWebhook(t, f.StrictPolicy())
	open := startWebhook(t, f.StrictPolicy()+"onError: allow\n")

	// Twenty requests at once for a digest never seen verify it once: as
	// many registry calls as one request in another, fresh server.
	if _, resp, msg := open.post(t, "/validate", review("Pod", "", "CREATE", pod(f.Signed))); !resp.Allowed {
		t.Fatal(msg)
	}
	one := open.calls.N()
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, resp, msg := closed.post(t, "/validate", review("Pod", "", "CREATE", pod(f.Signed))); !resp.Allowed {
				t.Error(msg)
			}
		}()
	}
	wg.Wait()
	if n := closed.calls.N(); n != one || one == 0 {
		t.Fatalf("20 concurrent requests made %d registry calls, one request %d", n, one)
	}

	f.Stop()
	// The cached verdict keeps answering.
	if _, resp, msg := closed.post(t, "/validate", review("Pod", "", "CREATE", pod(f.Signed))); !resp.Allowed {
		t.Fatalf("cached verdict lost with the registry down: %s", msg)
	}
	// A digest never seen cannot be decided: fail-closed denies, fail-open
	// allows with a warning, and both say so.
	_, resp, msg := closed.post(t, "/validate", review("Pod", "", "CREATE", pod(f.Unsigned)))
	if resp.Allowed || !strings.Contains(msg, "could not decide") || !strings.Contains(msg, "onError=deny (fail-closed)") {
		t.Fatalf("fail-closed: allowed=%v %s", resp.Allowed, msg)
	}
	_, resp, _ = open.post(t, "/validate", review("Pod", "", "CREATE", pod(f.Unsigned)))
	if !resp.Allowed || len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], "onError=allow (fail-open)") {
		t.Fatalf("fail-open: allowed=%v warnings=%q", resp.Allowed, resp.Warnings)
	}
}

func TestHostileReviews(t *testing.T) {
	w := startWebhook(t, "registries: [registry.example.com]\n")
	many := make([]string, 1000)
	for i := range many {
		many[i] = "registry.example.com/app:v1"
	}
	for _, tc := range []struct {
		name string
		body []byte
		code int
		want string
	}{
		{"not JSON", []byte("<xml/>"), 400, "not an AdmissionReview"},
		{"empty", nil, 400, "not an AdmissionReview"},
		{"100 MB", bytes.Repeat([]byte(" "), 100<<20), 413, "larger than"},
		{"v1beta1", []byte(`{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"x"}}`), 400, "want admission.k8s.io/v1"},
		{"no request", []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`), 400, "no request"},
		{"no uid", []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}}`), 400, "no uid"},
		{"1000 containers", review("Pod", "", "CREATE", pod(many...)), 200, "1000 containers, more than the 200"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, resp, msg := w.post(t, "/validate", tc.body)
			if code != tc.code || !strings.Contains(msg, tc.want) {
				t.Fatalf("HTTP %d %q, want %d with %q", code, msg, tc.code, tc.want)
			}
			if resp != nil && resp.Allowed {
				t.Fatal("allowed")
			}
		})
	}
}
