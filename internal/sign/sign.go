// Package sign signs and verifies container images in cosign's formats:
// simple-signing payloads in the "sha256-<digest>.sig" tag layout, in-toto
// attestations in DSSE envelopes in the ".att" tag layout, and Sigstore
// bundles through the OCI 1.1 referrers API. Keys come from cosign key
// files, env://, or a KMS (awskms://, gcpkms://, azurekms://,
// hashivault://). Verification is offline: no TUF, no transparency log.
package sign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature/options"
)

// Sigstore bundle layout (OCI 1.1 referrers).
const (
	// BundleMediaType is the media type (and artifact type) of a Sigstore
	// bundle stored as a referrer.
	BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// SignPredicateType is the predicate of a bundle that signs an image
	// (as cosign --new-bundle-format writes it).
	SignPredicateType = "https://sigstore.dev/cosign/sign/v1"
)

// SignOptions configures SignImage.
type SignOptions struct {
	// Annotations are signed claims added to the payload (-a key=value).
	Annotations map[string]string
	// Bundle stores a Sigstore bundle as an OCI 1.1 referrer instead of
	// the .sig tag (the registry must accept manifests with a subject).
	Bundle bool
	// TlogURL, when set, uploads the signature to this Rekor transparency
	// log and attaches the returned bundle (tag layout only).
	TlogURL string
}

// SignResult says what was signed and where the signature went.
type SignResult struct {
	// Digest is the image reference by digest that was signed.
	Digest string `json:"digest"`
	// Signature is the tag or referrer the signature was stored in.
	Signature string `json:"signature"`
}

// SignImage signs an image's manifest digest (a tag is resolved once) and
// stores the signature where cosign does.
func SignImage(ctx context.Context, reg *Registry, imageRef string, s *Signer, o SignOptions) (*SignResult, error) {
	d, err := reg.Resolve(ctx, imageRef)
	if err != nil {
		return nil, err
	}
	if o.Bundle {
		st, err := json.Marshal(Statement{Type: StatementV1, PredicateType: SignPredicateType, Subject: []Subject{subjectOf(d, false)}, Predicate: annotationsPredicate(o.Annotations)})
		if err != nil {
			return nil, err
		}
		where, err := writeBundle(ctx, reg, d, s, st, SignPredicateType)
		if err != nil {
			return nil, err
		}
		return &SignResult{Digest: d.String(), Signature: where}, nil
	}
	payload, err := MakePayload(d, o.Annotations)
	if err != nil {
		return nil, err
	}
	sig, err := s.SignMessage(bytes.NewReader(payload), options.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("signing with %s: %w", s.Ref, err)
	}
	ann := map[string]string{SignatureAnnotation: base64.StdEncoding.EncodeToString(sig)}
	if o.TlogURL != "" {
		b, err := uploadTlog(ctx, o.TlogURL, payload, sig, s.Public())
		if err != nil {
			return nil, err
		}
		ann[BundleAnnotation] = string(b)
	}
	tag, err := reg.TagFor(d, "sig")
	if err != nil {
		return nil, err
	}
	if err := reg.appendToTag(ctx, tag, artifact{MediaType: SimpleSigningMediaType, Annotations: ann, Data: payload}, maxPayloadSize); err != nil {
		return nil, err
	}
	return &SignResult{Digest: d.String(), Signature: tag.String()}, nil
}

func annotationsPredicate(a map[string]string) json.RawMessage {
	if len(a) == 0 {
		return nil
	}
	b, _ := json.Marshal(map[string]any{"annotations": a})
	return b
}

func subjectOf(d name.Digest, withName bool) Subject {
	alg, hex, _ := cutDigest(d.DigestStr())
	s := Subject{Digest: map[string]string{alg: hex}}
	if withName {
		s.Name = d.Context().Name()
	}
	return s
}

// signDSSE signs a statement and returns the DSSE envelope JSON.
func signDSSE(ctx context.Context, s *Signer, statement []byte) (*Envelope, error) {
	sig, err := s.SignMessage(bytes.NewReader(PAE(InTotoPayloadType, statement)), options.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("signing with %s: %w", s.Ref, err)
	}
	return &Envelope{
		PayloadType: InTotoPayloadType,
		Payload:     base64.StdEncoding.EncodeToString(statement),
		Signatures:  []EnvelopeSig{{Sig: base64.StdEncoding.EncodeToString(sig)}},
	}, nil
}

// bundleJSON is the subset of a Sigstore bundle v0.3 bulwark writes and
// reads: a DSSE envelope (images, attestations) or a message signature
// (blobs), with the key's hint as verification material.
type bundleJSON struct {
	MediaType            string `json:"mediaType"`
	VerificationMaterial struct {
		PublicKey *bundleKeyHint `json:"publicKey,omitempty"`
	} `json:"verificationMaterial"`
	DSSEEnvelope     *bundleDSSE    `json:"dsseEnvelope,omitempty"`
	MessageSignature *bundleMessage `json:"messageSignature,omitempty"`
}

