package sign

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

func FuzzParsePayload(f *testing.F) {
	d, _ := name.NewDigest("example.com/app@sha256:" + strings.Repeat("ab", 32))
	good, _ := MakePayload(d, map[string]string{"env": "prod"})
	f.Add(good)
	f.Add([]byte(`{"critical":{"type":"cosign container image signature","image":{"docker-manifest-digest":"sha256:00"}}}`))
	f.Add([]byte(`{"critical":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePayload(b)
		if err != nil {
			return
		}
		if !digestRE.MatchString(p.Digest) {
			t.Fatalf("accepted digest %q", p.Digest)
		}
	})
}

func FuzzParseEnvelope(f *testing.F) {
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"","sig":"AAAA"}]}`))
	f.Add([]byte(`{"payloadType":"x","payload":"!!","signatures":[]}`))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"AAAA"}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if env, payload, sigs, err := ParseEnvelope(b); err == nil {
			if env.PayloadType == "" || len(sigs) == 0 {
				t.Fatal("accepted an envelope without type or signatures")
			}
			_, _ = ParseStatement(payload)
		}
		if payload, sigs, err := parseBundle(b); err == nil {
			if len(sigs) == 0 {
				t.Fatal("accepted a bundle without signatures")
			}
			_, _ = ParseStatement(payload)
		}
	})
}

func FuzzParsePublicKey(f *testing.F) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub, _ := cryptoutils.MarshalPublicKeyToPEM(k.Public())
	f.Add(pub)
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, err := ParsePublicKey(b); err == nil {
			if err := checkKeyType(p); err != nil {
				t.Fatalf("accepted an unsupported key: %v", err)
			}
		}
	})
}

// FuzzDecryptPrivateKey feeds mutated encrypted key files. scrypt is slow
// by design, so the fuzzer is slow per input; the parameters are fixed by
// the library, so input cannot make it slower.
func FuzzDecryptPrivateKey(f *testing.F) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	enc, _ := EncryptPrivateKey(k, []byte("pw"))
	f.Add(enc, []byte("pw"))
	f.Add([]byte("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\ne30=\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n"), []byte(""))
	f.Add([]byte(`{"kdf":{"name":"scrypt","params":{"N":1,"r":1,"p":1},"salt":""},"cipher":{"name":"nacl/secretbox","nonce":""},"ciphertext":""}`), []byte("x"))
	f.Fuzz(func(t *testing.T, b, pw []byte) {
		if s, err := DecryptPrivateKey(b, pw); err == nil {
			if err := checkKeyType(s.Public()); err != nil {
				t.Fatalf("accepted an unsupported key: %v", err)
			}
		}
	})
}

func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte("maxAge: 24h\ndeny:\n  severities: [CRITICAL]\n"))
	f.Add([]byte("maxAge: 7d\ndeny:\n  ids: [CVE-1]\n"))
	f.Add([]byte("deny: [1, 2]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePolicy(b)
		if err != nil {
			return
		}
		if p.MaxAge < 0 {
			t.Fatalf("negative maxAge %v", p.MaxAge)
		}
		if p.MaxAge == 0 && len(p.DenySeverities) == 0 && len(p.DenyIDs) == 0 {
			t.Fatal("accepted a policy without rules")
		}
		_, _ = p.Check([]VerifiedAttestation{{Statement: &Statement{PredicateType: PredicateVuln, Predicate: []byte(`{"scanner":{"result":{"findings":[]}}}`)}}}, time.Now())
	})
}

func FuzzParseBlobSignature(f *testing.F) {
	f.Add([]byte(`MEUCIQD1`), false)
	f.Add([]byte(`{"base64Signature":"MEUCIQ=="}`), true)
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"x"}},"messageSignature":{"messageDigest":{"algorithm":"SHA2_256","digest":"3q2+7w=="},"signature":"MEUCIQ=="}}`), true)
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","dsseEnvelope":{"payload":"e30=","payloadType":"x","signatures":[]}}`), true)
	f.Fuzz(func(t *testing.T, b []byte, bundle bool) {
		s, err := ParseBlobSignature(b, bundle)
		if err != nil {
			return
		}
		if len(s.Sig) == 0 {
			t.Fatal("accepted an empty signature")
		}
		if s.Digest != nil && len(s.Digest) != 32 {
			t.Fatalf("accepted a %d-byte SHA-256", len(s.Digest))
		}
	})
}

func FuzzParseBlobAttestation(f *testing.F) {
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"","sig":"AAAA"}]}`))
	f.Add([]byte(`eyJwYXlsb2FkVHlwZSI6IngiLCJwYXlsb2FkIjoiIiwic2lnbmF0dXJlcyI6W119`))
	f.Add([]byte(`{"base64Signature":"eyJwYXlsb2FkVHlwZSI6IngiLCJwYXlsb2FkIjoiIiwic2lnbmF0dXJlcyI6W119"}`))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"AAAA"}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseBlobAttestation(b)
		if err != nil {
			return
		}
		if len(a.sigs) == 0 || len(a.sigs) > 64 {
			t.Fatalf("accepted %d signatures", len(a.sigs))
		}
		_, _ = ParseStatement(a.payload)
	})
}
