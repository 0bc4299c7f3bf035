package update

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/progress"
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

func parseRepoRef(ref string, reg image.Options) (name.Reference, error) {
	var opts []name.Option
	if reg.Insecure {
		opts = append(opts, name.Insecure)
	}
	opts = append(opts, name.WithDefaultTag(DefaultTag))
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("database repository %q is not a valid reference (registry/repository[:tag]): %w", ref, err)
	}
	return r, nil
}

// Push publishes a database file as an OCI artifact at ref (the tag
// defaults to the schema version) and returns the manifest digest, which
// is what a signature covers.
func Push(ctx context.Context, file, ref string, reg image.Options) (name.Digest, error) {
	db, err := vulndb.Open(file)
	if err != nil {
		return name.Digest{}, err
	}
	meta := db.Metadata()
	db.Close()
	data, err := os.ReadFile(file)
	if err != nil {
		return name.Digest{}, err
	}
	r, err := parseRepoRef(ref, reg)
	if err != nil {
		return name.Digest{}, err
	}
	layer := static.NewLayer(data, LayerMediaType)
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return name.Digest{}, err
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, ConfigMediaType)
	img = mutate.Annotations(img, map[string]string{
		SchemaAnnotation:                   strconv.Itoa(meta.SchemaVersion),
		"org.opencontainers.image.created": meta.BuiltAt.UTC().Format(time.RFC3339),
		"org.opencontainers.image.title":   filepath.Base(file),
	}).(v1.Image)
	if err := remote.Write(r, img, image.RemoteOptions(ctx, reg)...); err != nil {
		return name.Digest{}, fmt.Errorf("pushing the database to %s: %w", r, err)
	}
	d, err := img.Digest()
	if err != nil {
		return name.Digest{}, err
	}
	return r.Context().Digest(d.String()), nil
}

// pullOCI downloads the database layer of the artifact at ref into dst
// after checking the signature (when v is set) on its manifest digest. It
// verifies the layer's size and digest.
func (u *updater) pullOCI(ctx context.Context, ref, dst string) error {
	r, err := parseRepoRef(ref, u.o.Registry)
	if err != nil {
		return err
	}
	src := "oci " + r.String()
	fail := func(err error) error { return &SourceError{Source: src, URL: r.String(), Err: err} }
	ropts := append(image.RemoteOptions(ctx, u.o.Registry), remote.WithRetryBackoff(remote.Backoff{Duration: u.backoff(), Factor: 2, Steps: u.retries() + 1}))
	desc, err := remote.Get(r, ropts...)
	if err != nil {
		return fail(err)
	}
	digest := r.Context().Digest(desc.Digest.String())
	if u.o.Verifier != nil {
		if err := u.o.Verifier.Verify(ctx, digest); err != nil {
			return fail(&permanentError{fmt.Errorf("signature check of %s failed: %w", digest, err), "the artifact is not signed with the key given by --db-key; check the key and the repository"})
		}
	}
	img, err := remote.Image(digest, ropts...)
	if err != nil {
		return fail(err)
	}
	m, err := img.Manifest()
	if err != nil {
		return fail(err)
	}
	var ld *v1.Descriptor
	for i := range m.Layers {
		if m.Layers[i].MediaType == LayerMediaType {
			ld = &m.Layers[i]
		}
	}
	if ld == nil {
		return fail(&permanentError{fmt.Errorf("the artifact has no layer of type %s", LayerMediaType), "check that the repository holds a bulwark database pushed with 'bulwark db push'"})
	}
	var lastErr error
	delay := u.backoff()
	for attempt := 0; attempt <= u.retries(); attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return fail(ctx.Err())
			case <-time.After(delay):
			}
			delay *= 2
		}
		lastErr = u.pullLayer(ctx, r.Context().Digest(ld.Digest.String()), *ld, src, dst, ropts)
		if lastErr == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fail(ctx.Err())
		}
	}
	return fail(lastErr)
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
		w = io.MultiWriter(w, progress.Bytes(u.o.Progress, desc.Size, src))
	}
	n, err := io.Copy(w, io.LimitReader(&watchReader{r: rc, touch: touch}, desc.Size+1))
	if err != nil {
		if c := context.Cause(ctx); errors.Is(c, errStalled) {
			return c
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
