package sign

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// DSSE and in-toto constants of cosign's attestation layout.
const (
	// InTotoPayloadType is the DSSE payload type of an in-toto statement.
	InTotoPayloadType = "application/vnd.in-toto+json"
	// DSSEMediaType is the media type of an attestation layer.
	DSSEMediaType = "application/vnd.dsse.envelope.v1+json"
	// PredicateTypeAnnotation names the predicate type on an attestation layer.
	PredicateTypeAnnotation = "predicateType"
	// StatementV01 is the in-toto statement type cosign attest writes.
	StatementV01 = "https://in-toto.io/Statement/v0.1"
	// StatementV1 is the in-toto statement type of Sigstore bundles.
	StatementV1 = "https://in-toto.io/Statement/v1"

	maxEnvelopeSize = 64 << 20
)

// Envelope is a DSSE envelope (https://github.com/secure-systems-lab/dsse).
type Envelope struct {
	PayloadType string        `json:"payloadType"`
	Payload     string        `json:"payload"`
	Signatures  []EnvelopeSig `json:"signatures"`
}

// EnvelopeSig is one signature of an Envelope.
type EnvelopeSig struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"`
}

// PAE is DSSE's pre-authentication encoding: what is actually signed.
func PAE(payloadType string, payload []byte) []byte {
	var b bytes.Buffer
	b.Grow(32 + len(payloadType) + len(payload))
	b.WriteString("DSSEv1 ")
	b.WriteString(strconv.Itoa(len(payloadType)))
	b.WriteByte(' ')
	b.WriteString(payloadType)
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(len(payload)))
	b.WriteByte(' ')
	b.Write(payload)
	return b.Bytes()
}

// ParseEnvelope parses a DSSE envelope from untrusted bytes and returns it
// with its decoded payload and signatures.
func ParseEnvelope(b []byte) (*Envelope, []byte, [][]byte, error) {
	if len(b) > maxEnvelopeSize {
		return nil, nil, nil, fmt.Errorf("DSSE envelope of %d bytes is larger than %d", len(b), maxEnvelopeSize)
	}
	var env Envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, nil, nil, fmt.Errorf("DSSE envelope is not valid JSON: %w", err)
	}
	if env.PayloadType == "" {
		return nil, nil, nil, errors.New("DSSE envelope has no payloadType")
	}
	payload, err := decodeB64(env.Payload)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("DSSE payload: %w", err)
	}
	if len(env.Signatures) == 0 {
		return nil, nil, nil, errors.New("DSSE envelope has no signatures")
	}
	if len(env.Signatures) > 64 {
		return nil, nil, nil, fmt.Errorf("DSSE envelope has %d signatures, more than 64", len(env.Signatures))
	}
	sigs := make([][]byte, 0, len(env.Signatures))
	for i, s := range env.Signatures {
		sig, err := decodeB64(s.Sig)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("DSSE signature %d: %w", i, err)
		}
		sigs = append(sigs, sig)
	}
	return &env, payload, sigs, nil
}

func decodeB64(s string) ([]byte, error) {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	b, err := base64.URLEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("not base64")
	}
	return b, nil
}

// Statement is an in-toto statement.
type Statement struct {
	Type          string          `json:"_type"`
	PredicateType string          `json:"predicateType"`
	Subject       []Subject       `json:"subject"`
	Predicate     json.RawMessage `json:"predicate,omitempty"`
}

// Subject is an artifact a statement is about.
type Subject struct {
	Name   string            `json:"name,omitempty"`
	Digest map[string]string `json:"digest"`
}

// ParseStatement parses an in-toto statement from a verified payload.
func ParseStatement(b []byte) (*Statement, error) {
	var st Statement
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("in-toto statement is not valid JSON: %w", err)
	}
	if st.Type != StatementV01 && st.Type != StatementV1 {
		return nil, fmt.Errorf("in-toto statement type %q is not supported", st.Type)
	}
	if st.PredicateType == "" {
		return nil, errors.New("in-toto statement has no predicateType")
	}
	if len(st.Subject) == 0 {
		return nil, errors.New("in-toto statement has no subject")
	}
	return &st, nil
}

// covers reports whether a statement's subjects include a digest
// ("sha256:hex").
func (st *Statement) covers(digest string) bool {
	alg, hex, ok := cutDigest(digest)
	if !ok {
		return false
	}
	for _, s := range st.Subject {
		if s.Digest[alg] == hex {
			return true
		}
	}
	return false
}

func cutDigest(d string) (alg, hex string, ok bool) {
	for i := 0; i < len(d); i++ {
		if d[i] == ':' {
			return d[:i], d[i+1:], i > 0 && i < len(d)-1
		}
	}
	return "", "", false
}
