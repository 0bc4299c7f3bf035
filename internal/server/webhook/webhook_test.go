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
	f.Add([]byte(`{"events":[]}`))
	f.Add([]byte(`{"events":[{"action":"push","target":{"mediaType":"application/vnd.oci.image.index.v1+json"}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := Decode(strings.NewReader(string(b)))
		if err != nil {
			return
		}
		for _, p := range ps {
			if !digestRe.MatchString(p.Digest) || !repoRe.MatchString(p.Repository) || !hostRe.MatchString(p.Registry) {
				t.Fatalf("accepted a malformed push %+v", p)
			}
		}
	})
}
