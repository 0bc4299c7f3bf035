package sign

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore/pkg/signature/options"
	"github.com/sigstore/sigstore/pkg/signature/payload"

	"github.com/bulwark-sec/bulwark/internal/registry"
)

// Reason classifies a failed verification.
type Reason string

// The reasons a verification fails.
const (
	// ReasonNoSignature: no signature (or attestation) was found.
	ReasonNoSignature Reason = "no-signature"
	// ReasonWrongKey: signatures exist but none verifies with the key
	// (another key made them, or the payload was altered).
	ReasonWrongKey Reason = "wrong-key"
	// ReasonDigestMismatch: a valid signature covers another digest.
	ReasonDigestMismatch Reason = "digest-mismatch"
	// ReasonAnnotationMismatch: a valid signature lacks a required annotation.
	ReasonAnnotationMismatch Reason = "annotation-mismatch"
	// ReasonMalformed: what was found is not a well-formed signature.
	ReasonMalformed Reason = "malformed"
	// ReasonPolicy: a verified attestation fails the policy.
	ReasonPolicy Reason = "policy"
)

// VerificationError says that an image did not verify, and why. It is the
// "no" of the gate, as opposed to an error that kept bulwark from
// answering (unreachable registry, bad key reference).
type VerificationError struct {
	// Image is the image by digest (for a blob, the file's name).
	Image string
	// Reason classifies the failure.
	Reason Reason
	// Msg is the message for a person.
	Msg string
}

func (e *VerificationError) Error() string { return e.Msg }

// IsVerificationFailure reports whether err says the image did not verify
// (as opposed to a failure to check).
func IsVerificationFailure(err error) bool {
	var ve *VerificationError
	return errors.As(err, &ve)
}

// VerifyOptions configures VerifyImage.
type VerifyOptions struct {
	// Registry is the registry access (nil: the defaults).
	Registry *registry.Client
	// Annotations must all be present, with these values, in the signature.
	Annotations map[string]string
}

// Result is the outcome of a signature verification.
type Result struct {
	// Image is the image as given.
	Image string `json:"image"`
	// Digest is the image by digest: what was verified.
	Digest string `json:"digest"`
	// Verified is true when at least one signature verified.
	Verified bool `json:"verified"`
	// Signatures are the signatures that verified.
	Signatures []VerifiedSignature `json:"signatures,omitempty"`
	// Found is how many signatures were examined.
	Found int `json:"found"`
}

// VerifiedSignature is one signature that verified.
type VerifiedSignature struct {
	// Layout is "tag" (cosign's .sig tag) or "bundle" (OCI referrer).
	Layout string `json:"layout"`
	// Location is the tag or referrer it was found in.
	Location string `json:"location"`
	// DockerReference is the repository the signer claimed, if any.
	DockerReference string `json:"dockerReference,omitempty"`
	// Annotations are the signed annotations.
	Annotations map[string]any `json:"annotations,omitempty"`
	// Payload is the simple-signing payload that verified (for a bundle,
	// the one cosign's tag layout would carry for the same claims): what
	// 'cosign verify -o json' prints.
	Payload json.RawMessage `json:"-"`
	// Signature is the signature over Payload (tag layout only), for
	// carrying the signature elsewhere.
	Signature []byte `json:"-"`
}

// VerifyImage verifies that an image (a reference by tag or digest; a tag
// is resolved once) carries a signature over its digest that verifies
// with the key keyRef. It returns the result and nil when it does; a
// *VerificationError (see IsVerificationFailure) when it does not; any
// other error when it could not check. This is the function lint's
// CIS-DI-0005 calls.
func VerifyImage(ctx context.Context, imageRef, keyRef string, o VerifyOptions) (*Result, error) {
	reg, err := NewRegistry(ctx, o.Registry)
	if err != nil {
		return nil, err
	}
	v, err := LoadVerifier(ctx, keyRef)
	if err != nil {
		return nil, err
	}
	return Verify(ctx, reg, imageRef, v, o.Annotations)
}

// tally counts why candidate signatures failed, to explain the verdict.
type tally struct {
	found, wrongKey, malformed int
	otherDigests               []string
	annMismatch                []string
	readErrs                   []string
}

