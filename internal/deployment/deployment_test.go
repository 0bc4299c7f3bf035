package deployment

import (
	"strings"
	"testing"
	"time"
)

func TestDecode(t *testing.T) {
	now := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	d := "sha256:" + strings.Repeat("0", 64)
	ds, err := Decode([]byte(`{"deployments":[{"platform":"ecs","cluster":"prod","name":"api","digest":"`+d+`","seenAt":"2026-12-07T01:00:00Z"},
		{"platform":"kubernetes","cluster":"c","namespace":"ns","name":"pod/x","digest":"`+d+`","seenAt":"2027-01-01T00:00:00Z"}]}`), now)
	if err != nil {
		t.Fatal(err)
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
		{``, "not a deployment report"},
	} {
		if _, err := Decode([]byte(c.in), now); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%.60s: %v, want %q", c.in, err, c.want)
		}
	}
}

// FuzzDecode: any body is a report or an error, never a panic, and a
// report's deployments all pass Check.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"deployments":[{"platform":"ecs","cluster":"prod","name":"api","digest":"sha256:` + strings.Repeat("a", 64) + `"}]}`))
	f.Add([]byte(`[{"platform":"kubernetes","cluster":"c","namespace":"n","name":"x","digest":"sha256:1","seenAt":"2026-01-01T00:00:00Z"}]`))
	f.Add([]byte(`[]`))
	now := time.Now()
	f.Fuzz(func(t *testing.T, b []byte) {
		ds, err := Decode(b, now)
		if err != nil {
			return
		}
		for i := range ds {
			if ds[i].Check() != nil || ds[i].SeenAt.After(now) {
				t.Fatalf("decoded a bad deployment %+v", ds[i])
			}
		}
	})
}
