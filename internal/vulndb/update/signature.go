package update

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/bulwark-sec/bulwark/internal/sign"
)

// Signature is a database artifact's cosign signature, kept next to the
// database (SignaturePath) so that 'db export' can carry it to another
// machine: the artifact's manifest, the simple-signing payload that names
// the manifest's digest, and the signature over that payload. The chain
// key → payload → manifest → database layer digest covers the file.
type Signature struct {
	Manifest  []byte `json:"manifest"`
	Payload   []byte `json:"payload"`
	Signature []byte `json:"signature"`
}

// maxSignatureSize bounds a signature file read from a bundle or disk.
const maxSignatureSize = 1 << 20

// SignaturePath is where the signature of the database at db is kept.
func SignaturePath(db string) string { return db + ".sig" }

// Check verifies the signature with key, and that it covers a database
// file whose SHA-256 (hex) and size are these.
func (s *Signature) Check(key *sign.Verifier, sha string, size int64) error {
	if err := key.VerifySignature(bytes.NewReader(s.Signature), bytes.NewReader(s.Payload)); err != nil {
		return fmt.Errorf("the signature does not verify with %s", key.Ref)
	}
	p, err := sign.ParsePayload(s.Payload)
	if err != nil {
		return fmt.Errorf("the signed payload: %w", err)
	}
	sum := sha256.Sum256(s.Manifest)
	if got := "sha256:" + hex.EncodeToString(sum[:]); p.Digest != got {
		return fmt.Errorf("the signature covers %s, not this manifest (%s)", p.Digest, got)
	}
	m, err := v1.ParseManifest(bytes.NewReader(s.Manifest))
	if err != nil {
		return fmt.Errorf("the signed manifest does not parse: %w", err)
	}
	ld, err := dbLayer(m)
	if err != nil {
		return err
	}
	if ld.Digest.String() != "sha256:"+sha || ld.Size != size {
		return fmt.Errorf("the signed manifest names a database %s of %d bytes, this one is sha256:%s of %d bytes", ld.Digest, ld.Size, sha, size)
	}
	return nil
}

// readSignature reads a signature file (JSON), bounded in size.
func readSignature(r io.Reader) (*Signature, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxSignatureSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSignatureSize {
		return nil, errors.New("the signature is larger than 1 MiB")
	}
	var s Signature
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("the signature does not parse: %w", err)
	}
	if len(s.Manifest) == 0 || len(s.Payload) == 0 || len(s.Signature) == 0 {
		return nil, errors.New("the signature lacks its manifest, payload or signature")
	}
	return &s, nil
}

// loadSignature reads the signature kept next to the database at db; nil
// when there is none.
func loadSignature(db string) (*Signature, error) {
	f, err := os.Open(SignaturePath(db))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := readSignature(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", SignaturePath(db), err)
	}
	return s, nil
}
