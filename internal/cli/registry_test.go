package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/bulwark-sec/bulwark/internal/registry"
	"github.com/bulwark-sec/bulwark/internal/testutil"
	"github.com/bulwark-sec/bulwark/internal/testutil/fixtures"
)

// TestRegistryFlagsEverywhere: every command that talks to a registry
// takes the same flags, against the real CNCF registry on 127.0.0.1 with
// TLS (a CA of its own) and htpasswd: lint, sbom, scan, db push, db update
// and pipeline validate.
func TestRegistryFlagsEverywhere(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("DOCKER_CONFIG", t.TempDir()) // no credentials but the flags'
	t.Setenv("BULWARK_CACHE_DIR", t.TempDir())
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{TLS: true, User: "ci", Password: "s3cret"})
	c, err := registry.Settings{CACert: reg.CACert, Username: "ci", Password: "s3cret"}.Client()
	if err != nil {
		t.Fatal(err)
	}
	app := reg.Host + "/team/app:1.0"
	ref, err := c.Reference(app)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, fixtures.CleanImage(t), c.Remote(t.Context())...); err != nil {
		t.Fatalf("push: %v", err)
	}
	creds := []string{"--registry-cacert", reg.CACert, "--registry-username", "ci", "--registry-password", "s3cret"}
	with := func(args ...string) []string { return append(args, creds...) }
	db := scanDB(t)

	for _, args := range [][]string{
		with("lint", app),
		with("sbom", "--no-cache", app),
		with("scan", "--db", db, "--skip-update", app),
	} {
		if code, out, stderr := runCLI(t, args...); code != 0 {
			t.Errorf("%v: exit %d, want 0\n%s%s", args[:2], code, out, stderr)
		}
	}

	// db push and db update: the same flags, and --db-insecure still works.
	repo := reg.Host + "/security/bulwark-db"
	keys := keyPairDir(t, "pw")
	t.Setenv("BULWARK_PASSWORD", "pw")
	code, out, stderr := runCLI(t, with("db", "push", "--db", db, "--key", filepath.Join(keys, "cosign.key"), repo)...)
	if code != 0 || !strings.HasPrefix(out, repo+"@sha256:") {
		t.Fatalf("db push: exit %d %q %s", code, out, stderr)
	}
	pulled := filepath.Join(t.TempDir(), "pulled.bwdb")
	if code, _, stderr := runCLI(t, with("db", "update", "--db", pulled, "--db-repository", repo, "--db-key", filepath.Join(keys, "cosign.pub"))...); code != 0 {
		t.Fatalf("db update: exit %d %s", code, stderr)
	}
	if a, b := readFile(t, db), readFile(t, pulled); !bytes.Equal(a, b) {
		t.Error("db update did not install the pushed database")
	}
	if code, _, stderr := runCLI(t, "db", "push", "--db", db, "--db-insecure", "--registry-username", "ci", "--registry-password", "s3cret", repo+":copy"); code != 0 {
		t.Errorf("db push --db-insecure: exit %d %s", code, stderr)
	}

	// Credentials from the environment.
	t.Setenv("BULWARK_REGISTRY_USERNAME", "ci")
	t.Setenv("BULWARK_REGISTRY_PASSWORD", "s3cret")
	if code, _, stderr := runCLI(t, "lint", "--registry-cacert", reg.CACert, app); code != 0 {
		t.Errorf("credentials from BULWARK_REGISTRY_*: exit %d %s", code, stderr)
	}
	os.Unsetenv("BULWARK_REGISTRY_USERNAME")
	os.Unsetenv("BULWARK_REGISTRY_PASSWORD")

	// Failures in words: no credentials, an untrusted CA, a wrong password.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"db", "push", "--db", db, "--registry-cacert", reg.CACert, repo}, "401 Unauthorized"},
		{[]string{"db", "update", "--db", pulled, "--db-repository", repo, "--db-key", filepath.Join(keys, "cosign.pub"), "--retries", "0", "--registry-cacert", reg.CACert}, "--registry-username"},
		{[]string{"sbom", "--no-cache", "--registry-username", "ci", "--registry-password", "s3cret", app}, "--registry-cacert"},
		{[]string{"lint", "--registry-cacert", reg.CACert, "--registry-username", "ci", "--registry-password", "wrong", app}, "it wants credentials, or refused the ones given"},
		{[]string{"lint", "--registry-password", "s3cret", app}, "--registry-password needs --registry-username"},
	} {
		code, _, stderr := runCLI(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) || strings.Contains(stderr, "map[") {
			t.Errorf("%v: exit %d, want 2 saying %q (and no Go map):\n%s", tc.args, code, tc.want, stderr)
		}
	}

	// pipeline validate checks the push registry with the same flags.
	os.WriteFile("app.tar", readFile(t, testutil.WriteDockerArchive(t, fixtures.CleanImage(t))), 0o644)
	os.WriteFile("bulwark.yaml", []byte("version: 1\nbuild: {image: app.tar}\npush: {repository: "+reg.Host+"/team/app}\n"), 0o644)
	if code, out, stderr := runCLI(t, with("pipeline", "validate")...); code != 0 || !strings.Contains(out, "ok      push.repository") {
		t.Errorf("pipeline validate with the registry flags: exit %d\n%s%s", code, out, stderr)
	}
	if code, out, _ := runCLI(t, "pipeline", "validate", "--registry-cacert", reg.CACert); code != 2 || !strings.Contains(out, "401 Unauthorized") {
		t.Errorf("pipeline validate without credentials: exit %d\n%s", code, out)
	}
}

// TestReferenceErrorsInWords: a reference bulwark cannot use is named and
// explained, for every command that takes one.
func TestReferenceErrorsInWords(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, args := range [][]string{
		{"lint", "Team/App:1"},
		{"sbom", "--no-cache", "Team/App:1"},
		{"scan", "--skip-update", "--scanners", "lint", "Team/App:1"},
		{"db", "push", "--db", "x.bwdb", "Team/App:1"},
	} {
		code, _, stderr := runCLI(t, args...)
		if code != 2 || !strings.Contains(stderr, `repository names must be lower case: "Team" (did you mean "team"?)`) {
			t.Errorf("%v: exit %d, want 2 saying names must be lower case:\n%s", args, code, stderr)
		}
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
