// Package admtest builds the images the admission tests decide on, in a
// real CNCF registry on 127.0.0.1: signed, unsigned, signed by another
// key, and with passing and failing vulnerability attestations.
package admtest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/bulwark-sec/bulwark/internal/sign"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

const password = "admtest-pw"

// Fixture is a registry with images in every state a policy tells apart.
type Fixture struct {
	// Host is the registry, 127.0.0.1:PORT.
	Host string
	// Dir holds the key files.
	Dir string
	// Key and Pub are the signing key pair (Key encrypted with Password).
	Key, Pub string
	// OtherPub is the public key of another pair.
	OtherPub string
	// Signed is signed with Key and has a clean, fresh vuln attestation.
	Signed string
	// SignedTag is Signed's tag reference.
	SignedTag string
	// Unsigned has no signature.
	Unsigned string
	// WrongKey is signed with the other key only.
	WrongKey string
	// Critical is signed with Key; its vuln attestation has a CRITICAL.
	Critical string
	// NoAttestation is signed with Key and has no attestation.
	NoAttestation string
	// Stop stops the registry.
	Stop func()
}

// Password is the password of the fixture's private keys.
const Password = password

// New starts a registry and builds the fixture.
func New(t testing.TB) *Fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	f := &Fixture{Host: reg.Host, Dir: t.TempDir(), Stop: reg.Stop}
	f.Key, f.Pub = keyPair(t, f.Dir, "cosign")
	otherKey, otherPub := keyPair(t, f.Dir, "other")
	f.OtherPub = otherPub
	r, err := sign.NewRegistry(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := signer(t, f.Key)
	o := signer(t, otherKey)
	now := time.Now().UTC()
	clean := fmt.Sprintf(`{"tool":"bulwark","version":"test","createdAt":%q,"findings":[{"gate":"vuln","id":"CVE-1","severity":"LOW"}]}`, now.Format(time.RFC3339))
	critical := fmt.Sprintf(`{"tool":"bulwark","version":"test","createdAt":%q,"findings":[{"gate":"vuln","id":"CVE-9","severity":"CRITICAL"}]}`, now.Format(time.RFC3339))

	f.SignedTag = f.Host + "/team/app:v1"
	f.Signed = Push(t, f.SignedTag)
	f.Unsigned = Push(t, f.Host+"/team/unsigned:v1")
	f.WrongKey = Push(t, f.Host+"/team/wrongkey:v1")
	f.Critical = Push(t, f.Host+"/team/critical:v1")
	f.NoAttestation = Push(t, f.Host+"/team/noatt:v1")
	for _, st := range []struct {
		img  string
		s    *sign.Signer
		pred string
	}{{f.Signed, s, clean}, {f.WrongKey, o, ""}, {f.Critical, s, critical}, {f.NoAttestation, s, ""}} {
		if _, err := sign.SignImage(ctx, r, st.img, st.s, sign.SignOptions{Annotations: map[string]string{"env": "prod"}}); err != nil {
			t.Fatal(err)
		}
		if st.pred != "" {
			if _, err := sign.AttestImage(ctx, r, st.img, st.s, sign.AttestOptions{Type: "vuln", Predicate: []byte(st.pred)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return f
}

// WritePolicy writes a policy file into the fixture's folder.
func (f *Fixture) WritePolicy(t testing.TB, body string) string {
	t.Helper()
	p := filepath.Join(f.Dir, fmt.Sprintf("policy-%d.yaml", time.Now().UnixNano()))
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// StrictPolicy is a policy every fixture image but Signed fails.
func (f *Fixture) StrictPolicy() string {
	return fmt.Sprintf(`keys: [%s]
annotations: {env: prod}
attestations:
  - type: vuln
    maxAge: 24h
    failOn: critical
registries: [%s]
`, f.Pub, f.Host)
}

// Push pushes a small random image and returns it by digest.
func Push(t testing.TB, ref string) string {
	t.Helper()
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return r.Context().Digest(d.String()).String()
}

func keyPair(t testing.TB, dir, prefix string) (string, string) {
	t.Helper()
	priv, pub, err := sign.GenerateKeyPair([]byte(password))
	if err != nil {
		t.Fatal(err)
	}
	k, p := filepath.Join(dir, prefix+".key"), filepath.Join(dir, prefix+".pub")
	if err := os.WriteFile(k, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	return k, p
}

func signer(t testing.TB, key string) *sign.Signer {
	t.Helper()
	s, err := sign.LoadSigner(context.Background(), key, sign.StaticPass([]byte(password)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Counter is a registry transport that counts requests, to show which
// decisions made none.
type Counter struct {
	n atomic.Int64
}

// RoundTrip counts and forwards the request.
func (c *Counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return remote.DefaultTransport.RoundTrip(r)
}

// N returns the requests made so far.
func (c *Counter) N() int64 { return c.n.Load() }
