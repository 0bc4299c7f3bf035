package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/bulwark-sec/bulwark/internal/registry"
	"github.com/bulwark-sec/bulwark/internal/sign"
	"github.com/bulwark-sec/bulwark/internal/testutil"
	"github.com/bulwark-sec/bulwark/internal/testutil/fixtures"
)

// TestLintByReference pushes an image to a real CNCF distribution registry
// on 127.0.0.1 and lints it by tag and by digest.
func TestLintByReference(t *testing.T) {
	t.Setenv("DOCKER_CONTENT_TRUST", "1")
	t.Chdir(t.TempDir())
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	img := fixtures.CleanImage(t)
	latest := reg.Host + "/team/app:latest"
	ref, err := name.ParseReference(latest)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatalf("push: %v", err)
	}
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}

	code, out, stderr := runCLI(t, "lint", "--insecure", "--fail-on", "warn", latest)
	if code != 1 || !strings.Contains(out, "DKL-DI-0006") || !strings.Contains(out, digest.String()) {
		t.Errorf("lint by :latest: exit %d, want 1 with DKL-DI-0006 and the digest\n%s%s", code, out, stderr)
	}
	byDigest := fmt.Sprintf("%s/team/app@%s", reg.Host, digest)
	if code, out, stderr := runCLI(t, "lint", byDigest); code != 0 {
		t.Errorf("lint by digest: exit %d, want 0\n%s%s", code, out, stderr)
	}
	if code, _, stderr := runCLI(t, "lint", reg.Host+"/team/missing:1"); code != 2 || !strings.Contains(stderr, "team/missing:1") {
		t.Errorf("missing image: exit %d, want 2 naming it: %s", code, stderr)
	}
}

// TestLintPrivateRegistry lints from a TLS registry with htpasswd auth,
// with credentials read from the docker config.
func TestLintPrivateRegistry(t *testing.T) {
	t.Setenv("DOCKER_CONTENT_TRUST", "1")
	t.Chdir(t.TempDir())
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{TLS: true, User: "ci", Password: "s3cret"})
	ref, err := name.ParseReference(reg.Host + "/private/app:1.0")
	if err != nil {
		t.Fatal(err)
	}
	auth := &authn.Basic{Username: "ci", Password: "s3cret"}
	c, err := registry.Settings{CACert: reg.CACert}.Client()
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, fixtures.CleanImage(t), remote.WithAuth(auth), remote.WithTransport(c.Transport())); err != nil {
		t.Fatalf("push: %v", err)
	}

	dockerConfig := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dockerConfig)
	if code, _, stderr := runCLI(t, "lint", ref.String()); code != 2 || !strings.Contains(stderr, "certificate") {
		t.Errorf("untrusted CA: exit %d, want 2 and a certificate error: %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "lint", "--registry-cacert", reg.CACert, ref.String()); code != 2 || !strings.Contains(stderr, "UNAUTHORIZED") && !strings.Contains(stderr, "401") {
		t.Errorf("without credentials: exit %d, want 2 and an auth error: %s", code, stderr)
	}
	cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, reg.Host, base64.StdEncoding.EncodeToString([]byte("ci:s3cret")))
	if err := os.WriteFile(filepath.Join(dockerConfig, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, stderr := runCLI(t, "lint", "--registry-cacert", reg.CACert, ref.String()); code != 0 {
		t.Errorf("with docker config credentials: exit %d, want 0\n%s%s", code, out, stderr)
	}
}

// TestLintVerifyKey makes CIS-DI-0005 a real signature check: an image
// signed with the key passes it, the same image checked with another key
// does not.
func TestLintVerifyKey(t *testing.T) {
	t.Chdir(t.TempDir())
	ctx := context.Background()
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	ref := reg.Host + "/team/signed:1"
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, fixtures.CleanImage(t)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyFile := func(name string) (priv, pub string) {
		privPEM, pubPEM, err := sign.GenerateKeyPair([]byte("pw"))
		if err != nil {
			t.Fatal(err)
		}
		priv, pub = filepath.Join(dir, name+".key"), filepath.Join(dir, name+".pub")
		if err := os.WriteFile(priv, privPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(pub, pubPEM, 0o644); err != nil {
			t.Fatal(err)
		}
		return priv, pub
	}
	priv, pub := keyFile("ci")
	_, otherPub := keyFile("other")
	signer, err := sign.LoadSigner(ctx, priv, sign.StaticPass([]byte("pw")))
	if err != nil {
		t.Fatal(err)
	}
	sr, err := sign.NewRegistry(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.SignImage(ctx, sr, ref, signer, sign.SignOptions{}); err != nil {
		t.Fatal(err)
	}
	ids := func(args ...string) map[string]bool {
		code, out, stderr := runCLI(t, append([]string{"lint", "--format", "json"}, args...)...)
		if code != 0 {
			t.Fatalf("lint %v: exit %d: %s", args, code, stderr)
		}
		var rep struct {
			Findings []struct{ ID, Message string }
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, f := range rep.Findings {
			got[f.ID] = true
		}
		return got
	}
	if got := ids("--verify-key", pub, ref); got["CIS-DI-0005"] {
		t.Errorf("signed image flagged CIS-DI-0005 with the signing key: %v", got)
	}
	if got := ids("--verify-key", otherPub, ref); !got["CIS-DI-0005"] {
		t.Errorf("image not flagged CIS-DI-0005 when checked with another key: %v", got)
	}
	if code, _, stderr := runCLI(t, "lint", "--verify-key", filepath.Join(dir, "missing.pub"), ref); code != 2 {
		t.Errorf("missing key file: exit %d, want 2: %s", code, stderr)
	}
}
