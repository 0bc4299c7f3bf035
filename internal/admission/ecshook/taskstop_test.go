package ecshook_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/admission/ecshook"
	"github.com/bulwark-sec/bulwark/internal/deployment"
)

// A stopped task of a service reports the digests no other task of the
// service runs as gone, at the time the task stopped: none while another
// task runs the digest, the last one's when the service is scaled to zero.
// A running task, a task of no service and an event that is not an ECS
// task state change report nothing; when ECS cannot say what still runs,
// nothing is reported either.
func TestTaskStopped(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rep, err := deployment.Decode(b, time.Now())
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, d := range rep.Deployments {
			if d.GoneAt == nil {
				t.Errorf("reported running: %+v", d)
				continue
			}
			got = append(got, d.String()+"@"+d.Digest[7:11]+" "+d.GoneAt.Format(time.RFC3339Nano))
		}
	}))
	defer srv.Close()
	startECS(t, nil, nil)
	h := newHook(t, "registries: [public.ecr.aws]\nreport:\n  url: "+srv.URL+"\n")
	sample, err := os.ReadFile("testdata/task-stopped.json")
	if err != nil {
		t.Fatal(err)
	}
	app, router := "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "sha256:60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"
	const stopped = "arn:aws:ecs:us-east-1:111122223333:task/prod/b99d40b3a5b04e9b8f3c2e1d0a9b8c7d"
	run := func(what string, ev []byte, tasks map[string]serviceTask, wantGone int, wantErr string, want ...string) {
		t.Helper()
		serviceTasks = tasks
		mu.Lock()
		got = nil
		mu.Unlock()
		out, err := h.Invoke(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		var r ecshook.TaskResult
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("%s: answer %s: %v", what, out, err)
		}
		if r.Gone != wantGone || !strings.Contains(r.Error, wantErr) || (wantErr == "") != (r.Error == "") {
			t.Errorf("%s: %+v; want %d gone, error %q", what, r, wantGone, wantErr)
		}
		mu.Lock()
		sort.Strings(got)
		g := strings.Join(got, " | ")
		mu.Unlock()
		if w := strings.Join(want, " | "); g != w {
			t.Errorf("%s: reported %q, want %q", what, g, w)
		}
	}
	at := "2026-12-07T03:41:06.932Z"
	// The stopped task itself is still listed (ECS lists it until it is
	// gone): it must not count.
	run("another task runs the app", sample, map[string]serviceTask{stopped: {"api", []string{app, router}}, "t2": {"api", []string{app}}, "t3": {"other", []string{router}}}, 1, "",
		"ecs/prod/api@6030 "+at)
	run("scaled to zero", sample, map[string]serviceTask{}, 2, "", "ecs/prod/api@6030 "+at, "ecs/prod/api@9f86 "+at)
	run("a task that runs", []byte(strings.Replace(string(sample), `"lastStatus": "STOPPED",
    "memory"`, `"lastStatus": "RUNNING",
    "memory"`, 1)), nil, 0, "")
	run("a task of no service", []byte(strings.Replace(string(sample), `"service:api"`, `"family:api"`, 1)), nil, 0, "")
	run("ECS cannot say", []byte(strings.ReplaceAll(string(sample), "cluster/prod", "cluster/gone")), nil, 0, "ListTasks arn:aws:ecs:us-east-1:111122223333:cluster/gone api")
	run("another detail-type", []byte(strings.Replace(string(sample), TaskStateChangeQuoted, `"ECS Service Action"`, 1)), nil, 0, `detail-type "ECS Service Action"`)
	run("a hostile cluster ARN", []byte(strings.Replace(string(sample), `"arn:aws:ecs:us-east-1:111122223333:cluster/prod"`, `"arn:aws:ecs:us-east-1:111122223333:cluster/../x"`, 1)), nil, 0, "not an ECS cluster ARN")
	run("a detail that is not an object", []byte(`{"detail-type":"ECS Task State Change","source":"aws.ecs","detail":[]}`), nil, 0, "the EventBridge event is not a JSON object")
}

// TaskStateChangeQuoted is the detail-type as the sample writes it.
const TaskStateChangeQuoted = `"ECS Task State Change"`

// FuzzParseTaskEvent: any payload is a task event or an error, never a
// panic, and a parsed one names an ECS cluster ARN.
func FuzzParseTaskEvent(f *testing.F) {
	sample, err := os.ReadFile("testdata/task-stopped.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample)
	f.Add([]byte(`{"detail-type":"ECS Task State Change","source":"aws.ecs","detail":{"clusterArn":"arn:aws:ecs:us-east-1:111122223333:cluster/c","group":"service:s","lastStatus":"STOPPED","containers":[{"imageDigest":"sha256:1"}]}}`))
	f.Add([]byte(`{"detail-type":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := ecshook.ParseTaskEvent(b)
		if err != nil {
			return
		}
		if !strings.HasPrefix(ev.Detail.ClusterArn, "arn:") || !strings.Contains(ev.Detail.ClusterArn, ":cluster/") || ev.DetailType != ecshook.TaskStateChange {
			t.Fatalf("parsed %+v", ev)
		}
	})
}
