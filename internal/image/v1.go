package image

import (
	"bytes"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// V1 returns the image as go-containerregistry sees it, to push it or to
// build on it: the registry's image, go-containerregistry's tarball
// reader for a docker archive, and for an OCI layout or archive the blobs
// read here, each checked against its digest as it streams. It stays
// usable until Close. Root filesystems and disk images have none.
func (img *Image) V1() (v1.Image, error) {
	if img.asV1 == nil {
		return nil, fmt.Errorf("image %q: a %s is not an OCI image; it cannot be pushed or built on", img.Name, img.Kind)
	}
	v, err := img.asV1()
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", img.Name, err)
	}
	return v, nil
}

// storeImage is an OCI image whose manifest and config were read (and
// checked) from a layout or archive store; partial.CompressedToImage
// derives the rest.
type storeImage struct {
	s           store
	manifest    *v1.Manifest
	rawManifest []byte
	rawConfig   []byte
	mediaType   types.MediaType
}

func (si *storeImage) RawConfigFile() ([]byte, error) { return si.rawConfig, nil }
func (si *storeImage) RawManifest() ([]byte, error)   { return si.rawManifest, nil }

func (si *storeImage) MediaType() (types.MediaType, error) {
	switch {
	case si.manifest.MediaType != "":
		return si.manifest.MediaType, nil
	case si.mediaType != "":
		return si.mediaType, nil
	}
	return types.OCIManifestSchema1, nil
}

func (si *storeImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if h == si.manifest.Config.Digest {
		return &storeLayer{desc: si.manifest.Config, open: func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(si.rawConfig)), nil
		}}, nil
	}
	for _, d := range si.manifest.Layers {
		if d.Digest == h {
			d := d
			return &storeLayer{desc: d, open: func() (io.ReadCloser, error) { return openBlob(si.s, d, d.Digest.String()) }}, nil
		}
	}
	return nil, fmt.Errorf("no blob %s in the image", h)
}

// storeLayer is one blob of a storeImage.
type storeLayer struct {
	desc v1.Descriptor
	open func() (io.ReadCloser, error)
}

func (l *storeLayer) Digest() (v1.Hash, error)            { return l.desc.Digest, nil }
func (l *storeLayer) Compressed() (io.ReadCloser, error)  { return l.open() }
func (l *storeLayer) Size() (int64, error)                { return l.desc.Size, nil }
func (l *storeLayer) MediaType() (types.MediaType, error) { return l.desc.MediaType, nil }
