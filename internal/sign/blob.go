package sign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sigstore/sigstore/pkg/signature/options"
)

// Blob signing in the formats of cosign sign-blob, attest-blob,
// verify-blob and verify-blob-attestation: a signature over a file's bytes
// (SHA-256), written as base64, in cosign's older bundle JSON
// ({"base64Signature": ...}) or in a Sigstore bundle v0.3 with a message
// signature; an attestation is a DSSE envelope of an in-toto statement
// whose subject is the file's name and SHA-256.

// sha256Algorithm is the Sigstore bundle name of SHA-256.
const sha256Algorithm = "SHA2_256"

// legacyBundle is cosign's bundle file from before Sigstore bundles
// (cosign's LocalSignedPayload). bulwark writes base64Signature only and
// does not check a rekorBundle (offline verification).
type legacyBundle struct {
	Base64Signature string          `json:"base64Signature"`
	Cert            string          `json:"cert,omitempty"`
	RekorBundle     json.RawMessage `json:"rekorBundle,omitempty"`
}

// SignBlob signs the bytes read from r as cosign sign-blob does and
// returns the raw signature and the blob's SHA-256.
func SignBlob(ctx context.Context, s *Signer, r io.Reader) (sig, digest []byte, err error) {
	h := sha256.New()
	sig, err = s.SignMessage(io.TeeReader(r, h), options.WithContext(ctx))
	if err != nil {
		return nil, nil, fmt.Errorf("signing with %s: %w", s.Ref, err)
	}
	return sig, h.Sum(nil), nil
}

// BlobBundle returns the bundle file of a blob signature: a Sigstore
// bundle v0.3 with a message signature (newFormat, cosign's
// --new-bundle-format), or else cosign's older bundle JSON.
func BlobBundle(pub crypto.PublicKey, digest, sig []byte, newFormat bool) ([]byte, error) {
	if !newFormat {
		return json.Marshal(legacyBundle{Base64Signature: base64.StdEncoding.EncodeToString(sig)})
	}
	b, err := newBundle(pub)
	if err != nil {
		return nil, err
	}
	b.MessageSignature = &bundleMessage{MessageDigest: &bundleDigest{Algorithm: sha256Algorithm, Digest: digest}, Signature: sig}
	return json.Marshal(b)
}

// EnvelopeBundleFile returns the bundle file of a blob attestation: a
// Sigstore bundle v0.3 with the DSSE envelope (newFormat), or else
// cosign's older bundle JSON whose base64Signature is the envelope.
func EnvelopeBundleFile(pub crypto.PublicKey, env *Envelope, newFormat bool) ([]byte, error) {
	if newFormat {
		return envelopeBundle(pub, env)
	}
	raw, err := json.Marshal(env)
	if err != nil {
		return nil, err
	}
	return json.Marshal(legacyBundle{Base64Signature: base64.StdEncoding.EncodeToString(raw)})
}

// BlobSignature is a signature read for verify-blob.
type BlobSignature struct {
	// Sig is the raw signature.
	Sig []byte
	// Digest is the SHA-256 the bundle says was signed (Sigstore bundles
	// only; nil otherwise).
	Digest []byte
}

// ParseBlobSignature reads untrusted --signature or --bundle content: a
// Sigstore bundle with a message signature, cosign's older bundle JSON,
// or (unless bundle is set) a signature file (base64, as cosign sign-blob
// writes it, or raw).
func ParseBlobSignature(b []byte, bundle bool) (*BlobSignature, error) {
	t := bytes.TrimSpace(b)
	if len(t) == 0 {
		return nil, errors.New("the signature is empty")
	}
	if t[0] != '{' {
		if bundle {
			return nil, errors.New("not a bundle: a bundle is JSON (cosign's bundle or a Sigstore bundle)")
		}
		if sig, err := base64.StdEncoding.DecodeString(string(t)); err == nil {
			return &BlobSignature{Sig: sig}, nil
		}
		return &BlobSignature{Sig: b}, nil
	}
	bj, leg, err := decodeBlobBundle(t)
	if err != nil {
		return nil, err
	}
	if leg != nil {
		sig, err := decodeB64(leg.Base64Signature)
		if err != nil || len(sig) == 0 {
			return nil, errors.New("bundle base64Signature is empty or not base64")
		}
		return &BlobSignature{Sig: sig}, nil
	}
	m := bj.MessageSignature
	if m == nil {
		if bj.DSSEEnvelope != nil {
			return nil, errors.New("Sigstore bundle holds an attestation (DSSE envelope), not a blob signature; use verify-blob-attestation")
		}
		return nil, errors.New("Sigstore bundle has no messageSignature")
	}
	if len(m.Signature) == 0 {
		return nil, errors.New("Sigstore bundle messageSignature has no signature")
	}
	out := &BlobSignature{Sig: m.Signature}
	if m.MessageDigest != nil {
		if m.MessageDigest.Algorithm != sha256Algorithm {
			return nil, fmt.Errorf("Sigstore bundle message digest algorithm %q is not supported (want %s)", m.MessageDigest.Algorithm, sha256Algorithm)
		}
		if len(m.MessageDigest.Digest) != sha256.Size {
			return nil, fmt.Errorf("Sigstore bundle message digest has %d bytes, not %d", len(m.MessageDigest.Digest), sha256.Size)
		}
		out.Digest = m.MessageDigest.Digest
	}
	return out, nil
}

