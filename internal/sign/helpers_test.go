package sign_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/bulwark-sec/bulwark/internal/cli"
	"github.com/bulwark-sec/bulwark/internal/sign"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

const testPassword = "s3cret-pw"

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// realRegistry starts the CNCF registry on 127.0.0.1 and returns its host.
func realRegistry(t *testing.T) string {
	t.Helper()
	return testutil.StartRegistry(t, testutil.RegistryOptions{}).Host
}

// memRegistry starts go-containerregistry's registry in process.
func memRegistry(t *testing.T, referrers bool) string {
	t.Helper()
	var opts []registry.Option
	if referrers {
		opts = append(opts, registry.WithReferrersSupport(true))
	}
	opts = append(opts, registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(registry.New(opts...))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// pushImage pushes a small random image and returns its reference by digest.
func pushImage(t *testing.T, ref string, ropts ...remote.Option) name.Digest {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, ropts...); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return r.Context().Digest(d.String())
}

// keyPair writes an encrypted key pair into dir and returns the paths.
func keyPair(t *testing.T, dir, prefix string) (keyFile, pubFile string) {
	t.Helper()
	priv, pub, err := sign.GenerateKeyPair([]byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	keyFile, pubFile = filepath.Join(dir, prefix+".key"), filepath.Join(dir, prefix+".pub")
	if err := os.WriteFile(keyFile, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pubFile, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	return keyFile, pubFile
}

func newReg(t *testing.T) *sign.Registry {
	t.Helper()
	r, err := sign.NewRegistry(ctxT(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func loadSigner(t *testing.T, keyFile string) *sign.Signer {
	t.Helper()
	s, err := sign.LoadSigner(ctxT(t), keyFile, sign.StaticPass([]byte(testPassword)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func loadVerifier(t *testing.T, ref string) *sign.Verifier {
	t.Helper()
	v, err := sign.LoadVerifier(ctxT(t), ref)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// runCLI runs bulwark in process and returns the exit code and output.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Execute(ctxT(t), args, &out, &errb)
	return code, out.String(), errb.String()
}

// cosignEnv is the environment for the cosign CLI: offline, its TUF cache
// in a temp dir, the key password set.
func cosignEnv(t *testing.T, extra ...string) []string {
	env := append(os.Environ(), "TUF_ROOT="+t.TempDir(), "COSIGN_PASSWORD="+testPassword, "COSIGN_YES=true", "HOME="+t.TempDir())
	return append(env, extra...)
}

// runCosign runs the cosign CLI with a time bound.
func runCosign(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	bin := testutil.RequireTool(t, "cosign")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func wantReason(t *testing.T, err error, r sign.Reason) {
	t.Helper()
	if err == nil {
		t.Fatalf("verification passed; want failure %s", r)
	}
	ve, ok := err.(*sign.VerificationError)
	if !ok {
		t.Fatalf("error %v (%T) is not a verification failure; want %s", err, err, r)
	}
	if ve.Reason != r {
		t.Fatalf("reason %s (%s); want %s", ve.Reason, ve.Msg, r)
	}
}

func nowT() time.Time { return time.Now() }

func p224Key(t *testing.T) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sign.EncryptPrivateKey(k, []byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func rsa1024Pub(t *testing.T) []byte {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// caTransport trusts one CA file.
func caTransport(t *testing.T, caFile string) http.RoundTripper {
	t.Helper()
	b, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(b)
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	return tr
}
