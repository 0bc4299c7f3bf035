package admission

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

func TestParsePolicy(t *testing.T) {
	p, err := ParsePolicy([]byte(`keys:
  - cosign.pub
  - awskms:///alias/release
annotations: {env: prod}
attestations:
  - type: vuln
    maxAge: 24h
    deny: {ids: [CVE-2021-44228]}
    failOn: high,kev
    onError: allow
  - type: cyclonedx
registries: [docker.io, 127.0.0.1:5000]
repositories: [127.0.0.1:5000/team/**]
requireDigest: true
timeout: 3s
cacheTTL: 1m
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Keys) != 2 || p.Annotations["env"] != "prod" || !p.RequireDigest || p.Timeout != 3*time.Second || p.CacheTTL != time.Minute {
		t.Fatalf("%+v", p)
	}
	if p.OnError != FailClosed || p.Attestations[0].OnError != FailOpen || p.Attestations[1].OnError != FailClosed {
		t.Fatalf("onError: %s %s %s", p.OnError, p.Attestations[0].OnError, p.Attestations[1].OnError)
	}
	if r := p.Attestations[0].Rules; r == nil || r.MaxAge != 24*time.Hour || r.FailOn.String() != "high,kev" || p.Attestations[1].Rules != nil {
		t.Fatalf("attestation rules %+v", p.Attestations)
	}
	if p.Registries[0] != "index.docker.io" {
		t.Fatalf("docker.io is not normalized: %v", p.Registries)
	}
	d, err := FromKeys([]string{"k.pub"})
	if err != nil || d.OnError != FailClosed || d.Timeout != DefaultTimeout || d.CacheTTL != DefaultCacheTTL {
		t.Fatalf("FromKeys: %+v %v", d, err)
	}
	if d.Version == p.Version {
		t.Fatal("two policies share a version")
	}
}

func TestLoadPolicyRelativeKeys(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(file, []byte("keys: [cosign.pub, /abs/k.pub, env://K, awskms:///alias/x]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := LoadPolicy(file)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "cosign.pub"), "/abs/k.pub", "env://K", "awskms:///alias/x"}
	if strings.Join(p.Keys, " ") != strings.Join(want, " ") {
		t.Fatalf("keys %q, want %q", p.Keys, want)
	}
	if _, err := LoadPolicy(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestParsePolicyErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"keys: [a.pub]\nfrobnicate: 1\n", "line 2: field frobnicate not found"},
		{"keys: [a.pub]\nonError: maybe\n", "line 2: onError \"maybe\""},
		{"keys: [a.pub]\ntimeout: -1s\n", "line 2: timeout"},
		{"keys: [a.pub]\ncacheTTL: soon\n", "line 2: cacheTTL"},
		{"keys: [a.pub]\nattestations:\n  - type: vuln\n    maxAge: forever\n", "line 3: attestations[0]: maxAge"},
		{"keys: [a.pub]\nattestations:\n  - type: vuln\n    failOn: severe\n", "failOn"},
		{"keys: [a.pub]\nattestations:\n  - type: sbom-ish\n", "line 3: unknown attestation type"},
		{"keys: [a.pub]\nattestations:\n  - maxAge: 1h\n", "needs a type"},
		{"keys: [a.pub]\nattestations:\n  - type: cyclonedx\n    maxAge: 1h\n", "apply to vulnerability scans"},
		{"attestations:\n  - type: vuln\n", "attestations need keys"},
		{"keys: [a.pub]\nregistries: [a/b]\n", "line 2: registries"},
		{"keys: [a.pub]\nrepositories: [\"[\"]\n", "repositories"},
		{"keys: ['']\n", "empty key"},
		{"{}\n", "no rule"},
		{"", "empty"},
		{"# nothing\n", "empty"},
		{"keys: a.pub\n", "line 1"},
		{"- a\n- b\n", "not a valid admission policy"},
		{"keys: [\n", "not valid YAML"},
		{"keys: [a.pub]\nreport:\n  cluster: prod\n", "line 3: report: needs url"},
		{"keys: [a.pub]\nreport:\n  url: ftp://x\n", "line 3: report.url"},
		{"keys: [a.pub]\nreport:\n  url: http://x\n  timeout: 0s\n", "report.timeout \"0s\""},
	} {
		_, err := ParsePolicy([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestAllowedSource(t *testing.T) {
	p, err := ParsePolicy([]byte("registries: [reg.example.com, docker.io]\nrepositories: [reg.example.com/team/*, index.docker.io/library/**]\n"))
	if err != nil {
		t.Fatal(err)
	}
	for img, want := range map[string]string{
		"reg.example.com/team/app:v1":       "",
		"reg.example.com/team/sub/app:v1":   "repository reg.example.com/team/sub/app is not allowed",
		"reg.example.com/other/app:v1":      "repository reg.example.com/other/app is not allowed",
		"nginx:1.25":                        "",
		"ghcr.io/team/app:v1":               "registry ghcr.io is not allowed",
		"reg.example.com:5000/team/app:v1":  "registry reg.example.com:5000 is not allowed",
		"docker.io/library/nginx/extra:1.0": "",
	} {
		ref, err := name.ParseReference(img)
		if err != nil {
			t.Fatal(err)
		}
		err = p.allowedSource(ref)
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("%s: got %v, want %q", img, err, want)
		}
	}
}

func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte("keys: [a.pub]\nattestations:\n  - type: vuln\n    maxAge: 24h\n    failOn: critical\nregistries: [r.example]\n"))
	f.Add([]byte("repositories: [a/**]\nonError: allow\ntimeout: 1s\n"))
	f.Add([]byte("keys: &a [x]\nannotations: *a\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePolicy(b)
		if err == nil && (p.Timeout <= 0 || p.CacheTTL <= 0 || (p.OnError != FailClosed && p.OnError != FailOpen)) {
			t.Fatalf("accepted a policy with bad settings: %+v", p)
		}
	})
}