// decodeBlobBundle parses a JSON bundle file: a Sigstore bundle (bj) or
// cosign's older format (leg).
func decodeBlobBundle(b []byte) (bj *bundleJSON, leg *legacyBundle, err error) {
	if len(b) > maxEnvelopeSize {
		return nil, nil, fmt.Errorf("bundle of %d bytes is larger than %d", len(b), maxEnvelopeSize)
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, nil, fmt.Errorf("bundle is not valid JSON: %w", err)
	}
	if _, ok := probe["base64Signature"]; ok {
		var l legacyBundle
		if err := json.Unmarshal(b, &l); err != nil {
			return nil, nil, fmt.Errorf("cosign bundle: %w", err)
		}
		return nil, &l, nil
	}
	if _, ok := probe["mediaType"]; !ok {
		return nil, nil, errors.New("not a bundle: neither a Sigstore bundle (mediaType) nor cosign's bundle (base64Signature)")
	}
	bj, err = decodeBundle(b)
	if err != nil {
		return nil, nil, err
	}
	if !strings.HasPrefix(bj.MediaType, "application/vnd.dev.sigstore.bundle") {
		return nil, nil, fmt.Errorf("bundle media type %q is not a Sigstore bundle", bj.MediaType)
	}
	return bj, nil, nil
}

// BlobSHA256 returns the SHA-256 (hex) of the bytes read from r: the
// subject digest of a blob attestation.
func BlobSHA256(r io.Reader) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// VerifyBlob checks a blob signature with the key: the signature must
// verify over the blob's bytes and, when it came from a Sigstore bundle,
// the bundle's digest must be the blob's. name names the blob in
// messages. A failure is a *VerificationError.
func VerifyBlob(ctx context.Context, v *Verifier, name string, blob io.ReadSeeker, sig *BlobSignature) error {
	hexDigest, err := BlobSHA256(blob)
	if err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	digest, _ := hex.DecodeString(hexDigest)
	if sig.Digest != nil && !bytes.Equal(sig.Digest, digest) {
		return &VerificationError{Image: name, Reason: ReasonDigestMismatch, Msg: fmt.Sprintf(
			"%s: the bundle signs sha256:%x, not this file (sha256:%x): the file was altered, or the bundle is for another file", name, sig.Digest, digest)}
	}
	if _, err := blob.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	if err := v.VerifySignature(bytes.NewReader(sig.Sig), blob, options.WithContext(ctx)); err != nil {
		return &VerificationError{Image: name, Reason: ReasonWrongKey, Msg: fmt.Sprintf(
			"%s (sha256:%x): the signature does not verify with key %s: the file was altered after signing, the signature is for another file, or another key made it", name, digest, v.Ref)}
	}
	return nil
}

// BlobStatement returns the in-toto statement cosign attest-blob makes:
// subject the blob's name and SHA-256 (hex), predicate built from the
// --type and --predicate file as for image attestations.
func BlobStatement(name, sha256Hex, typ string, predicate []byte, now time.Time) ([]byte, error) {
	uri, err := PredicateTypeURI(typ)
	if err != nil {
		return nil, err
	}
	if _, err := hex.DecodeString(sha256Hex); err != nil || len(sha256Hex) != 2*sha256.Size {
		return nil, fmt.Errorf("%q is not a SHA-256 in hex", sha256Hex)
	}
	pred, err := BuildPredicate(typ, uri, predicate, now)
	if err != nil {
		return nil, err
	}
	return json.Marshal(Statement{Type: StatementV01, PredicateType: uri, Subject: []Subject{{Name: name, Digest: map[string]string{"sha256": sha256Hex}}}, Predicate: pred})
}

