package ecshook_test

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
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/bulwark-sec/bulwark/internal/admission"
	"github.com/bulwark-sec/bulwark/internal/admission/admtest"
	"github.com/bulwark-sec/bulwark/internal/admission/ecshook"
	"github.com/bulwark-sec/bulwark/internal/cli"
)

const region = "us-east-1"

// revision is a service revision as the fake ECS serves it.
type revision struct {
	taskDef string
	images  []map[string]string
}

// startECS serves the ECS JSON API (awsJson1.1) on 127.0.0.1 for the two
// calls the hook makes, and points the AWS SDK at it. Revisions are keyed
// by the last part of their ARN.
func startECS(t *testing.T, revs map[string]revision, taskDefs map[string][]string) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		switch r.Header.Get("X-Amz-Target") {
		case "AmazonEC2ContainerServiceV20141113.DescribeServiceRevisions":
			var in struct{ ServiceRevisionArns []string }
			_ = json.Unmarshal(body, &in)
			out := map[string]any{"serviceRevisions": []any{}, "failures": []any{}}
			for _, arn := range in.ServiceRevisionArns {
				rev, ok := revs[arn[strings.LastIndex(arn, "/")+1:]]
				if !ok {
					out["failures"] = append(out["failures"].([]any), map[string]string{"arn": arn, "reason": "MISSING"})
					continue
				}
				out["serviceRevisions"] = append(out["serviceRevisions"].([]any), map[string]any{"serviceRevisionArn": arn, "taskDefinition": rev.taskDef, "containerImages": rev.images})
			}
			_ = json.NewEncoder(w).Encode(out)
		case "AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition":
			var in struct{ TaskDefinition string }
			_ = json.Unmarshal(body, &in)
			imgs, ok := taskDefs[in.TaskDefinition]
			if !ok {
				w.WriteHeader(400)
				_, _ = io.WriteString(w, `{"__type":"ClientException","message":"Unable to describe task definition."}`)
				return
			}
			var cds []map[string]string
			for i, img := range imgs {
				cds = append(cds, map[string]string{"name": fmt.Sprintf("c%d", i), "image": img})
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"taskDefinition": map[string]any{"taskDefinitionArn": in.TaskDefinition, "containerDefinitions": cds}})
		case "AmazonEC2ContainerServiceV20141113.ListTasks":
			var in struct{ Cluster, ServiceName, DesiredStatus string }
			_ = json.Unmarshal(body, &in)
			if in.Cluster != "arn:aws:ecs:us-east-1:111122223333:cluster/prod" || in.DesiredStatus != "RUNNING" {
				w.WriteHeader(400)
				_, _ = io.WriteString(w, `{"__type":"ClusterNotFoundException","message":"Cluster not found."}`)
				return
			}
			arns := []string{}
			for arn, svc := range serviceTasks {
				if svc.service == in.ServiceName {
					arns = append(arns, arn)
				}
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"taskArns": arns})
		case "AmazonEC2ContainerServiceV20141113.DescribeTasks":
			var in struct{ Tasks []string }
			_ = json.Unmarshal(body, &in)
			tasks := []any{}
			for _, arn := range in.Tasks {
				var cs []map[string]string
				for _, d := range serviceTasks[arn].digests {
					cs = append(cs, map[string]string{"name": "c", "imageDigest": d, "lastStatus": "RUNNING"})
				}
				tasks = append(tasks, map[string]any{"taskArn": arn, "lastStatus": "RUNNING", "containers": cs})
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"tasks": tasks, "failures": []any{}})
		default:
			w.WriteHeader(400)
			_, _ = io.WriteString(w, `{"__type":"UnknownOperationException"}`)
		}
	}))
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ENDPOINT_URL_ECS", srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", region)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CA_BUNDLE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
}

// serviceTasks are the tasks the fake ECS runs, by ARN.
var serviceTasks map[string]serviceTask

type serviceTask struct {
	service string
	digests []string
}

func revARN(id string) string {
	return "arn:aws:ecs:us-east-1:111122223333:service-revision/prod/web/" + id
}

// event is a lifecycle hook event in the documented shape.
func event(id string, hookDetails string) []byte {
	if hookDetails == "" {
		hookDetails = "null"
	}
	return fmt.Appendf(nil, `{"executionDetails":{"testTrafficWeights":{},"productionTrafficWeights":{},
"serviceArn":"arn:aws:ecs:us-east-1:111122223333:service/prod/web","targetServiceRevisionArn":%q},
"executionId":"a1b2c3","lifecycleStage":"PRE_SCALE_UP",
"resourceArn":"arn:aws:ecs:us-east-1:111122223333:service-deployment/prod/web/x","hookDetails":%s}`, revARN(id), hookDetails)
}

func digestOf(ref string) string { return ref[strings.Index(ref, "@")+1:] }

