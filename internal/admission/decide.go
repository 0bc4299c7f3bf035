package admission

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"

	"github.com/bulwark-sec/bulwark/internal/registry"
	"github.com/bulwark-sec/bulwark/internal/sign"
)

// MaxImages is the most distinct images one decision checks: more is a
// denial, not a long wait.
const MaxImages = 64

// Verdict is the decision on one image.
type Verdict struct {
	// Image is the image as named.
	Image string `json:"image"`
	// Digest is the digest it was decided on, when known.
	Digest string `json:"digest,omitempty"`
	// Allowed is the answer.
	Allowed bool `json:"allowed"`
	// Undecided is true when bulwark could not decide and Allowed follows
	// the policy's onError.
	Undecided bool `json:"undecided,omitempty"`
	// Reasons say why, for a person.
	Reasons []string `json:"reasons"`
	// Cached is true when the verdict came from the cache.
	Cached bool `json:"cached,omitempty"`
}

// Decision is the decision on every image of a workload.
type Decision struct {
	// Allowed is true when every image is allowed.
	Allowed bool `json:"allowed"`
	// OnError is the policy's setting, stated in every decision.
	OnError string `json:"onError"`
	// Verdicts are per image, in the order given.
	Verdicts []Verdict `json:"verdicts"`
}

// Message is the decision in one line: what was denied and why, or what
// was allowed, with the onError setting.
func (d *Decision) Message() string {
	var parts []string
	for _, v := range d.Verdicts {
		if d.Allowed || !v.Allowed {
			state := "allowed"
			switch {
			case !v.Allowed && v.Undecided:
				state = "denied (undecided)"
			case !v.Allowed:
				state = "denied"
			case v.Undecided:
				state = "allowed (undecided)"
			}
			parts = append(parts, fmt.Sprintf("%s %s: %s", v.Image, state, strings.Join(v.Reasons, "; ")))
		}
	}
	verb := "denied"
	if d.Allowed {
		verb = "allowed"
	}
	return fmt.Sprintf("bulwark %s [%s]: %s", verb, d.OnError, strings.Join(parts, " | "))
}

// Digests lists the distinct digests the images were decided on, in
// order.
func (d *Decision) Digests() []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range d.Verdicts {
		if v.Digest != "" && !seen[v.Digest] {
			seen[v.Digest] = true
			out = append(out, v.Digest)
		}
	}
	return out
}

// Options configures a Decider.
type Options struct {
	// Registry is the registry access (nil: the defaults).
	Registry *registry.Client
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Warn receives warnings (a KMS key that could not be loaded yet).
	Warn func(string)
}

// Decider decides on images with a policy. It keeps verified verdicts by
// digest for the policy's cache TTL, verifies a digest once however many
// requests ask at the same time, and makes no network call for a digest
// it has a verdict for. It is safe for concurrent use.
type Decider struct {
	pol   *Policy
	reg   *sign.Registry
	keys  *sign.Keyring
	now   func() time.Time
	cache *cache
	group singleflight.Group
}

// New prepares a Decider: key files are read now (a bad one is an error);
// a KMS key that cannot be reached yet is loaded on first use.
func New(ctx context.Context, pol *Policy, o Options) (*Decider, error) {
	reg, err := sign.NewRegistry(ctx, o.Registry)
	if err != nil {
		return nil, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	kr, err := sign.NewKeyring(ctx, pol.Keys, o.Warn)
	if err != nil {
		return nil, err
	}
	return &Decider{pol: pol, reg: reg, keys: kr, now: o.Now, cache: newCache(pol.CacheTTL, o.Now)}, nil
}

// Policy returns the decider's policy.
func (d *Decider) Policy() *Policy { return d.pol }

// Decide decides on the images of one workload within the policy's time
// budget. Duplicates are decided once.
func (d *Decider) Decide(ctx context.Context, images []string) *Decision {
	return d.decide(ctx, images, false)
}

// DecideToPin is Decide for a caller that rewrites every tag to the digest
// it was decided on (the mutating webhook): requireDigest does not refuse
// a tag, since what runs will be pinned.
func (d *Decider) DecideToPin(ctx context.Context, images []string) *Decision {
	return d.decide(ctx, images, true)
}

func (d *Decider) decide(ctx context.Context, images []string, pin bool) *Decision {
	ctx, cancel := context.WithTimeout(ctx, d.pol.Timeout)
	defer cancel()
	dec := &Decision{Allowed: true, OnError: d.pol.OnError.String(), Verdicts: make([]Verdict, len(images))}
	uniq := map[string]int{}
	for i, img := range images {
		if _, ok := uniq[img]; !ok {
			uniq[img] = i
		}
	}
	if len(uniq) > MaxImages {
		dec.Allowed = false
		for i, img := range images {
			dec.Verdicts[i] = Verdict{Image: img, Reasons: []string{fmt.Sprintf("the workload names %d distinct images, more than the %d checked in one decision", len(uniq), MaxImages)}}
		}
		return dec
	}
	g := errgroup.Group{}
	g.SetLimit(8)
	for img, i := range uniq {
		g.Go(func() error {
			dec.Verdicts[i] = d.decideOne(ctx, img, pin)
			return nil
		})
	}
	_ = g.Wait()
	for i, img := range images {
		if j := uniq[img]; j != i {
			dec.Verdicts[i] = dec.Verdicts[j]
		}
		dec.Allowed = dec.Allowed && dec.Verdicts[i].Allowed
	}
	return dec
}

// undecided is the verdict when bulwark could not decide.
func (d *Decider) undecided(v Verdict, oe OnError, err error) Verdict {
	v.Undecided = true
	v.Allowed = oe == FailOpen
	v.Reasons = append(v.Reasons, fmt.Sprintf("could not decide: %v; %s", err, oe))
	return v
}

func (d *Decider) decideOne(ctx context.Context, img string, pin bool) Verdict {
	v := Verdict{Image: img}
	ref, err := name.ParseReference(img)
	if err != nil {
		v.Reasons = []string{fmt.Sprintf("%q is not a valid image reference: %v", img, err)}
		return v
	}
	if err := d.pol.allowedSource(ref); err != nil {
		v.Reasons = []string{err.Error()}
		return v
	}
	dig, pinned := ref.(name.Digest)
	if !pinned && d.pol.RequireDigest && !pin {
		v.Reasons = []string{"named by tag only and the policy requires a digest (requireDigest: true); deploy it as image@sha256:..."}
		return v
	}
	if !pinned {
		if dig, err = d.reg.Resolve(ctx, img); err != nil {
			return d.undecided(v, d.pol.OnError, err)
		}
	}
	v.Digest = dig.DigestStr()
	key := d.pol.Version + "@" + dig.Context().Name() + "@" + v.Digest
	if c, ok := d.cache.get(key); ok {
		c.Image, c.Cached = img, true
		return c
	}
	// One verification per digest, whoever asks: the first caller's
	// budget bounds it, but a caller that leaves does not cancel it.
	res, _, _ := d.group.Do(key, func() (any, error) {
		if c, ok := d.cache.get(key); ok { // verified while this caller waited
			c.Cached = true
			return c, nil
		}
		vctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadlineOf(ctx, d.pol.Timeout))
		defer cancel()
		out := d.verify(vctx, dig)
		if !out.Undecided {
			d.cache.put(key, out)
		}
		return out, nil
	})
	out := res.(Verdict)
	out.Image = img
	return out
}