// AttestBlob signs an in-toto statement as a DSSE envelope: what cosign
// attest-blob writes to --output-signature (as JSON).
func AttestBlob(ctx context.Context, s *Signer, statement []byte) (*Envelope, error) {
	if _, err := ParseStatement(statement); err != nil {
		return nil, err
	}
	return signDSSE(ctx, s, statement)
}

// BlobAttestation is a signed attestation read for
// verify-blob-attestation, not yet verified.
type BlobAttestation struct {
	payloadType string
	payload     []byte
	sigs        [][]byte
}

// ParseBlobAttestation reads untrusted --signature or --bundle content of
// an attestation: a DSSE envelope (cosign attest-blob's
// --output-signature), a Sigstore bundle with a DSSE envelope, or
// cosign's older bundle JSON around an envelope.
func ParseBlobAttestation(b []byte) (*BlobAttestation, error) {
	t := bytes.TrimSpace(b)
	if len(t) > 0 && t[0] != '{' {
		// cosign also takes the envelope base64-encoded.
		raw, err := decodeB64(string(t))
		if err != nil {
			return nil, errors.New("the attestation is neither JSON (a DSSE envelope or a bundle) nor base64")
		}
		t = bytes.TrimSpace(raw)
	}
	var probe struct {
		PayloadType *string `json:"payloadType"`
	}
	if err := json.Unmarshal(t, &probe); err == nil && probe.PayloadType != nil {
		env, payload, sigs, err := ParseEnvelope(t)
		if err != nil {
			return nil, err
		}
		return &BlobAttestation{payloadType: env.PayloadType, payload: payload, sigs: sigs}, nil
	}
	bj, leg, err := decodeBlobBundle(t)
	if err != nil {
		return nil, err
	}
	if leg != nil {
		raw, err := decodeB64(leg.Base64Signature)
		if err != nil {
			return nil, fmt.Errorf("bundle base64Signature: %w", err)
		}
		env, payload, sigs, err := ParseEnvelope(raw)
		if err != nil {
			return nil, fmt.Errorf("bundle base64Signature: %w", err)
		}
		return &BlobAttestation{payloadType: env.PayloadType, payload: payload, sigs: sigs}, nil
	}
	if bj.DSSEEnvelope == nil {
		return nil, errors.New("Sigstore bundle has no dsseEnvelope: it is a blob signature, not an attestation; use verify-blob")
	}
	sigs, err := bj.DSSEEnvelope.sigs()
	if err != nil {
		return nil, err
	}
	return &BlobAttestation{payloadType: bj.DSSEEnvelope.PayloadType, payload: bj.DSSEEnvelope.Payload, sigs: sigs}, nil
}

// VerifyBlobAttestation checks an attestation with the key and returns
// its in-toto statement. The statement's predicate type must be uri
// (unless empty) and, when sha256Hex is not empty, one of its subjects
// must have that SHA-256 (cosign's --check-claims). name names the blob
// in messages. A failure is a *VerificationError.
func VerifyBlobAttestation(ctx context.Context, v *Verifier, name string, a *BlobAttestation, uri, sha256Hex string) (*Statement, error) {
	fail := func(r Reason, format string, args ...any) error {
		return &VerificationError{Image: name, Reason: r, Msg: name + ": " + fmt.Sprintf(format, args...)}
	}
	if !verifyAny(ctx, v, PAE(a.payloadType, a.payload), a.sigs) {
		return nil, fail(ReasonWrongKey, "the attestation's signature does not verify with key %s: another key made it, or the attestation was altered", v.Ref)
	}
	if a.payloadType != InTotoPayloadType {
		return nil, fail(ReasonMalformed, "the attestation's payload type is %q, not %q", a.payloadType, InTotoPayloadType)
	}
	st, err := ParseStatement(a.payload)
	if err != nil {
		return nil, fail(ReasonMalformed, "%v", err)
	}
	if uri != "" && st.PredicateType != uri {
		return nil, fail(ReasonNoSignature, "the attestation's predicate type is %s, not %s", st.PredicateType, uri)
	}
	if sha256Hex != "" && !st.covers("sha256:"+sha256Hex) {
		return nil, fail(ReasonDigestMismatch, "the attestation is about %s, not this file (sha256:%s): the file was altered, or the attestation is for another file", subjectDigests(st), sha256Hex)
	}
	return st, nil
}