// Verify is VerifyImage with a prepared registry and key, for verifying
// many images.
func Verify(ctx context.Context, reg *Registry, imageRef string, v *Verifier, want map[string]string) (*Result, error) {
	d, err := reg.Resolve(ctx, imageRef)
	if err != nil {
		return nil, err
	}
	res := &Result{Image: imageRef, Digest: d.String()}
	var t tally

	tag, arts, err := reg.readArtifacts(ctx, d, "sig", maxPayloadSize, &t)
	if err != nil {
		return nil, err
	}
	for _, a := range arts {
		t.found++
		if a.MediaType != SimpleSigningMediaType {
			t.malformed++
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(a.Annotations[SignatureAnnotation])
		if err != nil || len(sig) == 0 {
			t.malformed++
			continue
		}
		if err := v.VerifySignature(bytesReader(sig), bytesReader(a.Data), options.WithContext(ctx)); err != nil {
			t.wrongKey++
			continue
		}
		p, err := ParsePayload(a.Data)
		if err != nil {
			t.malformed++
			t.readErrs = append(t.readErrs, a.Where+": "+err.Error())
			continue
		}
		if p.Digest != d.DigestStr() {
			t.otherDigests = append(t.otherDigests, p.Digest)
			continue
		}
		if miss, ok := annotationsMatch(p.Annotations, want); !ok {
			t.annMismatch = append(t.annMismatch, miss)
			continue
		}
		res.Signatures = append(res.Signatures, VerifiedSignature{Layout: "tag", Location: tag.String(), DockerReference: p.DockerReference, Annotations: p.Annotations, Payload: a.Data, Signature: sig})
	}

	if len(res.Signatures) == 0 {
		if err := verifyBundles(ctx, reg, d, v, want, res, &t); err != nil {
			return nil, err
		}
	}
	res.Found = t.found
	if len(res.Signatures) > 0 {
		res.Verified = true
		return res, nil
	}
	return res, t.verdict(d, v.Ref, "signature", "sign it with 'bulwark sign "+d.String()+" --key KEY'")
}

// verifyBundles looks for Sigstore bundles referring to the image.
func verifyBundles(ctx context.Context, reg *Registry, d name.Digest, v *Verifier, want map[string]string, res *Result, t *tally) error {
	arts, err := reg.readReferrers(ctx, d, BundleMediaType, maxPayloadSize)
	if err != nil {
		if !isMalformed(err) {
			return err
		}
		t.readErrs = append(t.readErrs, err.Error())
	}
	for _, a := range arts {
		st, ok := verifyBundleArtifact(ctx, a, v, t)
		if !ok || st.PredicateType != SignPredicateType {
			continue
		}
		if !st.covers(d.DigestStr()) {
			t.otherDigests = append(t.otherDigests, subjectDigests(st))
			continue
		}
		var pred struct {
			Annotations map[string]any `json:"annotations"`
		}
		if len(st.Predicate) > 0 {
			_ = json.Unmarshal(st.Predicate, &pred)
		}
		if miss, ok := annotationsMatch(pred.Annotations, want); !ok {
			t.annMismatch = append(t.annMismatch, miss)
			continue
		}
		p, err := payload.Cosign{Image: d, Annotations: pred.Annotations}.MarshalJSON()
		if err != nil {
			return err
		}
		res.Signatures = append(res.Signatures, VerifiedSignature{Layout: "bundle", Location: a.Where, Annotations: pred.Annotations, Payload: p})
	}
	return nil
}

// verifyBundleArtifact checks a bundle's DSSE signature and returns its
// statement.
func verifyBundleArtifact(ctx context.Context, a artifact, v *Verifier, t *tally) (*Statement, bool) {
	t.found++
	payload, sigs, err := parseBundle(a.Data)
	if err != nil {
		t.malformed++
		t.readErrs = append(t.readErrs, a.Where+": "+err.Error())
		return nil, false
	}
	if !verifyAny(ctx, v, PAE(InTotoPayloadType, payload), sigs) {
		t.wrongKey++
		return nil, false
	}
	st, err := ParseStatement(payload)
	if err != nil {
		t.malformed++
		t.readErrs = append(t.readErrs, a.Where+": "+err.Error())
		return nil, false
	}
	return st, true
}

func verifyAny(ctx context.Context, v *Verifier, msg []byte, sigs [][]byte) bool {
	for _, s := range sigs {
		if err := v.VerifySignature(bytesReader(s), bytesReader(msg), options.WithContext(ctx)); err == nil {
			return true
		}
	}
	return false
}

func subjectDigests(st *Statement) string {
	var ds []string
	for _, s := range st.Subject {
		for alg, h := range s.Digest {
			ds = append(ds, alg+":"+h)
		}
	}
	sort.Strings(ds)
	return strings.Join(ds, ",")
}

// verdict explains why nothing verified, most telling reason first.
func (t *tally) verdict(d name.Digest, keyRef, what, hint string) error {
	img := d.String()
	fail := func(r Reason, format string, args ...any) error {
		return &VerificationError{Image: img, Reason: r, Msg: fmt.Sprintf("image %s: ", img) + fmt.Sprintf(format, args...)}
	}
	switch {
	case len(t.annMismatch) > 0:
		return fail(ReasonAnnotationMismatch, "a %s by key %s verifies but its annotations do not match: want %s", what, keyRef, t.annMismatch[0])
	case len(t.otherDigests) > 0:
		return fail(ReasonDigestMismatch, "a %s by key %s verifies but covers %s, not this image's digest %s: the payload digest does not match the image (a signature copied from another image, or the tag was moved after signing)", what, keyRef, t.otherDigests[0], d.DigestStr())
	case t.wrongKey > 0:
		return fail(ReasonWrongKey, "%d %s(s) found, none verifies with key %s: signed by another key, or the signed payload was altered", t.wrongKey, what, keyRef)
	case t.malformed > 0 || len(t.readErrs) > 0:
		detail := ""
		if len(t.readErrs) > 0 {
			detail = ": " + t.readErrs[0]
		}
		return fail(ReasonMalformed, "no valid %s found; what is stored is malformed%s", what, detail)
	}
	return fail(ReasonNoSignature, "no %s found (looked for cosign's tag and OCI referrers); %s", what, hint)
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
