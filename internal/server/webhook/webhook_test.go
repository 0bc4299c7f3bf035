package webhook

import (
	"errors"
	"strings"
	"testing"
)

// envelope is an event as docker-registry 2.8 sends it (a manifest push
// followed by a blob push, which is skipped).
const sample = `{"events":[{"id":"6b2f","timestamp":"2026-12-06T21:00:00Z","action":"push",
"target":{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":528,
"digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","length":528,
"repository":"team/app","url":"http://127.0.0.1:5000/v2/team/app/manifests/sha256:aaaa","tag":"1.0"},
"request":{"id":"x","addr":"127.0.0.1:4000","host":"127.0.0.1:5000","method":"PUT","useragent":"go"},
"actor":{},"source":{"addr":"h:5000","instanceID":"i"}},
{"action":"push","target":{"mediaType":"application/octet-stream","digest":"sha256:bbbb","repository":"team/app"},"request":{"host":"127.0.0.1:5000"}},
{"action":"pull","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:cccc","repository":"team/app"},"request":{"host":"127.0.0.1:5000"}}]}`

func TestDecode(t *testing.T) {
	ps, err := Decode(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	want := Push{Registry: "127.0.0.1:5000", Repository: "team/app", Digest: "sha256:" + strings.Repeat("a", 64), Tag: "1.0"}
	if len(ps) != 1 || ps[0] != want {
		t.Fatalf("got %+v, want [%+v]", ps, want)
	}
}

// deletes are the events docker-registry 2.8.2 sent (captured) when a
// manifest tagged 1 and 2 was deleted by digest: the manifest first, then
// each of its tags, without a digest.
const deletes = `{"events":[{"id":"df37","timestamp":"2026-12-07T12:20:57.666699254Z","action":"delete",
"target":{"digest":"sha256:164587ec02eb43f8dea3b19ca92e591dd9b3443953eeef7099947a5eed17b741","repository":"team/app"},
"request":{"id":"f6e5","addr":"127.0.0.1:33384","host":"127.0.0.1:39343","method":"DELETE","useragent":"Go-http-client/1.1"},
"actor":{},"source":{"addr":"vm:39343","instanceID":"9a33"}},
{"id":"5b9e","timestamp":"2026-12-07T12:20:57.670032162Z","action":"delete","target":{"repository":"team/app","tag":"2"},
"request":{"id":"f6e5","addr":"127.0.0.1:33384","host":"127.0.0.1:39343","method":"DELETE","useragent":"Go-http-client/1.1"},
"actor":{},"source":{"addr":"vm:39343","instanceID":"9a33"}}]}`

func TestDecodeDeletes(t *testing.T) {
	ps, err := Decode(strings.NewReader(deletes))
	if err != nil {
		t.Fatal(err)
	}
	want := []Push{
		{Registry: "127.0.0.1:39343", Repository: "team/app", Digest: "sha256:164587ec02eb43f8dea3b19ca92e591dd9b3443953eeef7099947a5eed17b741", Delete: true},
		{Registry: "127.0.0.1:39343", Repository: "team/app", Tag: "2", Delete: true},
	}
	if len(ps) != 2 || ps[0] != want[0] || ps[1] != want[1] {
		t.Fatalf("got %+v, want %+v", ps, want)
	}
	for name, body := range map[string]string{
		"neither tag nor digest": `{"events":[{"action":"delete","target":{"repository":"a"},"request":{"host":"h"}}]}`,
		"bad digest":             `{"events":[{"action":"delete","target":{"repository":"a","digest":"sha256:zz"},"request":{"host":"h"}}]}`,
		"bad tag":                `{"events":[{"action":"delete","target":{"repository":"a","tag":"../x"},"request":{"host":"h"}}]}`,
	} {
		if _, err := Decode(strings.NewReader(body)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestDecodeHostile(t *testing.T) {
	good := strings.Repeat("a", 64)
	if _, err := Decode(strings.NewReader(`{"events":[` + strings.Repeat(" ", MaxBody) + `]}`)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("too large: %v, want ErrTooLarge", err)
	}
	for name, body := range map[string]string{
		"not json":      "hello",
		"no events":     `{}`,
		"events null":   `{"events":null}`,
		"events object": `{"events":{}}`,
		"trailing":      `{"events":[]} {}`,
		"bad digest":    `{"events":[{"action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:zz","repository":"a"},"request":{"host":"h"}}]}`,
		"bad repo":      `{"events":[{"action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:` + good + `","repository":"../etc"},"request":{"host":"h"}}]}`,
		"bad host":      `{"events":[{"action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:` + good + `","repository":"a"},"request":{"host":"h/x@y"}}]}`,
		"bad tag":       `{"events":[{"action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:` + good + `","repository":"a","tag":"-x"},"request":{"host":"h"}}]}`,
	} {
		if _, err := Decode(strings.NewReader(body)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte(deletes))
	f.Add([]byte(`{"events":[]}`))
	f.Add([]byte(`{"events":[{"action":"push","target":{"mediaType":"application/vnd.oci.image.index.v1+json"}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := Decode(strings.NewReader(string(b)))
		if err != nil {
			return
		}
		for _, p := range ps {
			tagDeleted := p.Delete && p.Digest == "" && tagRe.MatchString(p.Tag)
			if !(digestRe.MatchString(p.Digest) || tagDeleted) || !repoRe.MatchString(p.Repository) || !hostRe.MatchString(p.Registry) {
				t.Fatalf("accepted a malformed push %+v", p)
			}
		}
	})
}
