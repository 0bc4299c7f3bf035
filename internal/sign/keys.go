package sign

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms"
	"github.com/sigstore/sigstore/pkg/signature/options"
)

// PEM block types of cosign's encrypted private key files. bulwark writes
// the SIGSTORE one (as cosign does) and reads both.
const (
	SigstorePrivateKeyPEMType = "ENCRYPTED SIGSTORE PRIVATE KEY"
	CosignPrivateKeyPEMType   = "ENCRYPTED COSIGN PRIVATE KEY"
	publicKeyPEMType          = "PUBLIC KEY"
	maxKeyFileSize            = 64 << 10
)

// KMSSchemes are the key reference prefixes served by a KMS provider.
var KMSSchemes = []string{"awskms://", "gcpkms://", "azurekms://", "hashivault://"}

// IsKMSRef reports whether a key reference names a key in a KMS.
func IsKMSRef(ref string) bool {
	for _, s := range KMSSchemes {
		if strings.HasPrefix(ref, s) {
			return true
		}
	}
	return false
}

// PassFunc returns the password of an encrypted private key; confirm asks
// for it twice (when a new key is written).
type PassFunc func(confirm bool) ([]byte, error)

// PasswordEnv names the environment variables a key password is read from,
// the first one set winning: bulwark's own, then cosign's.
var PasswordEnv = []string{"BULWARK_PASSWORD", "COSIGN_PASSWORD"}

// ErrNoPassword says that an encrypted key has no password to open it with.
var ErrNoPassword = errors.New("no password: set BULWARK_PASSWORD (or COSIGN_PASSWORD)")

// EnvPassword returns a PassFunc that reads the PasswordEnv variables
// through lookup (os.LookupEnv), and asks fallback when none is set; a nil
// fallback gives ErrNoPassword. An empty password that is set is a
// password, as for cosign.
func EnvPassword(lookup func(string) (string, bool), fallback PassFunc) PassFunc {
	return func(confirm bool) ([]byte, error) {
		for _, v := range PasswordEnv {
			if pw, ok := lookup(v); ok {
				return []byte(pw), nil
			}
		}
		if fallback == nil {
			return nil, ErrNoPassword
		}
		return fallback(confirm)
	}
}

// StaticPass is a PassFunc that always returns the same password.
func StaticPass(pw []byte) PassFunc { return func(bool) ([]byte, error) { return pw, nil } }

// GenerateKeyPair creates a new ECDSA P-256 key (cosign's default) and
// returns it as cosign's encrypted private key PEM and a public key PEM.
func GenerateKeyPair(password []byte) (privPEM, pubPEM []byte, err error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating a key: %w", err)
	}
	privPEM, err = EncryptPrivateKey(priv, password)
	if err != nil {
		return nil, nil, err
	}
	pubPEM, err = cryptoutils.MarshalPublicKeyToPEM(priv.Public())
	if err != nil {
		return nil, nil, err
	}
	return privPEM, pubPEM, nil
}

// EncryptPrivateKey encodes a private key in cosign's format: PKCS #8,
// encrypted with scrypt + NaCl secretbox, in an "ENCRYPTED SIGSTORE
// PRIVATE KEY" PEM block.
func EncryptPrivateKey(priv crypto.PrivateKey, password []byte) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encoding the private key: %w", err)
	}
	enc, err := encrypted.Encrypt(der, password)
	if err != nil {
		return nil, fmt.Errorf("encrypting the private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: SigstorePrivateKeyPEMType, Bytes: enc}), nil
}

// ErrWrongPassword is returned when an encrypted key does not decrypt.
var ErrWrongPassword = errors.New("the password does not decrypt the key (wrong password?)")

// DecryptPrivateKey parses cosign's encrypted private key format. The key
// must be ECDSA (P-256/384/521), RSA (2048 bits or more) or Ed25519.
func DecryptPrivateKey(pemBytes, password []byte) (crypto.Signer, error) {
	blk, _ := pem.Decode(pemBytes)
	if blk == nil {
		return nil, errors.New("not a PEM file; expected an \"ENCRYPTED SIGSTORE PRIVATE KEY\" block as written by 'bulwark key generate' or 'cosign generate-key-pair'")
	}
	if blk.Type != SigstorePrivateKeyPEMType && blk.Type != CosignPrivateKeyPEMType {
		return nil, fmt.Errorf("PEM block %q is not an encrypted cosign private key; generate one with 'bulwark key generate' (or import it with 'cosign import-key-pair')", blk.Type)
	}
	der, err := encrypted.Decrypt(blk.Bytes, password)
	if err != nil {
		if strings.Contains(err.Error(), "decryption failed") {
			return nil, ErrWrongPassword
		}
		return nil, fmt.Errorf("decrypting the key: %w", err)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parsing the decrypted key: %w", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported key type %T", k)
	}
	if err := checkKeyType(s.Public()); err != nil {
		return nil, err
	}
	return s, nil
}

