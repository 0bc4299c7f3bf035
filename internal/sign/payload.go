package sign

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// Media types and annotation keys of cosign's signature layout.
const (
	// SimpleSigningMediaType is the media type of a signature layer: its
	// blob is the signed payload.
	SimpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	// SignatureAnnotation holds the base64 signature on a signature layer.
	SignatureAnnotation = "dev.cosignproject.cosign/signature"
	// BundleAnnotation holds the transparency-log bundle of a signature.
	BundleAnnotation = "dev.sigstore.cosign/bundle"
	// SignatureType is the critical.type of every cosign signature payload.
	SignatureType = payload.CosignSignatureType

	maxPayloadSize = 1 << 20
)

var digestRE = regexp.MustCompile(`^sha(256:[a-f0-9]{64}|384:[a-f0-9]{96}|512:[a-f0-9]{128})$`)

// Payload is a parsed simple-signing payload: what a signature covers.
type Payload struct {
	// DockerReference is the repository the signer claimed.
	DockerReference string
	// Digest is the manifest digest the signature covers.
	Digest string
	// Annotations are the signer's optional claims (-a key=value).
	Annotations map[string]any
}

// MakePayload returns the simple-signing payload cosign writes for an
// image digest and optional annotations.
func MakePayload(d name.Digest, annotations map[string]string) ([]byte, error) {
	var opt map[string]any
	if len(annotations) > 0 {
		opt = make(map[string]any, len(annotations))
		for k, v := range annotations {
			opt[k] = v
		}
	}
	return payload.Cosign{Image: d, Annotations: opt}.MarshalJSON()
}

type rawPayload struct {
	Critical *struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
	Optional map[string]any `json:"optional"`
}

// ParsePayload parses and checks a simple-signing payload. It is given
// untrusted bytes (but only after their signature verified).
func ParsePayload(b []byte) (*Payload, error) {
	if len(b) > maxPayloadSize {
		return nil, fmt.Errorf("signature payload of %d bytes is larger than %d", len(b), maxPayloadSize)
	}
	var raw rawPayload
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("signature payload is not JSON: %w", err)
	}
	if dec.More() {
		return nil, errors.New("signature payload has trailing data after the JSON object")
	}
	if raw.Critical == nil {
		return nil, errors.New("signature payload has no \"critical\" section")
	}
	if raw.Critical.Type != SignatureType {
		return nil, fmt.Errorf("signature payload type is %q, not %q", raw.Critical.Type, SignatureType)
	}
	d := raw.Critical.Image.DockerManifestDigest
	if !digestRE.MatchString(d) {
		return nil, fmt.Errorf("signature payload digest %q is not a valid digest", d)
	}
	return &Payload{DockerReference: raw.Critical.Identity.DockerReference, Digest: d, Annotations: raw.Optional}, nil
}

// annotationsMatch reports the first wanted annotation the claims lack.
func annotationsMatch(have map[string]any, want map[string]string) (string, bool) {
	for k, v := range want {
		got, ok := have[k]
		if !ok {
			return fmt.Sprintf("%s=%s (missing)", k, v), false
		}
		if fmt.Sprint(got) != v {
			return fmt.Sprintf("%s=%s (signed %s=%v)", k, v, k, got), false
		}
	}
	return "", true
}
