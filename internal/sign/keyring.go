package sign

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Keyring holds the verifiers of a list of key references for a long-
// running process: key files are read at once (a bad one is an error),
// a KMS key that cannot be reached yet is loaded on first use and then
// kept, so that verification stays local.
type Keyring struct {
	mu     sync.Mutex
	refs   []string
	loaded []*Verifier
}

// NewKeyring loads the keys; warn (may be nil) hears of each KMS key
// left for later.
func NewKeyring(ctx context.Context, refs []string, warn func(string)) (*Keyring, error) {
	k := &Keyring{refs: refs, loaded: make([]*Verifier, len(refs))}
	for i, ref := range refs {
		v, err := LoadVerifier(ctx, ref)
		switch {
		case err == nil:
			k.loaded[i] = v
		case IsKMSRef(ref):
			if warn != nil {
				warn(fmt.Sprintf("key %s: %v; will try again on first use", ref, err))
			}
		default:
			return nil, err
		}
	}
	return k, nil
}

// Verifiers returns the loaded verifiers, loading those that could not
// be loaded before; an error only when none is loaded.
func (k *Keyring) Verifiers(ctx context.Context) ([]*Verifier, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var errs []error
	for i, ref := range k.refs {
		if k.loaded[i] != nil {
			continue
		}
		v, err := LoadVerifier(ctx, ref)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		k.loaded[i] = v
	}
	out := make([]*Verifier, 0, len(k.loaded))
	for _, v := range k.loaded {
		if v != nil {
			out = append(out, v)
		}
	}
	if len(errs) > 0 && len(out) == 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// Status is an image's signature status.
type Status string

// The signature statuses.
const (
	// Signed: a signature over the digest verifies with one of the keys.
	Signed Status = "signed"
	// Unsigned: no signature was found.
	Unsigned Status = "unsigned"
	// Invalid: signatures exist but none verifies with the keys (another
	// key, another digest, a missing annotation, malformed).
	Invalid Status = "invalid"
)

// ImageStatus checks an image (by digest) against each verifier: Signed
// with the reference of the first key that verifies; else Unsigned when
// no key found any signature; else Invalid with why each key refused
// it. An error is a failure to check (registry or KMS unreachable).
func ImageStatus(ctx context.Context, reg *Registry, ref string, vs []*Verifier, want map[string]string) (st Status, detail string, err error) {
	st = Unsigned
	var why []string
	for _, v := range vs {
		_, err := Verify(ctx, reg, ref, v, want)
		if err == nil {
			return Signed, v.Ref, nil
		}
		var ve *VerificationError
		if !errors.As(err, &ve) {
			return "", "", err
		}
		if ve.Reason != ReasonNoSignature {
			st = Invalid
		}
		why = append(why, ve.Msg)
	}
	if st == Invalid {
		return st, strings.Join(why, "; "), nil
	}
	return st, "", nil
}