// ParsePublicKey parses a PEM "PUBLIC KEY" (PKIX) of a supported type.
func ParsePublicKey(pemBytes []byte) (crypto.PublicKey, error) {
	blk, _ := pem.Decode(pemBytes)
	if blk == nil {
		return nil, errors.New("not a PEM file; expected a \"PUBLIC KEY\" block such as cosign.pub")
	}
	switch blk.Type {
	case publicKeyPEMType:
	case SigstorePrivateKeyPEMType, CosignPrivateKeyPEMType:
		return nil, errors.New("this is a private key; verify with the public key (cosign.pub), which 'bulwark key public --key KEY' prints")
	default:
		return nil, fmt.Errorf("PEM block %q is not a public key; expected \"PUBLIC KEY\"", blk.Type)
	}
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing the public key: %w", err)
	}
	if err := checkKeyType(pub); err != nil {
		return nil, err
	}
	return pub, nil
}

func checkKeyType(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return nil
		}
		return fmt.Errorf("unsupported ECDSA curve %s; use P-256, P-384 or P-521", k.Curve.Params().Name)
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return fmt.Errorf("RSA key of %d bits is too weak; use 2048 bits or more", k.N.BitLen())
		}
		return nil
	case ed25519.PublicKey:
		return nil
	}
	return fmt.Errorf("unsupported key type %T; use ECDSA, RSA or Ed25519", pub)
}

// loadOpts are the options cosign uses: SHA-256, and Ed25519ph for Ed25519.
func loadOpts() []signature.LoadOption {
	return []signature.LoadOption{options.WithHash(crypto.SHA256), options.WithED25519ph()}
}

// Signer signs with a key from any supported reference.
type Signer struct {
	// Ref is the key reference the signer was loaded from.
	Ref string
	signature.Signer
	pub crypto.PublicKey
}

// Public returns the signer's public key.
func (s *Signer) Public() crypto.PublicKey { return s.pub }

// Verifier verifies with a public key from any supported reference.
type Verifier struct {
	// Ref is the key reference the verifier was loaded from.
	Ref string
	signature.Verifier
	pub crypto.PublicKey
}

// Public returns the verifier's public key.
func (v *Verifier) Public() crypto.PublicKey { return v.pub }

// LoadSigner loads a private key from a reference: a cosign key file,
// env://VAR (the PEM in an environment variable), or a KMS URI
// (awskms://, gcpkms://, azurekms://, hashivault://).
func LoadSigner(ctx context.Context, ref string, pf PassFunc) (*Signer, error) {
	if ref == "" {
		return nil, errors.New("no key given: use --key with a key file, env://VAR or a KMS URI")
	}
	if IsKMSRef(ref) {
		sv, err := kmsGet(ctx, ref)
		if err != nil {
			return nil, err
		}
		pub, err := sv.PublicKey(options.WithContext(ctx))
		if err != nil {
			return nil, fmt.Errorf("key %s: reading the public key from the KMS: %w", ref, err)
		}
		return &Signer{Ref: ref, Signer: sv, pub: pub}, nil
	}
	raw, err := readKeyRef(ref)
	if err != nil {
		return nil, err
	}
	if pf == nil {
		return nil, fmt.Errorf("key %s: it is encrypted and no password source was given", ref)
	}
	pw, err := pf(false)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", ref, err)
	}
	priv, err := DecryptPrivateKey(raw, pw)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", ref, err)
	}
	sv, err := signature.LoadSignerVerifierWithOpts(priv, loadOpts()...)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", ref, err)
	}
	return &Signer{Ref: ref, Signer: sv, pub: priv.Public()}, nil
}

