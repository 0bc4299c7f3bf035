package k8s_test

import (
	"bytes"
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
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/bulwark-sec/bulwark/internal/admission"
	"github.com/bulwark-sec/bulwark/internal/admission/k8s"
	"github.com/bulwark-sec/bulwark/internal/deployment"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// The hand-written AdmissionReviews of testdata decode into the
// Kubernetes types with no unknown field: their shapes are the API
// server's.
func TestTestdataDecodes(t *testing.T) {
	strict := func(name string, b []byte, v any) {
		t.Helper()
		d := json.NewDecoder(bytes.NewReader(b))
		d.DisallowUnknownFields()
		if err := d.Decode(v); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	files, _ := filepath.Glob("testdata/*.json")
	if len(files) != 4 {
		t.Fatalf("testdata: %d reviews, want 4", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var rv admissionv1.AdmissionReview
		strict(f, b, &rv)
		req := rv.Request
		for which, raw := range map[string][]byte{"object": req.Object.Raw, "oldObject": req.OldObject.Raw} {
			if len(raw) == 0 || string(raw) == "null" {
				continue
			}
			var v any
			switch req.Kind.Kind {
			case "Pod":
				v = &corev1.Pod{}
			case "Deployment":
				v = &appsv1.Deployment{}
			case "Scale":
				v = &autoscalingv1.Scale{}
			default:
				t.Fatalf("%s: kind %s", f, req.Kind.Kind)
			}
			strict(f+" "+which, raw, v)
		}
		if req.Operation == admissionv1.Delete && (len(req.OldObject.Raw) == 0 || len(req.Object.Raw) != 0) {
			t.Errorf("%s: a DELETE carries oldObject and a null object", f)
		}
	}
}

// WorkloadOf names pods by their controller, a Deployment's through the
// pod-template-hash label, and falls back to the object itself for no,
// two, or odd controller references.
func TestWorkloadOf(t *testing.T) {
	pod := func(labels, refs string) []byte {
		return []byte(`{"metadata":{"name":"p","generateName":"web-7d4b9c6f8d-","labels":` + labels + `,"ownerReferences":` + refs + `}}`)
	}
	rs := func(name string) string {
		return `[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"` + name + `","uid":"u","controller":true}]`
	}
	hash := `{"pod-template-hash":"7d4b9c6f8d"}`
	for _, c := range []struct {
		what, kind string
		raw        []byte
		want       string
		owned      bool
	}{
		{"a Deployment's pod", "/Pod", pod(hash, rs("web-7d4b9c6f8d")), "deployment/web", true},
		{"a Deployment's pod whose name has dashes", "/Pod", pod(hash, rs("shop-web-v2-7d4b9c6f8d")), "deployment/shop-web-v2", true},
		{"a bare ReplicaSet's pod (no hash label)", "/Pod", pod(`{}`, rs("web-7d4b9c6f8d")), "replicaset/web-7d4b9c6f8d", true},
		{"a hash that is not the ReplicaSet's suffix", "/Pod", pod(`{"pod-template-hash":"abc"}`, rs("web-7d4b9c6f8d")), "replicaset/web-7d4b9c6f8d", true},
		{"a hash that is the whole name", "/Pod", pod(`{"pod-template-hash":"7d4b9c6f8d"}`, rs("-7d4b9c6f8d")), "pod/p", false},
		{"a hash equal to the name", "/Pod", pod(`{"pod-template-hash":"web"}`, rs("web")), "replicaset/web", true},
		{"a StatefulSet's pod", "/Pod", pod(`{}`, `[{"apiVersion":"apps/v1","kind":"StatefulSet","name":"db","uid":"u","controller":true}]`), "statefulset/db", true},
		{"a DaemonSet's pod", "/Pod", pod(`{}`, `[{"apiVersion":"apps/v1","kind":"DaemonSet","name":"agent","uid":"u","controller":true}]`), "daemonset/agent", true},
		{"a Job's pod", "/Pod", pod(`{}`, `[{"apiVersion":"batch/v1","kind":"Job","name":"backup-29430000","uid":"u","controller":true}]`), "job/backup-29430000", true},
		{"a ReplicationController's pod", "/Pod", pod(`{}`, `[{"apiVersion":"v1","kind":"ReplicationController","name":"rc","uid":"u","controller":true}]`), "replicationcontroller/rc", true},
		{"a ReplicaSet of a Deployment", "apps/ReplicaSet", []byte(`{"metadata":{"name":"web-7d4b9c6f8d","ownerReferences":[{"apiVersion":"apps/v1","kind":"Deployment","name":"web","uid":"u","controller":true}]}}`), "deployment/web", true},
		{"a Job of a CronJob", "batch/Job", []byte(`{"metadata":{"name":"backup-29430000","ownerReferences":[{"apiVersion":"batch/v1","kind":"CronJob","name":"backup","uid":"u","controller":true}]}}`), "cronjob/backup", true},
		{"a Deployment", "apps/Deployment", []byte(`{"metadata":{"name":"web"},"spec":{"replicas":2}}`), "deployment/web", false},
		{"a pod with no owner", "/Pod", []byte(`{"metadata":{"name":"debug"}}`), "pod/debug", false},
		{"a pod with no name yet", "/Pod", []byte(`{"metadata":{"generateName":"job-"}}`), "pod/job", false},
		{"an owner that is not the controller", "/Pod", pod(hash, `[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-7d4b9c6f8d","uid":"u"}]`), "pod/p", false},
		{"two controllers", "/Pod", pod(hash, `[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"a-7d4b9c6f8d","uid":"u","controller":true},{"apiVersion":"apps/v1","kind":"StatefulSet","name":"b","uid":"v","controller":true}]`), "pod/p", false},
		{"a custom controller", "/Pod", pod(hash, `[{"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","name":"web","uid":"u","controller":true}]`), "pod/p", false},
		{"a ReplicaSet of another group", "/Pod", pod(hash, `[{"apiVersion":"extensions.example/v1","kind":"ReplicaSet","name":"web-7d4b9c6f8d","uid":"u","controller":true}]`), "pod/p", false},
		{"a hostile owner name", "/Pod", pod(hash, `[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"../../x\n-7d4b9c6f8d","uid":"u","controller":true}]`), "pod/p", false},
		{"an owner name too long", "/Pod", pod(`{}`, `[{"apiVersion":"apps/v1","kind":"StatefulSet","name":"`+strings.Repeat("a", 300)+`","uid":"u","controller":true}]`), "pod/p", false},
		{"a ReplicaSet owning a ReplicaSet", "apps/ReplicaSet", []byte(`{"metadata":{"name":"x","ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"y","uid":"u","controller":true}]}}`), "replicaset/x", false},
		{"not JSON", "/Pod", []byte(`{{`), "pod/fallback", false},
	} {
		w := k8s.WorkloadOf(c.kind, c.raw, "fallback")
		if w.Name != c.want || w.Owned != c.owned {
			t.Errorf("%s: %q owned=%v; want %q owned=%v", c.what, w.Name, w.Owned, c.want, c.owned)
		}
	}
}

// reports is a bulwark server stand-in that records the deployment
// reports it receives, decoded as the server does.
type reports struct {
	mu  sync.Mutex
	got []string
}

func (r *reports) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	rep, err := deployment.Decode(b, time.Now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range rep.Deployments {
		s := d.String()
		if d.GoneAt != nil {
			s += " gone"
		} else {
			s += "@" + d.Digest[7:11]
		}
		r.got = append(r.got, s)
	}
}

// list waits until n reports arrived (or a second passed) and returns
// them sorted.
func (r *reports) list(n int) []string {
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		r.mu.Lock()
		k := len(r.got)
		r.mu.Unlock()
		if k >= n {
			break
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := append([]string(nil), r.got...)
	r.got = nil
	sort.Strings(out)
	return out
}

// The webhook reports a Deployment's pod as the Deployment, its DELETE as
// gone, its scale to zero as gone, and neither the DELETE of one of its
// pods nor a dry run; every request is allowed.
func TestReportsWorkloads(t *testing.T) {
	rec := &reports{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	pol, err := admission.ParsePolicy([]byte("registries: [\"127.0.0.1:5000\"]\nreport:\n  url: " + srv.URL + "\n  cluster: prod\n"))
	if err != nil {
		t.Fatal(err)
	}
	dec, err := admission.New(context.Background(), pol, admission.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := httptest.NewServer(k8s.NewHandler(dec, slog.New(slog.NewTextHandler(io.Discard, nil))))
	defer h.Close()
	send := func(file string, edit func(string) string) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		body := string(b)
		if edit != nil {
			body = edit(body)
		}
		resp, err := http.Post(h.URL+"/validate", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var rv admissionv1.AdmissionReview
		if err := json.NewDecoder(resp.Body).Decode(&rv); err != nil || rv.Response == nil || !rv.Response.Allowed {
			t.Fatalf("%s: %d %+v %v; want allowed", file, resp.StatusCode, rv.Response, err)
		}
	}
	for _, c := range []struct {
		file string
		edit func(string) string
		want string
	}{
		{"create-pod-of-deployment.json", nil, "[kubernetes/prod/shop/deployment/web@4a3d]"},
		{"delete-pod-of-deployment.json", nil, "[]"},
		{"delete-deployment.json", nil, "[kubernetes/prod/shop/deployment/web gone]"},
		{"delete-deployment.json", func(s string) string { return strings.Replace(s, `"dryRun": false`, `"dryRun": true`, 1) }, "[]"},
		{"scale-deployment-zero.json", nil, "[kubernetes/prod/shop/deployment/web gone]"},
		{"scale-deployment-zero.json", func(s string) string { return strings.Replace(s, `"spec": {}`, `"spec": {"replicas": 2}`, 1) }, "[]"},
		// An API server that sends no oldObject: the request's name.
		{"delete-deployment.json", func(s string) string {
			return s[:strings.Index(s, `"oldObject"`)] + `"oldObject": null, "options": null}}`
		}, "[kubernetes/prod/shop/deployment/web gone]"},
		// A pod without an owner, deleted.
		{"delete-pod-of-deployment.json", func(s string) string { return strings.Replace(s, `"controller": true`, `"controller": false`, 1) }, "[kubernetes/prod/shop/pod/web-7d4b9c6f8d-x2k9p gone]"},
		// A Deployment updated to zero replicas: gone, not running.
		{"delete-deployment.json", func(s string) string {
			s = strings.Replace(s, `"operation": "DELETE"`, `"operation": "UPDATE"`, 1)
			s = strings.Replace(s, `"object": null,`, "", 1)
			s = strings.Replace(s, `"oldObject"`, `"object"`, 1)
			return strings.Replace(s, `"replicas": 3,`, `"replicas": 0,`, 1)
		}, "[kubernetes/prod/shop/deployment/web gone]"},
	} {
		send(c.file, c.edit)
		n := strings.Count(c.want, "kubernetes/")
		if got := fmtList(rec.list(max(n, 1))); got != c.want {
			t.Errorf("%s: reported %s, want %s", c.file, got, c.want)
		}
	}
}

func fmtList(s []string) string { return "[" + strings.Join(s, " ") + "]" }

// deploy/kubernetes/reconcile.jq names each pod of a `kubectl get pods -o
// json` list as WorkloadOf does (a reconciler's complete report must
// match the webhook's names, or it would mark running workloads gone),
// leaves out finished pods, and makes a report the server accepts.
func TestReconcileJQ(t *testing.T) {
	jq := testutil.RequireTool(t, "jq")
	d := func(c string) string { return "sha256:" + strings.Repeat(c, 64) }
	rs := func(name string) string {
		return `[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"` + name + `","uid":"u","controller":true}]`
	}
	hash := `{"pod-template-hash":"7d4b9c6f8d"}`
	pods := []struct{ name, labels, refs, phase, image, imageID string }{
		{"web-7d4b9c6f8d-x2k9p", hash, rs("web-7d4b9c6f8d"), "Running", "r/web:1", "docker-pullable://r/web@" + d("a")},
		{"web-7d4b9c6f8d-q8w4z", hash, rs("web-7d4b9c6f8d"), "Pending", "r/web@" + d("a"), ""},
		{"bare-abcde", `{}`, rs("bare"), "Running", "r/x@" + d("b"), "r/x@" + d("b")},
		{"odd-hash", `{"pod-template-hash":"zz"}`, rs("web-7d4b9c6f8d"), "Running", "r/x@" + d("b"), ""},
		{"db-0", `{}`, `[{"apiVersion":"apps/v1","kind":"StatefulSet","name":"db","uid":"u","controller":true}]`, "Running", "r/db@" + d("c"), ""},
		{"backup-29430000-7x2lq", `{}`, `[{"apiVersion":"batch/v1","kind":"Job","name":"backup-29430000","uid":"u","controller":true}]`, "Running", "r/b@" + d("d"), ""},
		{"done-29430000-k2j4m", `{}`, `[{"apiVersion":"batch/v1","kind":"Job","name":"done-29430000","uid":"u","controller":true}]`, "Succeeded", "r/b@" + d("e"), ""},
		{"debug", `{}`, `[]`, "Running", "r/dbg@" + d("f"), ""},
		{"rollout-abc", hash, `[{"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","name":"web","uid":"u","controller":true}]`, "Running", "r/x@" + d("1"), ""},
		{"two", hash, `[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"a-7d4b9c6f8d","uid":"u","controller":true},{"apiVersion":"apps/v1","kind":"DaemonSet","name":"b","uid":"v","controller":true}]`, "Running", "r/x@" + d("2"), ""},
		{"hostile", hash, rs(`../x\n-7d4b9c6f8d`), "Running", "r/x@" + d("3"), ""},
		{"tag-only-not-started", `{}`, `[]`, "Pending", "r/x:latest", ""},
	}
	var items []string
	want := map[string]bool{}
	for _, p := range pods {
		obj := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"` + p.name + `","namespace":"shop","labels":` + p.labels + `,"ownerReferences":` + p.refs + `},` +
			`"spec":{"containers":[{"name":"c","image":"` + p.image + `"}]},"status":{"phase":"` + p.phase + `","containerStatuses":[{"name":"c","image":"` + p.image + `","imageID":"` + p.imageID + `"}]}}`
		items = append(items, obj)
		if p.phase == "Succeeded" || !strings.Contains(p.image+p.imageID, "@sha256:") {
			continue
		}
		dg := p.imageID
		if dg == "" {
			dg = p.image
		}
		want[k8s.WorkloadOf("/Pod", []byte(obj), "").Name+" "+dg[strings.Index(dg, "@")+1:]] = true
	}
	cmd := exec.Command(jq, "-f", "../../../deploy/kubernetes/reconcile.jq", "--arg", "cluster", "prod", "--arg", "namespace", "shop", "--arg", "at", "2026-12-07T04:00:00Z")
	cmd.Stdin = strings.NewReader(`{"apiVersion":"v1","kind":"List","items":[` + strings.Join(items, ",") + `]}`)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("jq: %v", err)
	}
	rep, err := deployment.Decode(out, time.Now())
	if err != nil {
		t.Fatalf("the server refuses the report: %v\n%s", err, out)
	}
	if c := rep.Complete; c == nil || c.Platform != deployment.Kubernetes || c.Cluster != "prod" || c.Namespace != "shop" || c.At.Format(time.RFC3339) != "2026-12-07T04:00:00Z" {
		t.Errorf("scope %+v", rep.Complete)
	}
	got := map[string]bool{}
	for _, d := range rep.Deployments {
		got[d.Name+" "+d.Digest] = true
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("reconcile.jq reports\n%v\nwant (WorkloadOf)\n%v", got, want)
	}
	if !want["deployment/web "+d("a")] || len(want) != 9 {
		t.Errorf("the expected names themselves are off: %v", want)
	}
}
