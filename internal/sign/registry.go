package sign

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/bulwark-sec/bulwark/internal/registry"
)

// Limits on what is read from a registry for verification: a signature
// manifest is small (a few hundred bytes per signature), so anything far
// bigger is refused rather than read.
const (
	maxSigManifestSize = 4 << 20
	maxSigLayers       = 1000
	maxReferrers       = 1000
)

// Registry talks to the registry of the images bulwark signs and
// verifies, reusing connections and tokens across calls.
type Registry struct {
	opts     []remote.Option
	nameOpts []name.Option
	puller   *remote.Puller
	pusher   *remote.Pusher
}

// NewRegistry prepares registry access through c (nil: the defaults).
func NewRegistry(ctx context.Context, c *registry.Client) (*Registry, error) {
	r := &Registry{opts: c.Remote(ctx), nameOpts: c.NameOptions()}
	var err error
	if r.puller, err = remote.NewPuller(r.opts...); err != nil {
		return nil, err
	}
	if r.pusher, err = remote.NewPusher(r.opts...); err != nil {
		return nil, err
	}
	r.opts = append(r.opts, remote.Reuse(r.puller), remote.Reuse(r.pusher))
	return r, nil
}

// Resolve parses an image reference (tag or digest) and returns the digest
// it names: a digest as is, a tag by asking the registry once.
func (r *Registry) Resolve(ctx context.Context, imageRef string) (name.Digest, error) {
	ref, err := registry.ParseReference(imageRef, r.nameOpts...)
	if err != nil {
		return name.Digest{}, err
	}
	if d, ok := ref.(name.Digest); ok {
		return d, nil
	}
	desc, err := r.puller.Head(ctx, ref)
	if err != nil {
		return name.Digest{}, fmt.Errorf("image %s: resolving the tag: %w", ref, registry.Explain(err))
	}
	return ref.Context().Digest(desc.Digest.String()), nil
}

// readArtifacts reads the artifacts cosign stores for a digest under the
// tag with suffix ("sig", "att"). A malformed signature manifest is not
// fatal: its error is recorded in t, so that verification can still say
// what it found. It returns the tag it read, too.
func (r *Registry) readArtifacts(ctx context.Context, d name.Digest, suffix string, maxBlob int64, t *tally) (name.Tag, []artifact, error) {
	tag, err := r.TagFor(d, suffix)
	if err != nil {
		return tag, nil, err
	}
	arts, err := r.readTag(ctx, tag, maxBlob)
	if err != nil {
		if !isMalformed(err) {
			return tag, nil, err
		}
		t.readErrs = append(t.readErrs, err.Error())
	}
	return tag, arts, nil
}

// descriptor returns the descriptor of a manifest (for a referrer's subject).
func (r *Registry) descriptor(ctx context.Context, d name.Digest) (*v1.Descriptor, error) {
	desc, err := r.puller.Head(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", d, registry.Explain(err))
	}
	return desc, nil
}

// sigRepo is where signatures of a repository are stored: the repository
// itself, or COSIGN_REPOSITORY as cosign does.
func (r *Registry) sigRepo(repo name.Repository) (name.Repository, error) {
	if v := os.Getenv("COSIGN_REPOSITORY"); v != "" {
		rr, err := name.NewRepository(v, r.nameOpts...)
		if err != nil {
			return name.Repository{}, fmt.Errorf("COSIGN_REPOSITORY=%q: %w", v, err)
		}
		return rr, nil
	}
	return repo, nil
}

// TagFor returns cosign's tag for an image digest: sha256-<hex>.<suffix>
// (suffix "sig" for signatures, "att" for attestations).
func (r *Registry) TagFor(d name.Digest, suffix string) (name.Tag, error) {
	repo, err := r.sigRepo(d.Context())
	if err != nil {
		return name.Tag{}, err
	}
	return repo.Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + "." + suffix), nil
}

// artifactTag matches cosign's tags for what it attaches to an image
// digest: signatures (.sig), attestations (.att) and SBOMs (.sbom).
var artifactTag = regexp.MustCompile(`^sha256-[0-9a-f]{64}\.(sig|att|sbom)$`)

// IsArtifactTag reports whether tag is cosign's tag for a signature,
// attestation or SBOM attached to an image digest: its manifest is not an
// image to assess.
func IsArtifactTag(tag string) bool { return artifactTag.MatchString(tag) }

// artifact is one layer of a signature or attestation manifest.
type artifact struct {
	MediaType   string
	Annotations map[string]string
	Data        []byte
	// Where says where it was found, for messages.
	Where string
}

// readTag reads the layers of the signature manifest at a tag. A missing
// tag is no artifacts and no error.
func (r *Registry) readTag(ctx context.Context, tag name.Tag, maxBlob int64) ([]artifact, error) {
	got, err := r.puller.Get(ctx, tag)
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading %s: %w", tag, registry.Explain(err))
	}
	m, err := parseSigManifest(got.Manifest)
	if err != nil {
		return nil, malformedError{fmt.Errorf("signature manifest %s: %w; it is not a cosign signature manifest (delete the tag and sign again)", tag, err)}
	}
	return r.readLayers(ctx, tag.Context(), m, maxBlob, tag.String())
}

