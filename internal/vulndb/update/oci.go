package update

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/bulwark-sec/bulwark/internal/progress"
	"github.com/bulwark-sec/bulwark/internal/registry"
	"github.com/bulwark-sec/bulwark/internal/sign"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

// Media types of a database published as an OCI artifact.
const (
	// LayerMediaType is the media type of the layer holding the database file.
	LayerMediaType types.MediaType = "application/vnd.bulwark.vulndb.layer.v1"
	// ConfigMediaType is the media type of the artifact's config blob.
	ConfigMediaType types.MediaType = "application/vnd.bulwark.vulndb.config.v1+json"
	// SchemaAnnotation records the database schema version on the manifest.
	SchemaAnnotation = "dev.bulwark.vulndb.schema"
)

// DefaultTag is the tag used when a repository is given without one: the
// schema version this bulwark reads, so that old and new bulwarks can
// share one repository.
var DefaultTag = strconv.Itoa(vulndb.SchemaVersion)

func parseRepoRef(ref string, reg *registry.Client) (name.Reference, error) {
	r, err := reg.Reference(ref, name.WithDefaultTag(DefaultTag))
	if err != nil {
		return nil, fmt.Errorf("database repository: %w", err)
	}
	return r, nil
}

// maxDBSize bounds the database layer a pull accepts; a manifest that
// announces more is refused before anything is downloaded.
const maxDBSize = 4 << 30

// artifactTitle is the file name recorded in the artifact, whatever the
// local file is called, so that the same database always gives the same
// manifest.
const artifactTitle = "vulndb.bwdb"

// artifact builds the OCI artifact that carries a database file.
func artifact(data []byte, meta vulndb.Metadata) (v1.Image, error) {
	img, err := mutate.AppendLayers(empty.Image, static.NewLayer(data, LayerMediaType))
	if err != nil {
		return nil, err
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, ConfigMediaType)
	return mutate.Annotations(img, map[string]string{
		SchemaAnnotation:                   strconv.Itoa(meta.SchemaVersion),
		"org.opencontainers.image.created": meta.BuiltAt.UTC().Format(time.RFC3339),
		"org.opencontainers.image.title":   artifactTitle,
	}).(v1.Image), nil
}

// readDB checks a database file and returns its bytes and metadata.
func readDB(file string) ([]byte, vulndb.Metadata, error) {
	db, err := vulndb.Open(file)
	if err != nil {
		return nil, vulndb.Metadata{}, err
	}
	meta := db.Metadata()
	db.Close()
	data, err := os.ReadFile(file)
	return data, meta, err
}

// Push publishes a database file as an OCI artifact at ref (the tag
// defaults to the schema version) and returns the manifest digest. With a
// signer it also signs that digest where cosign does (the .sig tag), which
// is what 'db update' checks before it downloads the database.
func Push(ctx context.Context, file, ref string, reg *registry.Client, signer *sign.Signer) (name.Digest, error) {
	r, err := parseRepoRef(ref, reg)
	if err != nil {
		return name.Digest{}, err
	}
	data, meta, err := readDB(file)
	if err != nil {
		return name.Digest{}, err
	}
	img, err := artifact(data, meta)
	if err != nil {
		return name.Digest{}, err
	}
	if err := remote.Write(r, img, reg.Remote(ctx)...); err != nil {
		return name.Digest{}, fmt.Errorf("pushing the database to %s: %w", r, registry.Explain(err))
	}
	d, err := img.Digest()
	if err != nil {
		return name.Digest{}, err
	}
	digest := r.Context().Digest(d.String())
	if signer != nil {
		sreg, err := sign.NewRegistry(ctx, reg)
		if err != nil {
			return name.Digest{}, err
		}
		if _, err := sign.SignImage(ctx, sreg, digest.String(), signer, sign.SignOptions{}); err != nil {
			return name.Digest{}, fmt.Errorf("signing the database pushed to %s: %w", digest, err)
		}
	}
	return digest, nil
}

// pullOCI downloads the database layer of the artifact at ref into dst
// after checking its signature on the manifest digest, and returns that
// signature. It verifies the manifest's and the layer's size and digest.
// When the database installed at u.o.DB is that artifact's already (the
// manifest of its kept signature, its size and SHA-256), nothing is
// downloaded: it returns errUnchanged.
func (u *updater) pullOCI(ctx context.Context, ref, dst string) (*Signature, error) {
	r, err := parseRepoRef(ref, u.o.Registry)
	if err != nil {
		return nil, err
	}
	fail := func(err error) error { return &SourceError{Source: r.Name(), Err: err} }
	ropts := append(u.o.Registry.Remote(ctx), remote.WithRetryBackoff(remote.Backoff{Duration: u.backoff(), Factor: 2, Steps: u.retries() + 1}))
	desc, err := remote.Get(r, ropts...)
	if err != nil {
		return nil, fail(registry.Explain(err))
	}
	if sum := sha256.Sum256(desc.Manifest); "sha256:"+hex.EncodeToString(sum[:]) != desc.Digest.String() {
		return nil, fail(&permanentError{fmt.Errorf("%w: the manifest's digest is not %s", errDigest, desc.Digest), "the registry or a proxy altered the artifact"})
	}
	digest := r.Context().Digest(desc.Digest.String())
	sig, err := u.verify(ctx, digest, desc.Manifest)
	if err != nil {
		return nil, fail(err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, fail(&permanentError{fmt.Errorf("the artifact's manifest does not parse: %w", err), "check that the repository holds a bulwark database pushed with 'bulwark db push'"})
	}
	ld, err := dbLayer(m)
	if err != nil {
		return nil, fail(err)
	}
	if installed(u.o.DB, desc.Digest.String(), ld) {
		return sig, errUnchanged
	}
	var lastErr error
	delay := u.backoff()
	for attempt := 0; attempt <= u.retries(); attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil, fail(ctx.Err())
			case <-time.After(delay):
			}
			delay *= 2
		}
		lastErr = u.pullLayer(ctx, r.Context().Digest(ld.Digest.String()), *ld, r.Name(), dst, ropts)
		if lastErr == nil {
			return sig, nil
		}
		if ctx.Err() != nil {
			return nil, fail(ctx.Err())
		}
	}
	return nil, fail(lastErr)
}

