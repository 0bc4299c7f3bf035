package deployment

import (
	"strings"
	"testing"
	"time"
)

func TestDecode(t *testing.T) {
	now := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	d := "sha256:" + strings.Repeat("0", 64)
	rep, err := Decode([]byte(`{"deployments":[{"platform":"ecs","cluster":"prod","name":"api","digest":"`+d+`","seenAt":"2026-12-07T01:00:00Z"},
		{"platform":"kubernetes","cluster":"c","namespace":"ns","name":"pod/x","digest":"`+d+`","seenAt":"2027-01-01T00:00:00Z"},
		{"platform":"kubernetes","cluster":"c","namespace":"ns","name":"pod/y","goneAt":"2027-01-01T00:00:00Z"}]}`), now)
	if err != nil {
		t.Fatal(err)
	}
	ds := rep.Deployments
	if rep.Complete != nil || ds[2].GoneAt == nil || !ds[2].GoneAt.Equal(now) || ds[0].GoneAt != nil {
		t.Errorf("complete %v goneAt %v, %v: want no scope, pod/y gone now (not in the future), api running", rep.Complete, ds[2].GoneAt, ds[0].GoneAt)
	}
	if !ds[0].SeenAt.Equal(now.Add(-time.Hour)) || !ds[1].SeenAt.Equal(now) {
		t.Errorf("seenAt %v, %v: want an hour ago and now (not the future)", ds[0].SeenAt, ds[1].SeenAt)
	}
	if ds[1].String() != "kubernetes/c/ns/pod/x" || ds[0].String() != "ecs/prod/api" {
		t.Errorf("names %s, %s", ds[0], ds[1])
	}
	for _, c := range []struct{ in, want string }{
		{`[{"platform":"ecs","cluster":"","name":"a","digest":"` + d + `"}]`, "deployments[0]: cluster: missing"},
		{`[{"platform":"ecs","cluster":"c","name":"a\nb","digest":"` + d + `"}]`, "deployments[0]: name"},
		{`[{"platform":"ecs","cluster":"c","name":"` + strings.Repeat("x", 300) + `","digest":"` + d + `"}]`, "at most 253"},
		{`[{"platform":"ecs","cluster":"c","name":"a","digest":"SHA256:` + strings.Repeat("0", 64) + `"}]`, "digest"},
		{`[` + strings.Repeat(`{"platform":"ecs","cluster":"c","name":"a","digest":"`+d+`"},`, MaxReport) + `{}]`, "more than the 1000"},
		{`{"deployments": 3}`, "not a deployment report"},
		{`[{"platform":"ecs","cluster":"c","name":"a"}]`, "deployments[0]: digest"},
		{`{"complete":{"platform":"k8s","cluster":"c"}}`, "complete: platform"},
		{`{"complete":{"platform":"ecs","cluster":"c","namespace":"n"}}`, "complete: namespace"},
		{`{"complete":{"platform":"kubernetes","cluster":"c","namespace":"n"},"deployments":[{"platform":"kubernetes","cluster":"c","namespace":"m","name":"a","digest":"` + d + `"}]}`, "deployments[0]: kubernetes/c/m/a is not a running deployment of the complete report's scope kubernetes/c/n"},
		{`{"complete":{"platform":"ecs","cluster":"c"},"deployments":[{"platform":"ecs","cluster":"c","name":"a","goneAt":"2026-01-01T00:00:00Z"}]}`, "is not a running deployment"},
		{`{"complete":{"platform":"kubernetes","cluster":"c","namespace":"n","name":"deployment/web"},"deployments":[{"platform":"kubernetes","cluster":"c","namespace":"n","name":"deployment/api","digest":"` + d + `"}]}`, "kubernetes/c/n/deployment/api is not a running deployment of the complete report's scope kubernetes/c/n/deployment/web"},
		{`{"complete":{"platform":"kubernetes","cluster":"c","name":"deployment/web"}}`, "complete: name: a Kubernetes workload's scope needs its namespace"},
		{`{"complete":{"platform":"kubernetes","cluster":"c","namespace":"n","name":"a\nb"}}`, "complete: name"},
		{``, "not a deployment report"},
	} {
		if _, err := Decode([]byte(c.in), now); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%.60s: %v, want %q", c.in, err, c.want)
		}
	}
}

// A complete report may be empty (nothing runs in its scope); its
// deployments are seen at the snapshot's time, and a future one is now.
func TestDecodeComplete(t *testing.T) {
	now := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	d := "sha256:" + strings.Repeat("0", 64)
	rep, err := Decode([]byte(`{"complete":{"platform":"ecs","cluster":"prod","at":"2026-12-07T01:00:00Z"},"deployments":[{"platform":"ecs","cluster":"prod","name":"api","digest":"`+d+`","seenAt":"2026-12-06T00:00:00Z"}]}`), now)
	if err != nil {
		t.Fatal(err)
	}
	if c := rep.Complete; c == nil || !c.At.Equal(now.Add(-time.Hour)) || !rep.Deployments[0].SeenAt.Equal(c.At) {
		t.Errorf("complete %+v, seenAt %v: want at an hour ago, the deployment seen then", c, rep.Deployments[0].SeenAt)
	}
	rep, err = Decode([]byte(`{"complete":{"platform":"kubernetes","cluster":"prod","namespace":"shop","at":"2099-01-01T00:00:00Z"}}`), now)
	if err != nil || len(rep.Deployments) != 0 || !rep.Complete.At.Equal(now) {
		t.Errorf("empty complete report: %+v, %v; want no deployment at now", rep, err)
	}
}

// FuzzDecode: any body is a report or an error, never a panic, and a
// report's deployments all pass Check.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"deployments":[{"platform":"ecs","cluster":"prod","name":"api","digest":"sha256:` + strings.Repeat("a", 64) + `"}]}`))
	f.Add([]byte(`[{"platform":"kubernetes","cluster":"c","namespace":"n","name":"x","digest":"sha256:1","seenAt":"2026-01-01T00:00:00Z"}]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"complete":{"platform":"kubernetes","cluster":"c","namespace":"n","at":"2026-01-01T00:00:00Z"},"deployments":[{"platform":"kubernetes","cluster":"c","namespace":"n","name":"x","digest":"sha256:` + strings.Repeat("b", 64) + `"}]}`))
	f.Add([]byte(`[{"platform":"ecs","cluster":"c","name":"x","goneAt":"2030-01-01T00:00:00Z"}]`))
	now := time.Now()
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := Decode(b, now)
		if err != nil {
			return
		}
		ds, c := rep.Deployments, rep.Complete
		if c != nil && c.At.After(now) {
			t.Fatalf("complete report in the future: %+v", c)
		}
		for i := range ds {
			if ds[i].Check() != nil || ds[i].SeenAt.After(now) || (ds[i].GoneAt != nil && ds[i].GoneAt.After(now)) {
				t.Fatalf("decoded a bad deployment %+v", ds[i])
			}
			if c != nil && (!c.Contains(&ds[i]) || ds[i].GoneAt != nil) {
				t.Fatalf("complete report %+v holds %+v", c, ds[i])
			}
		}
	})
}