// parseSigManifest parses a signature manifest within the limits.
func parseSigManifest(raw []byte) (*v1.Manifest, error) {
	if len(raw) > maxSigManifestSize {
		return nil, malformedf("%d bytes, more than the %d allowed", len(raw), maxSigManifestSize)
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, malformedf("malformed manifest: %w", err)
	}
	if len(m.Layers) > maxSigLayers {
		return nil, malformedf("%d layers, more than the %d allowed", len(m.Layers), maxSigLayers)
	}
	return m, nil
}

func (r *Registry) fetchManifest(ctx context.Context, d name.Digest) (*v1.Manifest, error) {
	got, err := r.puller.Get(ctx, d)
	if err != nil {
		return nil, registry.Explain(err)
	}
	if h := sha256.Sum256(got.Manifest); "sha256:"+hex.EncodeToString(h[:]) != d.DigestStr() {
		return nil, malformedf("the registry returned a manifest whose digest is not %s", d.DigestStr())
	}
	return parseSigManifest(got.Manifest)
}

func (r *Registry) readLayers(ctx context.Context, repo name.Repository, m *v1.Manifest, maxBlob int64, where string) ([]artifact, error) {
	out := make([]artifact, 0, len(m.Layers))
	for i, l := range m.Layers {
		if l.Size > maxBlob || l.Size < 0 {
			return nil, malformedf("%s: layer %d is %d bytes, more than the %d allowed", where, i, l.Size, maxBlob)
		}
		data, err := r.fetchBlob(ctx, repo, l)
		if err != nil {
			return nil, wrapKeep(err, fmt.Sprintf("%s: layer %d", where, i))
		}
		out = append(out, artifact{MediaType: string(l.MediaType), Annotations: l.Annotations, Data: data, Where: fmt.Sprintf("%s layer %d", where, i)})
	}
	return out, nil
}

// fetchBlob reads a small blob whole and checks its size and digest.
func (r *Registry) fetchBlob(ctx context.Context, repo name.Repository, desc v1.Descriptor) ([]byte, error) {
	if desc.Digest.Algorithm != "sha256" {
		return nil, malformedf("blob digest algorithm %q is not supported", desc.Digest.Algorithm)
	}
	if len(desc.Data) > 0 && int64(len(desc.Data)) == desc.Size {
		if h := sha256.Sum256(desc.Data); hex.EncodeToString(h[:]) == desc.Digest.Hex {
			return desc.Data, nil
		}
	}
	l, err := r.puller.Layer(ctx, repo.Digest(desc.Digest.String()))
	if err != nil {
		return nil, registry.Explain(err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, registry.Explain(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, desc.Size+1))
	if err != nil {
		return nil, registry.Explain(err)
	}
	if int64(len(data)) != desc.Size {
		return nil, malformedf("blob %s is %d bytes, the manifest says %d", desc.Digest, len(data), desc.Size)
	}
	if h := sha256.Sum256(data); hex.EncodeToString(h[:]) != desc.Digest.Hex {
		return nil, malformedf("blob %s does not match its digest (tampered or corrupt)", desc.Digest)
	}
	return data, nil
}

// appendToTag adds an artifact to the signature manifest at a tag (creating
// it), in cosign's layout: an OCI manifest whose layers are the artifacts.
// An identical artifact already there is not added twice.
func (r *Registry) appendToTag(ctx context.Context, tag name.Tag, a artifact, maxBlob int64) error {
	existing, err := r.readTag(ctx, tag, maxBlob)
	if err != nil {
		return fmt.Errorf("%w; bulwark will not overwrite it", err)
	}
	for _, e := range existing {
		if e.MediaType == a.MediaType && bytes.Equal(e.Data, a.Data) && e.Annotations[SignatureAnnotation] == a.Annotations[SignatureAnnotation] {
			return nil
		}
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	adds := make([]mutate.Addendum, 0, len(existing)+1)
	for _, e := range append(existing, a) {
		adds = append(adds, mutate.Addendum{Layer: static.NewLayer(e.Data, types.MediaType(e.MediaType)), Annotations: e.Annotations})
	}
	img, err = mutate.Append(img, adds...)
	if err != nil {
		return err
	}
	if err := r.pusher.Push(ctx, tag, img); err != nil {
		return fmt.Errorf("pushing %s: %w", tag, registry.Explain(err))
	}
	return nil
}

// rawManifest is a manifest pushed as is (for OCI 1.1 artifacts).
type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }

// emptyJSON is the OCI empty descriptor's content.
var emptyJSON = []byte("{}")

const emptyMediaType = "application/vnd.oci.empty.v1+json"

// writeReferrer pushes an OCI 1.1 artifact manifest whose subject is the
// image: one layer (the artifact) and the empty config.
func (r *Registry) writeReferrer(ctx context.Context, subject name.Digest, artifactType string, a artifact) (name.Digest, error) {
	repo, err := r.sigRepo(subject.Context())
	if err != nil {
		return name.Digest{}, err
	}
	sdesc, err := r.descriptor(ctx, subject)
	if err != nil {
		return name.Digest{}, err
	}
	layer := static.NewLayer(a.Data, types.MediaType(a.MediaType))
	cfg := static.NewLayer(emptyJSON, emptyMediaType)
	for _, l := range []v1.Layer{layer, cfg} {
		if err := r.pusher.Upload(ctx, repo, l); err != nil {
			return name.Digest{}, fmt.Errorf("uploading to %s: %w", repo, registry.Explain(err))
		}
	}
	ld, _ := layer.Digest()
	cd, _ := cfg.Digest()
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  artifactType,
		Config:        v1.Descriptor{MediaType: emptyMediaType, Size: int64(len(emptyJSON)), Digest: cd, Data: emptyJSON},
		Layers:        []v1.Descriptor{{MediaType: types.MediaType(a.MediaType), Size: int64(len(a.Data)), Digest: ld}},
		Annotations:   a.Annotations,
		Subject:       &v1.Descriptor{MediaType: sdesc.MediaType, Size: sdesc.Size, Digest: sdesc.Digest},
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return name.Digest{}, err
	}
	h := sha256.Sum256(raw)
	target := repo.Digest("sha256:" + hex.EncodeToString(h[:]))
	if err := r.pusher.Put(ctx, target, rawManifest{raw: raw, mt: types.OCIManifestSchema1}); err != nil {
		return name.Digest{}, fmt.Errorf("pushing the referrer to %s: %w", repo, registry.Explain(err))
	}
	return target, nil
}