// errUnchanged says that the installed database is the artifact's.
var errUnchanged = errors.New("the installed database is the repository's")

// installed tells whether the database file db is the layer ld of the
// artifact whose manifest digest is manifest: the signature kept next to
// it (written with the file by the pull that installed it) names that
// manifest, and the file has the layer's size and SHA-256.
func installed(db, manifest string, ld *v1.Descriptor) bool {
	raw, err := os.ReadFile(SignaturePath(db))
	if err != nil || len(raw) > maxSignatureSize {
		return false
	}
	var sig Signature
	if json.Unmarshal(raw, &sig) != nil {
		return false
	}
	if sum := sha256.Sum256(sig.Manifest); "sha256:"+hex.EncodeToString(sum[:]) != manifest {
		return false
	}
	f, err := os.Open(db)
	if err != nil {
		return false
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || fi.Size() != ld.Size {
		return false
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false
	}
	return "sha256:"+hex.EncodeToString(h.Sum(nil)) == ld.Digest.String()
}

// dbLayer returns the descriptor of a manifest's database layer.
func dbLayer(m *v1.Manifest) (*v1.Descriptor, error) {
	var ld *v1.Descriptor
	for i := range m.Layers {
		if m.Layers[i].MediaType == LayerMediaType {
			ld = &m.Layers[i]
		}
	}
	switch {
	case ld == nil:
		return nil, &permanentError{fmt.Errorf("the artifact has no layer of type %s", LayerMediaType), "check that the repository holds a bulwark database pushed with 'bulwark db push'"}
	case ld.Size <= 0 || ld.Size > maxDBSize:
		return nil, &permanentError{fmt.Errorf("the artifact announces a database of %d bytes (at most %d accepted)", ld.Size, int64(maxDBSize)), "check that the repository holds a bulwark database"}
	}
	return ld, nil
}

// verify checks the artifact's signature with the configured key before
// anything else is downloaded, and returns it for FILE.sig.
func (u *updater) verify(ctx context.Context, digest name.Digest, manifest []byte) (*Signature, error) {
	if u.o.Key == nil {
		return nil, &permanentError{errors.New("no key to verify the database with"), "give one with --db-key"}
	}
	sreg, err := sign.NewRegistry(ctx, u.o.Registry)
	if err != nil {
		return nil, err
	}
	res, err := sign.Verify(ctx, sreg, digest.String(), u.o.Key, nil)
	if err != nil {
		if sign.IsVerificationFailure(err) {
			return nil, &permanentError{fmt.Errorf("signature check of %s with %s failed: %w", digest, u.o.Key.Ref, err), "the artifact is not signed with that key; for a mirror signed with your own key, give its public key with --db-key (or BULWARK_DB_KEY)"}
		}
		return nil, err
	}
	for _, s := range res.Signatures {
		if s.Signature != nil {
			return &Signature{Manifest: manifest, Payload: s.Payload, Signature: s.Signature}, nil
		}
	}
	return nil, nil
}

func (u *updater) pullLayer(ctx context.Context, d name.Digest, desc v1.Descriptor, src, dst string, ropts []remote.Option) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	touch := watchdog(ctx, cancel, u.stall())
	ropts = append(ropts[:len(ropts):len(ropts)], remote.WithContext(ctx))
	layer, err := remote.Layer(d, ropts...)
	if err != nil {
		return err
	}
	rc, err := layer.Compressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	out, err := os.Create(dst)
	if err != nil {
		return &permanentError{err, "check that the database directory is writable"}
	}
	defer out.Close()
	h := sha256.New()
	var w io.Writer = io.MultiWriter(out, h)
	if u.o.Progress != nil {
		bar := progress.Bytes(u.o.Progress, desc.Size, src)
		defer bar.Close()
		w = io.MultiWriter(w, bar)
	}
	n, err := io.Copy(w, io.LimitReader(&watchReader{r: rc, touch: touch}, desc.Size+1))
	if err != nil {
		if c := context.Cause(ctx); errors.Is(c, errStalled) {
			return c
		}
		if strings.Contains(err.Error(), "error verifying") { // go-containerregistry checks the digest as it reads
			return fmt.Errorf("%w after %d bytes: %v", errDigest, n, err)
		}
		return fmt.Errorf("download cut off after %d bytes: %w", n, err)
	}
	if n != desc.Size {
		return fmt.Errorf("%w: got %d bytes, the manifest says %d", errDigest, n, desc.Size)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != desc.Digest.String() {
		return fmt.Errorf("%w: the layer's digest is %s, the manifest says %s", errDigest, got, desc.Digest)
	}
	return out.Close()
}
