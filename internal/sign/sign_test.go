package sign_test

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/bulwark-sec/bulwark/internal/sign"
)

func TestSignVerifyFileKey(t *testing.T) {
	host := realRegistry(t)
	dir := t.TempDir()
	keyFile, pubFile := keyPair(t, dir, "a")
	_, otherPub := keyPair(t, dir, "b")
	d := pushImage(t, host+"/demo/app:v1")
	unsigned := pushImage(t, host+"/demo/other:v1")
	reg := newReg(t)
	ctx := ctxT(t)

	res, err := sign.SignImage(ctx, reg, host+"/demo/app:v1", loadSigner(t, keyFile), sign.SignOptions{Annotations: map[string]string{"env": "prod"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest != d.String() {
		t.Fatalf("signed %s, want the tag resolved to %s", res.Digest, d)
	}
	if want := host + "/demo/app:sha256-" + d.DigestStr()[7:] + ".sig"; res.Signature != want {
		t.Fatalf("signature stored in %s, want %s", res.Signature, want)
	}
	// Signing twice does not add a second identical layer... (ECDSA is
	// randomized, so it does add one; both verify.)
	v := loadVerifier(t, pubFile)
	got, err := sign.Verify(ctx, reg, d.String(), v, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Verified || len(got.Signatures) != 1 || got.Signatures[0].Annotations["env"] != "prod" {
		t.Fatalf("unexpected result %+v", got)
	}
	if _, err := sign.Verify(ctx, reg, d.String(), v, map[string]string{"env": "prod"}); err != nil {
		t.Fatalf("annotations that match: %v", err)
	}
	_, err = sign.Verify(ctx, reg, d.String(), v, map[string]string{"env": "dev"})
	wantReason(t, err, sign.ReasonAnnotationMismatch)
	_, err = sign.Verify(ctx, reg, d.String(), loadVerifier(t, otherPub), nil)
	wantReason(t, err, sign.ReasonWrongKey)
	_, err = sign.Verify(ctx, reg, unsigned.String(), v, nil)
	wantReason(t, err, sign.ReasonNoSignature)
	if !strings.Contains(err.Error(), "no signature found") {
		t.Fatalf("message %q does not say no signature was found", err)
	}

	// The one-call API lint uses.
	if _, err := sign.VerifyImage(ctx, host+"/demo/app:v1", pubFile, sign.VerifyOptions{}); err != nil {
		t.Fatalf("VerifyImage: %v", err)
	}
	_, err = sign.VerifyImage(ctx, host+"/demo/app:v1", otherPub, sign.VerifyOptions{})
	if !sign.IsVerificationFailure(err) {
		t.Fatalf("VerifyImage with another key: %v, want a verification failure", err)
	}
}

func TestTagMovedAndCopiedSignature(t *testing.T) {
	host := realRegistry(t)
	keyFile, pubFile := keyPair(t, t.TempDir(), "k")
	reg := newReg(t)
	ctx := ctxT(t)
	first := pushImage(t, host+"/demo/app:v1")
	if _, err := sign.SignImage(ctx, reg, host+"/demo/app:v1", loadSigner(t, keyFile), sign.SignOptions{}); err != nil {
		t.Fatal(err)
	}
	v := loadVerifier(t, pubFile)
	// The tag is moved to another image after signing.
	second := pushImage(t, host+"/demo/app:v1")
	_, err := sign.Verify(ctx, reg, host+"/demo/app:v1", v, nil)
	wantReason(t, err, sign.ReasonNoSignature)
	if _, err := sign.Verify(ctx, reg, first.String(), v, nil); err != nil {
		t.Fatalf("the signed digest still verifies: %v", err)
	}
	// An attacker copies the first image's signature to the second.
	firstSig, _ := reg.TagFor(first, "sig")
	secondSig, _ := reg.TagFor(second, "sig")
	img, err := remote.Image(firstSig)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(secondSig, img); err != nil {
		t.Fatal(err)
	}
	_, err = sign.Verify(ctx, reg, host+"/demo/app:v1", v, nil)
	wantReason(t, err, sign.ReasonDigestMismatch)
	if !strings.Contains(err.Error(), "payload digest does not match the image") {
		t.Fatalf("message %q", err)
	}
}

// pushSigLayers writes a hand-made signature manifest at the .sig tag.
func pushSigLayers(t *testing.T, tag name.Tag, layers ...mutate.Addendum) {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img, err := mutate.Append(img, layers...)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
}

func TestTamperedAndMalformedSignatures(t *testing.T) {
	host := memRegistry(t, false)
	keyFile, pubFile := keyPair(t, t.TempDir(), "k")
	reg := newReg(t)
	ctx := ctxT(t)
	s := loadSigner(t, keyFile)
	v := loadVerifier(t, pubFile)

	d := pushImage(t, host+"/demo/tamper:v1")
	payload, err := sign.MakePayload(d, map[string]string{"env": "dev"})
	if err != nil {
		t.Fatal(err)
	}
	sig, err := s.SignMessage(strings.NewReader(string(payload)))
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := reg.TagFor(d, "sig")
	tampered := []byte(strings.Replace(string(payload), `"env":"dev"`, `"env":"prd"`, 1))
	pushSigLayers(t, tag, mutate.Addendum{
		Layer:       static.NewLayer(tampered, sign.SimpleSigningMediaType),
		Annotations: map[string]string{sign.SignatureAnnotation: base64.StdEncoding.EncodeToString(sig)},
	})
	_, err = sign.Verify(ctx, reg, d.String(), v, nil)
	wantReason(t, err, sign.ReasonWrongKey)

	// A payload signed with the right key, for another digest.
	other := pushImage(t, host+"/demo/tamper:v2")
	otherPayload, _ := sign.MakePayload(other, nil)
	otherSig, _ := s.SignMessage(strings.NewReader(string(otherPayload)))
	pushSigLayers(t, tag, mutate.Addendum{
		Layer:       static.NewLayer(otherPayload, sign.SimpleSigningMediaType),
		Annotations: map[string]string{sign.SignatureAnnotation: base64.StdEncoding.EncodeToString(otherSig)},
	})
	_, err = sign.Verify(ctx, reg, d.String(), v, nil)
	wantReason(t, err, sign.ReasonDigestMismatch)

	// Garbage: a layer that is not a signature, a bad base64 signature.
	pushSigLayers(t, tag,
		mutate.Addendum{Layer: static.NewLayer([]byte("hello"), "text/plain")},
		mutate.Addendum{Layer: static.NewLayer(payload, sign.SimpleSigningMediaType), Annotations: map[string]string{sign.SignatureAnnotation: "!!"}},
	)
	_, err = sign.Verify(ctx, reg, d.String(), v, nil)
	wantReason(t, err, sign.ReasonMalformed)

	// A signed payload that is not a simple-signing document.
	junk := []byte(`{"critical":{"type":"something else"}}`)
	junkSig, _ := s.SignMessage(strings.NewReader(string(junk)))
	pushSigLayers(t, tag, mutate.Addendum{Layer: static.NewLayer(junk, sign.SimpleSigningMediaType), Annotations: map[string]string{sign.SignatureAnnotation: base64.StdEncoding.EncodeToString(junkSig)}})
	_, err = sign.Verify(ctx, reg, d.String(), v, nil)
	wantReason(t, err, sign.ReasonMalformed)

	// An oversized signature manifest (5 MiB of annotations).
	big := map[string]string{"pad": strings.Repeat("x", 5<<20)}
	img := mutate.Annotations(mutate.MediaType(empty.Image, types.OCIManifestSchema1), big).(v1.Image)
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	_, err = sign.Verify(ctx, reg, d.String(), v, nil)
	wantReason(t, err, sign.ReasonMalformed)
	if !strings.Contains(err.Error(), "more than the") {
		t.Fatalf("message %q does not say the manifest is too big", err)
	}
	// Signing over a malformed manifest refuses rather than overwrites.
	if _, err := sign.SignImage(ctx, reg, d.String(), s, sign.SignOptions{}); err == nil {
		t.Fatal("signing over an oversized signature manifest succeeded")
	}
}

func TestReferrersBundleLayout(t *testing.T) {
	host := memRegistry(t, true)
	keyFile, pubFile := keyPair(t, t.TempDir(), "k")
	_, otherPub := keyPair(t, t.TempDir(), "o")
	reg := newReg(t)
	ctx := ctxT(t)
	d := pushImage(t, host+"/demo/ref:v1")
	res, err := sign.SignImage(ctx, reg, d.String(), loadSigner(t, keyFile), sign.SignOptions{Bundle: true, Annotations: map[string]string{"team": "a"}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(res.Signature, ".sig") {
		t.Fatalf("bundle stored in the tag layout: %s", res.Signature)
	}
	got, err := sign.Verify(ctx, reg, d.String(), loadVerifier(t, pubFile), map[string]string{"team": "a"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Signatures[0].Layout != "bundle" {
		t.Fatalf("layout %s, want bundle", got.Signatures[0].Layout)
	}
	_, err = sign.Verify(ctx, reg, d.String(), loadVerifier(t, otherPub), nil)
	wantReason(t, err, sign.ReasonWrongKey)

	// Attestations in the bundle layout.
	if _, err := sign.AttestImage(ctx, reg, d.String(), loadSigner(t, keyFile), sign.AttestOptions{Type: "cyclonedx", Predicate: []byte(`{"bomFormat":"CycloneDX"}`), Bundle: true}); err != nil {
		t.Fatal(err)
	}
	ar, err := sign.VerifyAttestations(ctx, reg, d.String(), loadVerifier(t, pubFile), "cyclonedx", nil, nowT())
	if err != nil {
		t.Fatal(err)
	}
	if len(ar.Attestations) != 1 || ar.Attestations[0].Layout != "bundle" {
		t.Fatalf("attestations %+v", ar.Attestations)
	}
}

func TestKeyErrors(t *testing.T) {
	ctx := ctxT(t)
	dir := t.TempDir()
	keyFile, pubFile := keyPair(t, dir, "k")
	if _, err := sign.LoadSigner(ctx, keyFile, sign.StaticPass([]byte("wrong"))); err == nil || !strings.Contains(err.Error(), "wrong password") {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := sign.LoadVerifier(ctx, keyFile); err == nil || !strings.Contains(err.Error(), "private key") {
		t.Fatalf("private key as verify key: %v", err)
	}
	if _, err := sign.LoadSigner(ctx, pubFile, sign.StaticPass(nil)); err == nil {
		t.Fatal("a public key loaded as a signer")
	}
	if _, err := sign.LoadVerifier(ctx, "k8s://ns/secret"); err == nil || !strings.Contains(err.Error(), "unsupported key reference") {
		t.Fatalf("unsupported scheme: %v", err)
	}
	if _, err := sign.LoadVerifier(ctx, "env://BULWARK_TEST_UNSET_VAR"); err == nil || !strings.Contains(err.Error(), "not set") {
		t.Fatalf("unset env: %v", err)
	}
	pub, _ := os.ReadFile(pubFile)
	t.Setenv("BULWARK_TEST_PUB", string(pub))
	if _, err := sign.LoadVerifier(ctx, "env://BULWARK_TEST_PUB"); err != nil {
		t.Fatalf("env:// public key: %v", err)
	}
	priv, _ := os.ReadFile(keyFile)
	t.Setenv("BULWARK_TEST_KEY", string(priv))
	if _, err := sign.LoadSigner(ctx, "env://BULWARK_TEST_KEY", sign.StaticPass([]byte(testPassword))); err != nil {
		t.Fatalf("env:// private key: %v", err)
	}
	// Unsupported key types: a P-224 key in cosign's format, a 1024-bit RSA public key.
	weak := filepath.Join(dir, "weak.key")
	if err := os.WriteFile(weak, p224Key(t), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := sign.LoadSigner(ctx, weak, sign.StaticPass([]byte(testPassword))); err == nil || !strings.Contains(err.Error(), "unsupported") {
		t.Fatalf("P-224 key: %v", err)
	}
	if _, err := sign.ParsePublicKey(rsa1024Pub(t)); err == nil || !strings.Contains(err.Error(), "too weak") {
		t.Fatalf("RSA-1024: %v", err)
	}
}

func TestUnreachableRegistry(t *testing.T) {
	_, pubFile := keyPair(t, t.TempDir(), "k")
	// A port nothing listens on.
	_, err := sign.VerifyImage(ctxT(t), "127.0.0.1:1/demo/app@sha256:"+strings.Repeat("a", 64), pubFile, sign.VerifyOptions{})
	if err == nil || sign.IsVerificationFailure(err) {
		t.Fatalf("unreachable registry: %v, want an error that is not a verdict", err)
	}
	if !strings.Contains(err.Error(), "reachable") {
		t.Fatalf("message %q does not say what to check", err)
	}
}