// LoadVerifier loads a public key from a reference: a public key file
// (cosign.pub), env://VAR, or a KMS URI. A KMS key is asked for its public
// key once; verification then happens locally.
func LoadVerifier(ctx context.Context, ref string) (*Verifier, error) {
	if ref == "" {
		return nil, errors.New("no key given: use --key with a public key file, env://VAR or a KMS URI")
	}
	var pub crypto.PublicKey
	if IsKMSRef(ref) {
		sv, err := kmsGet(ctx, ref)
		if err != nil {
			return nil, err
		}
		pub, err = sv.PublicKey(options.WithContext(ctx))
		if err != nil {
			return nil, fmt.Errorf("key %s: reading the public key from the KMS: %w", ref, err)
		}
	} else {
		raw, err := readKeyRef(ref)
		if err != nil {
			return nil, err
		}
		pub, err = ParsePublicKey(raw)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", ref, err)
		}
	}
	return VerifierFromPublicKey(ref, pub)
}

// VerifierFromPublicKey wraps a public key as a Verifier.
func VerifierFromPublicKey(ref string, pub crypto.PublicKey) (*Verifier, error) {
	if err := checkKeyType(pub); err != nil {
		return nil, fmt.Errorf("key %s: %w", ref, err)
	}
	v, err := signature.LoadVerifierWithOpts(pub, loadOpts()...)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", ref, err)
	}
	return &Verifier{Ref: ref, Verifier: v, pub: pub}, nil
}

// PublicKeyPEM returns the PEM of the public key a reference names; for an
// encrypted private key file, pf gives the password.
func PublicKeyPEM(ctx context.Context, ref string, pf PassFunc) ([]byte, error) {
	if !IsKMSRef(ref) {
		raw, err := readKeyRef(ref)
		if err != nil {
			return nil, err
		}
		if pub, err := ParsePublicKey(raw); err == nil {
			return cryptoutils.MarshalPublicKeyToPEM(pub)
		}
	}
	s, err := LoadSigner(ctx, ref, pf)
	if err != nil {
		return nil, err
	}
	return cryptoutils.MarshalPublicKeyToPEM(s.Public())
}

// CreateKMSKey creates a new asymmetric signing key in a KMS (with the
// provider's default algorithm, ECDSA P-256 with SHA-256 where offered) and
// returns its public key.
func CreateKMSKey(ctx context.Context, ref string) (crypto.PublicKey, error) {
	sv, err := kmsGet(ctx, ref)
	if err != nil {
		return nil, err
	}
	pub, err := sv.CreateKey(ctx, sv.DefaultAlgorithm())
	if err != nil {
		return nil, fmt.Errorf("key %s: creating the key in the KMS: %w", ref, err)
	}
	return pub, nil
}

func kmsGet(ctx context.Context, ref string) (kms.SignerVerifier, error) {
	sv, err := kms.Get(ctx, ref, crypto.SHA256)
	if err != nil {
		var nf *kms.ProviderNotFoundError
		if errors.As(err, &nf) {
			return nil, fmt.Errorf("key %s: no KMS provider for this reference; supported: %s", ref, strings.Join(KMSSchemes, ", "))
		}
		return nil, fmt.Errorf("key %s: %w (check the URI form in docs/sign.md and the provider's credentials)", ref, err)
	}
	return sv, nil
}

// readKeyRef reads a key file or env://VAR.
func readKeyRef(ref string) ([]byte, error) {
	if v, ok := strings.CutPrefix(ref, "env://"); ok {
		val, set := os.LookupEnv(v)
		if !set || val == "" {
			return nil, fmt.Errorf("key %s: environment variable %s is not set; put the PEM key in it", ref, v)
		}
		return []byte(val), nil
	}
	if i := strings.Index(ref, "://"); i > 0 && !strings.ContainsAny(ref[:i], "/.") {
		return nil, fmt.Errorf("key %s: unsupported key reference scheme %q; use a file, env://VAR, %s", ref, ref[:i+3], strings.Join(KMSSchemes, ", "))
	}
	f, err := os.Open(ref)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", ref, err)
	}
	defer f.Close()
	buf, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", ref, err)
	}
	if len(buf) > maxKeyFileSize {
		return nil, fmt.Errorf("key %s: larger than %d bytes, not a key file", ref, maxKeyFileSize)
	}
	return buf, nil
}