// readReferrers returns the artifacts of the given type that refer to a
// digest through the OCI 1.1 referrers API (or its tag fallback).
func (r *Registry) readReferrers(ctx context.Context, subject name.Digest, artifactType string, maxBlob int64) ([]artifact, error) {
	repo, err := r.sigRepo(subject.Context())
	if err != nil {
		return nil, err
	}
	idx, err := remote.Referrers(repo.Digest(subject.DigestStr()), r.opts...)
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("listing referrers of %s: %w", subject, registry.Explain(err))
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("referrers of %s: %w", subject, err)
	}
	if len(im.Manifests) > maxReferrers {
		return nil, malformedf("referrers of %s: %d manifests, more than the %d allowed", subject, len(im.Manifests), maxReferrers)
	}
	var out []artifact
	for _, desc := range im.Manifests {
		// Registries report the manifest's artifactType, or (older ones)
		// its config media type, which is the empty type for bundles.
		if desc.ArtifactType != artifactType && desc.ArtifactType != "" && desc.ArtifactType != emptyMediaType {
			continue
		}
		if desc.Size > maxSigManifestSize {
			return nil, malformedf("referrer %s of %s is %d bytes, more than the %d allowed", desc.Digest, subject, desc.Size, maxSigManifestSize)
		}
		m, err := r.fetchManifest(ctx, repo.Digest(desc.Digest.String()))
		if err != nil {
			return nil, wrapKeep(err, fmt.Sprintf("referrer %s of %s", desc.Digest, subject))
		}
		if m.ArtifactType != artifactType || m.Subject == nil || m.Subject.Digest.String() != subject.DigestStr() {
			continue
		}
		as, err := r.readLayers(ctx, repo, m, maxBlob, "referrer "+desc.Digest.String())
		if err != nil {
			return nil, err
		}
		out = append(out, as...)
	}
	return out, nil
}

func isNotFound(err error) bool {
	var te *transport.Error
	if errors.As(err, &te) {
		if te.StatusCode == http.StatusNotFound {
			return true
		}
		for _, d := range te.Errors {
			if d.Code == transport.ManifestUnknownErrorCode || d.Code == transport.NameUnknownErrorCode {
				return true
			}
		}
	}
	return false
}

// malformedError marks stored data that is not a well-formed signature
// (as opposed to a registry that could not be reached).
type malformedError struct{ error }

func (m malformedError) Unwrap() error { return m.error }

func malformedf(format string, args ...any) error {
	return malformedError{fmt.Errorf(format, args...)}
}

// isMalformed reports whether err is about malformed stored data.
func isMalformed(err error) bool {
	var m malformedError
	return errors.As(err, &m)
}

// wrapKeep prefixes an error, keeping it malformed if it was.
func wrapKeep(err error, prefix string) error {
	if isMalformed(err) {
		return malformedError{fmt.Errorf("%s: %w", prefix, err)}
	}
	return fmt.Errorf("%s: %w", prefix, err)
}