type bundleKeyHint struct {
	Hint string `json:"hint"`
}

// bundleDSSE is a bundle's DSSE envelope (protobuf JSON: bytes in base64).
type bundleDSSE struct {
	Payload     []byte      `json:"payload"`
	PayloadType string      `json:"payloadType"`
	Signatures  []bundleSig `json:"signatures"`
}

type bundleSig struct {
	Sig   []byte `json:"sig"`
	KeyID string `json:"keyid,omitempty"`
}

// bundleMessage is a bundle's signature over a blob.
type bundleMessage struct {
	MessageDigest *bundleDigest `json:"messageDigest,omitempty"`
	Signature     []byte        `json:"signature"`
}

type bundleDigest struct {
	Algorithm string `json:"algorithm"`
	Digest    []byte `json:"digest"`
}

// newBundle starts a bundle whose verification material is the hint of
// a public key (base64 of the SHA-256 of its DER), as cosign writes it.
func newBundle(pub crypto.PublicKey) (*bundleJSON, error) {
	der, err := cryptoutils.MarshalPublicKeyToDER(pub)
	if err != nil {
		return nil, err
	}
	hint := sha256.Sum256(der)
	b := &bundleJSON{MediaType: BundleMediaType}
	b.VerificationMaterial.PublicKey = &bundleKeyHint{Hint: base64.StdEncoding.EncodeToString(hint[:])}
	return b, nil
}

// dsseBundle signs a statement and returns it as a Sigstore bundle with
// a DSSE envelope.
func dsseBundle(ctx context.Context, s *Signer, statement []byte) ([]byte, error) {
	env, err := signDSSE(ctx, s, statement)
	if err != nil {
		return nil, err
	}
	return envelopeBundle(s.Public(), env)
}

// envelopeBundle puts a signed in-toto DSSE envelope in a Sigstore bundle.
func envelopeBundle(pub crypto.PublicKey, env *Envelope) ([]byte, error) {
	statement, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return nil, err
	}
	b, err := newBundle(pub)
	if err != nil {
		return nil, err
	}
	b.DSSEEnvelope = &bundleDSSE{Payload: statement, PayloadType: env.PayloadType}
	for _, es := range env.Signatures {
		sig, err := base64.StdEncoding.DecodeString(es.Sig)
		if err != nil {
			return nil, err
		}
		b.DSSEEnvelope.Signatures = append(b.DSSEEnvelope.Signatures, bundleSig{Sig: sig})
	}
	return json.Marshal(b)
}

func writeBundle(ctx context.Context, reg *Registry, d name.Digest, s *Signer, statement []byte, predicateType string) (string, error) {
	raw, err := dsseBundle(ctx, s, statement)
	if err != nil {
		return "", err
	}
	ann := map[string]string{
		"org.opencontainers.image.created":  time.Now().UTC().Format(time.RFC3339),
		"dev.sigstore.bundle.content":       "dsse-envelope",
		"dev.sigstore.bundle.predicateType": predicateType,
	}
	target, err := reg.writeReferrer(ctx, d, BundleMediaType, artifact{MediaType: BundleMediaType, Annotations: ann, Data: raw})
	if err != nil {
		return "", err
	}
	return target.String(), nil
}

// decodeBundle parses a Sigstore bundle from untrusted bytes.
func decodeBundle(b []byte) (*bundleJSON, error) {
	if len(b) > maxEnvelopeSize {
		return nil, fmt.Errorf("bundle of %d bytes is larger than %d", len(b), maxEnvelopeSize)
	}
	var bj bundleJSON
	if err := json.Unmarshal(b, &bj); err != nil {
		return nil, fmt.Errorf("Sigstore bundle is not valid JSON: %w", err)
	}
	return &bj, nil
}

// parseBundle returns the in-toto DSSE payload and signatures of a bundle.
func parseBundle(b []byte) (payload []byte, sigs [][]byte, err error) {
	bj, err := decodeBundle(b)
	if err != nil {
		return nil, nil, err
	}
	if bj.DSSEEnvelope == nil {
		return nil, nil, fmt.Errorf("Sigstore bundle has no dsseEnvelope (message signatures are not supported for images)")
	}
	if bj.DSSEEnvelope.PayloadType != InTotoPayloadType {
		return nil, nil, fmt.Errorf("Sigstore bundle payload type %q is not in-toto", bj.DSSEEnvelope.PayloadType)
	}
	sigs, err = bj.DSSEEnvelope.sigs()
	return bj.DSSEEnvelope.Payload, sigs, err
}

// sigs returns the envelope's signatures (1 to 64 of them).
func (e *bundleDSSE) sigs() ([][]byte, error) {
	if len(e.Signatures) == 0 || len(e.Signatures) > 64 {
		return nil, fmt.Errorf("Sigstore bundle has %d signatures", len(e.Signatures))
	}
	sigs := make([][]byte, 0, len(e.Signatures))
	for _, s := range e.Signatures {
		sigs = append(sigs, s.Sig)
	}
	return sigs, nil
}