func deadlineOf(ctx context.Context, def time.Duration) time.Time {
	if dl, ok := ctx.Deadline(); ok {
		return dl
	}
	return time.Now().Add(def)
}

// verify checks the signature and the attestations of a digest.
func (d *Decider) verify(ctx context.Context, dig name.Digest) Verdict {
	v := Verdict{Digest: dig.DigestStr(), Allowed: true}
	if len(d.pol.Keys) == 0 {
		v.Reasons = append(v.Reasons, "allowed source, no key required")
		return v
	}
	vs, err := d.keys.Verifiers(ctx)
	if err != nil {
		return d.undecided(Verdict{Digest: v.Digest}, d.pol.OnError, err)
	}
	ref := dig.String()
	var fails []string
	signed := false
	for _, k := range vs {
		res, err := sign.Verify(ctx, d.reg, ref, k, d.pol.Annotations)
		if err == nil {
			v.Reasons = append(v.Reasons, fmt.Sprintf("signed by %s (%d signature(s))", k.Ref, len(res.Signatures)))
			signed = true
			break
		}
		if !sign.IsVerificationFailure(err) {
			return d.undecided(Verdict{Digest: v.Digest}, d.pol.OnError, err)
		}
		fails = append(fails, trimImage(err.Error(), ref))
	}
	if !signed {
		return Verdict{Digest: v.Digest, Reasons: fails}
	}
	for _, a := range d.pol.Attestations {
		msg, err := d.attested(ctx, ref, a, vs)
		switch {
		case err == nil:
			v.Reasons = append(v.Reasons, msg)
		case sign.IsVerificationFailure(err):
			v.Allowed = false
			v.Reasons = append(v.Reasons, trimImage(err.Error(), ref))
		default:
			u := d.undecided(Verdict{}, a.OnError, fmt.Errorf("%s attestation: %w", a.Type, err))
			v.Undecided = true
			v.Allowed = v.Allowed && u.Allowed
			v.Reasons = append(v.Reasons, u.Reasons...)
		}
	}
	return v
}

// attested checks one attestation rule with each key until one passes.
func (d *Decider) attested(ctx context.Context, ref string, a Attestation, vs []*sign.Verifier) (string, error) {
	var last error
	for _, k := range vs {
		res, err := sign.VerifyAttestations(ctx, d.reg, ref, k, a.Type, a.Rules, d.now())
		if err == nil {
			msg := fmt.Sprintf("%s attestation by %s", a.Type, k.Ref)
			if res.Policy != "" {
				msg += ": " + res.Policy
			}
			return msg, nil
		}
		if !sign.IsVerificationFailure(err) {
			return "", err
		}
		last = err
	}
	return "", last
}

// trimImage drops the "image REF: " prefix sign's messages carry, as the
// verdict already names the image.
func trimImage(msg, ref string) string {
	return strings.TrimPrefix(msg, "image "+ref+": ")
}

// cache keeps verdicts for a TTL.
type cache struct {
	mu  sync.Mutex
	ttl time.Duration
	now func() time.Time
	m   map[string]cached
}

type cached struct {
	v       Verdict
	expires time.Time
}

// maxCacheEntries bounds the cache; when full, expired entries go first,
// then everything (a rare, cheap reset).
const maxCacheEntries = 10000

func newCache(ttl time.Duration, now func() time.Time) *cache {
	return &cache{ttl: ttl, now: now, m: map[string]cached{}}
}

func (c *cache) get(k string) (Verdict, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || !c.now().Before(e.expires) {
		return Verdict{}, false
	}
	v := e.v
	v.Reasons = append([]string(nil), e.v.Reasons...)
	return v, true
}

func (c *cache) put(k string, v Verdict) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.m) >= maxCacheEntries {
		for key, e := range c.m {
			if !now.Before(e.expires) {
				delete(c.m, key)
			}
		}
		if len(c.m) >= maxCacheEntries {
			c.m = map[string]cached{}
		}
	}
	c.m[k] = cached{v: v, expires: now.Add(c.ttl)}
}