func newHook(t *testing.T, policy string) *ecshook.Hook {
	t.Helper()
	pol, err := admission.ParsePolicy([]byte(policy))
	if err != nil {
		t.Fatal(err)
	}
	dec, err := admission.New(context.Background(), pol, admission.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ecshook.New(dec, ecs.NewFromConfig(cfg), slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func invoke(t *testing.T, h *ecshook.Hook, ctx context.Context, ev []byte) ecshook.Response {
	t.Helper()
	out, err := h.Invoke(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	var r ecshook.Response
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatal(err)
	}
	if r.HookDetails == nil || r.HookDetails.Decision == "" {
		t.Fatalf("the answer carries no reason: %s", out)
	}
	return r
}

func TestHook(t *testing.T) {
	f := admtest.New(t)
	img := func(ref string) []map[string]string {
		repo := ref[:strings.Index(ref, "@")]
		return []map[string]string{{"containerName": "app", "image": repo + ":v1", "imageDigest": digestOf(ref)}}
	}
	startECS(t, map[string]revision{
		"signed":   {taskDef: "td-signed", images: img(f.Signed)},
		"unsigned": {taskDef: "td-unsigned", images: img(f.Unsigned)},
		"wrongkey": {taskDef: "td-x", images: img(f.WrongKey)},
		"critical": {taskDef: "arn:aws:ecs:us-east-1:111122223333:task-definition/critical:3"},
		"tdsigned": {taskDef: "arn:aws:ecs:us-east-1:111122223333:task-definition/signed:1"},
		"nodef":    {taskDef: "arn:aws:ecs:us-east-1:111122223333:task-definition/gone:1"},
		"foreign":  {images: []map[string]string{{"containerName": "app", "image": "public.ecr.aws/nginx/nginx:1", "imageDigest": "sha256:" + strings.Repeat("b", 64)}}},
	}, map[string][]string{
		"arn:aws:ecs:us-east-1:111122223333:task-definition/critical:3": {f.Host + "/team/critical:v1"},
		"arn:aws:ecs:us-east-1:111122223333:task-definition/signed:1":   {f.SignedTag, f.Signed},
	})
	h := newHook(t, f.StrictPolicy())
	ctx := context.Background()
	for _, tc := range []struct {
		id, status, want string
	}{
		{"signed", ecshook.Succeeded, "signed by"},
		{"tdsigned", ecshook.Succeeded, "vuln attestation"},
		{"unsigned", ecshook.Failed, "no signature found"},
		{"wrongkey", ecshook.Failed, "none verifies with key"},
		{"critical", ecshook.Failed, "CVE-9 (CRITICAL"},
		{"foreign", ecshook.Failed, "registry public.ecr.aws is not allowed"},
		{"missing", ecshook.Failed, "MISSING"},
		{"nodef", ecshook.Failed, "Unable to describe task definition"},
	} {
		t.Run(tc.id, func(t *testing.T) {
			r := invoke(t, h, ctx, event(tc.id, ""))
			if r.HookStatus != tc.status || !strings.Contains(r.HookDetails.Decision, tc.want) {
				t.Fatalf("%s %q, want %s with %q", r.HookStatus, r.HookDetails.Decision, tc.status, tc.want)
			}
			if !strings.Contains(r.HookDetails.Decision, "onError=deny (fail-closed)") {
				t.Fatalf("the decision does not state onError: %s", r.HookDetails.Decision)
			}
		})
	}

	// Less time left than the hook needs: IN_PROGRESS, then the next call
	// decides; after MaxAttempts the policy's onError decides.
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	r := invoke(t, h, short, event("tdsigned", ""))
	if r.HookStatus != ecshook.InProgress || r.CallBackDelay == 0 || r.HookDetails.Attempt != 1 {
		t.Fatalf("short deadline: %+v", r)
	}
	next, _ := json.Marshal(r.HookDetails)
	if r := invoke(t, h, ctx, event("tdsigned", string(next))); r.HookStatus != ecshook.Succeeded {
		t.Fatalf("the next call: %+v", r)
	}
	short2, cancel2 := context.WithTimeout(ctx, time.Second)
	defer cancel2()
	r = invoke(t, h, short2, event("wrongkey", fmt.Sprintf(`{"bulwarkAttempt":%d}`, ecshook.MaxAttempts-1)))
	if r.HookStatus != ecshook.Failed || !strings.Contains(r.HookDetails.Decision, "fail-closed") {
		t.Fatalf("attempts exhausted: %+v", r)
	}

	// A fail-open policy lets an undecidable revision through and says so.
	open := newHook(t, f.StrictPolicy()+"onError: allow\n")
	f.Stop()
	if r := invoke(t, open, ctx, event("wrongkey", "")); r.HookStatus != ecshook.Succeeded || !strings.Contains(r.HookDetails.Decision, "onError=allow (fail-open)") {
		t.Fatalf("fail-open with the registry down: %+v", r.HookDetails)
	}
	if r := invoke(t, h, ctx, event("wrongkey", "")); r.HookStatus != ecshook.Failed {
		t.Fatalf("a cached denial was lost with the registry down: %+v", r.HookDetails)
	}
}

func TestBadEvents(t *testing.T) {
	startECS(t, nil, nil)
	h := newHook(t, "registries: [r.example.com]\n")
	for _, tc := range []struct{ ev, want string }{
		{`not json`, "not a JSON object"},
		{`{}`, "no targetServiceRevisionArn"},
		{`{"executionDetails":{"serviceArn":"x"}}`, "no targetServiceRevisionArn"},
		{`{"targetServiceRevisionArn":"web"}`, "not a service revision ARN"},
		{`{"targetServiceRevisionArn":42}`, "not a JSON object"},
		{`{"executionDetails":{"targetServiceRevisionArn":"` + revARN("a") + `"},"targetServiceRevisionArn":"` + revARN("b") + `"}`, "two target"},
		{`{"targetServiceRevisionArn":"` + revARN("a") + `"} {}`, "data after"},
		{strings.Repeat(" ", ecshook.MaxEvent+1), "more than"},
	} {
		r := invoke(t, h, context.Background(), []byte(tc.ev))
		if r.HookStatus != ecshook.Failed || !strings.Contains(r.HookDetails.Decision, tc.want) {
			t.Errorf("%.40q: %s %q, want FAILED with %q", tc.ev, r.HookStatus, r.HookDetails.Decision, tc.want)
		}
	}
}

// TestCLIEvent runs bulwark ecs-hook --event as a user would, with the
// policy in BULWARK_POLICY as on Lambda.
func TestCLIEvent(t *testing.T) {
	f := admtest.New(t)
	startECS(t, map[string]revision{
		"signed":   {images: []map[string]string{{"containerName": "app", "image": f.Signed}}},
		"unsigned": {images: []map[string]string{{"containerName": "app", "image": f.Unsigned}}},
	}, nil)
	t.Setenv("BULWARK_POLICY", f.WritePolicy(t, f.StrictPolicy()))
	dir := t.TempDir()
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := cli.Execute(context.Background(), args, &out, &errb)
		return code, out.String(), errb.String()
	}
	for id, want := range map[string]int{"signed": 0, "unsigned": 1} {
		p := filepath.Join(dir, id+".json")
		if err := os.WriteFile(p, event(id, ""), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out, stderr := run("ecs-hook", "--event", p)
		var r ecshook.Response
		if code != want || json.Unmarshal([]byte(out), &r) != nil {
			t.Fatalf("%s: exit %d (want %d)\n%s\n%s", id, code, want, out, stderr)
		}
		if !strings.Contains(stderr, `"status":"`+r.HookStatus+`"`) {
			t.Fatalf("%s: no log line with the status on stderr:\n%s", id, stderr)
		}
	}
	bad := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(bad, []byte(`{"serviceArn":"x"}`), 0o644)
	if code, _, stderr := run("ecs-hook", "--event", bad); code != 2 || !strings.Contains(stderr, "bad.json") {
		t.Fatalf("bad event: exit %d %s", code, stderr)
	}
	if code, _, stderr := run("ecs-hook"); code != 2 || !strings.Contains(stderr, "AWS_LAMBDA_RUNTIME_API") {
		t.Fatalf("outside Lambda: exit %d %s", code, stderr)
	}
}

func FuzzEvent(f *testing.F) {
	f.Add(event("x", ""))
	f.Add(event("x", `{"bulwarkAttempt":3}`))
	f.Add([]byte(`{"targetServiceRevisionArn":"arn:aws:ecs:r:1:service-revision/c/s/1","hookDetails":[1]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := ecshook.ParseEvent(b)
		if err == nil && !strings.Contains(ev.TargetServiceRevisionArn, ":service-revision/") {
			t.Fatalf("accepted %q", ev.TargetServiceRevisionArn)
		}
	})
}

// An allowed revision is reported to bulwark server (the service's
// cluster and name, each digest) before the answer; a server that fails
// the report changes nothing of the answer.
func TestReport(t *testing.T) {
	d := "sha256:" + strings.Repeat("b", 64)
	startECS(t, map[string]revision{
		"ok": {images: []map[string]string{{"containerName": "app", "image": "public.ecr.aws/nginx/nginx:1", "imageDigest": d}}},
	}, nil)
	var got []string
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got = append(got, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization")+" "+string(body))
		w.WriteHeader(status)
	}))
	defer srv.Close()
	h := newHook(t, "registries: [public.ecr.aws]\nreport:\n  url: "+srv.URL+"\n  token: t0k\n")
	for _, st := range []int{http.StatusOK, http.StatusInternalServerError} {
		status, got = st, nil
		if r := invoke(t, h, context.Background(), event("ok", "")); r.HookStatus != ecshook.Succeeded {
			t.Fatalf("report answered %d: %+v", st, r)
		}
		if len(got) != 1 || !strings.HasPrefix(got[0], "POST /api/v1/deployments Bearer t0k {\"deployments\":[{\"platform\":\"ecs\",\"cluster\":\"prod\",\"name\":\"web\",\"digest\":\""+d+"\"") {
			t.Errorf("reported %q", got)
		}
	}
}
