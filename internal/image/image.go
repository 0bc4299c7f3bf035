// Package image opens a container image from any source (registry, docker
// or OCI archive, OCI layout directory, root filesystem directory) and walks
// its layers in one streaming pass.
package image

import (
	"fmt"
	"io"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/bulwark-sec/bulwark/internal/disk"
	"github.com/bulwark-sec/bulwark/internal/finding"
)

// Kinds of image source.
const (
	KindRegistry      = "registry"
	KindDockerArchive = "docker-archive"
	KindOCIArchive    = "oci-archive"
	KindOCILayout     = "oci-layout"
	KindRootfs        = "rootfs"
	KindVM            = "vm"
	KindEBS           = "ebs"
	// KindDir is a directory that is not an OCI layout, opened with
	// Options.Trees: a source tree, read as a root filesystem.
	KindDir = "dir"
)

// Image is an opened image: its configuration, its layers and how to read
// them. Nothing is read from the layers until Walk.
type Image struct {
	// Name is the image as the user gave it.
	Name string
	// Kind is one of the Kind constants.
	Kind string
	// Reference is the registry reference for registry images, including
	// the tag the user gave ("" for other sources).
	Reference string
	// Digest is the manifest digest, "" where the source has no manifest
	// (docker archives, root filesystems).
	Digest string
	// Config is the image configuration; a root filesystem has an empty one.
	Config *v1.ConfigFile
	// Annotations are the manifest annotations, if any.
	Annotations map[string]string
	// Tags are the names an archive or layout gives the image (docker
	// save's RepoTags, an OCI layout's org.opencontainers.image.ref.name).
	Tags []string
	// Layers are the filesystem layers, base first.
	Layers []*Layer

	closer io.Closer
	// asV1 returns the image for go-containerregistry (nil where there is
	// none: root filesystems, disk images).
	asV1 func() (v1.Image, error)
}

// Layer is one filesystem layer of an image.
type Layer struct {
	// Index is the layer's position, 0 for the base layer.
	Index int
	// Digest is the digest of the stored blob (compressed, where it is).
	Digest string
	// DiffID is the digest of the uncompressed layer tar.
	DiffID string
	// Size is the stored size in bytes, -1 when unknown.
	Size int64
	// CreatedBy is the history line that created the layer ("" if unknown).
	CreatedBy string
	// HistoryIndex is the index of that line in Config.History, -1 if none.
	HistoryIndex int

	// open returns the stored blob, verified against its digest as it is
	// read. It is nil for a root filesystem layer.
	open func() (io.ReadCloser, error)
	// dir is the root directory of a root filesystem layer.
	dir string
	// fs is the file system of a disk image layer, mounted on mount
	// ("" for the root); warnings are what opening the disk skipped.
	fs       disk.FS
	mount    string
	warnings []string
	// verifyDiffID is set where the stored blob's own digest is unknown:
	// the decompressed tar is then checked against DiffID instead.
	verifyDiffID bool
}

// Ref returns the layer's identity as findings record it.
func (l *Layer) Ref() *finding.LayerRef {
	return &finding.LayerRef{Index: l.Index, Digest: l.Digest, DiffID: l.DiffID, CreatedBy: l.CreatedBy}
}

// String names the layer in error messages.
func (l *Layer) String() string {
	id := l.Digest
	if id == "" {
		id = l.DiffID
	}
	if l.dir != "" {
		return "root filesystem " + l.dir
	}
	if l.fs != nil {
		return l.CreatedBy
	}
	return fmt.Sprintf("layer %d (%s)", l.Index, shortDigest(id))
}

// Close releases the files the image holds open.
func (img *Image) Close() error {
	if img.closer == nil {
		return nil
	}
	return img.closer.Close()
}

// Target describes the image for a report.
func (img *Image) Target() finding.Target {
	return finding.Target{Name: img.Name, Kind: "image", Digest: img.Digest}
}

// attachHistory sets each layer's CreatedBy from the config history, which
// lists every instruction, with empty_layer marking those that made no layer.
func (img *Image) attachHistory() {
	if img.Config == nil {
		return
	}
	li := 0
	for hi, h := range img.Config.History {
		if h.EmptyLayer {
			continue
		}
		if li >= len(img.Layers) {
			break
		}
		img.Layers[li].CreatedBy = strings.TrimSpace(h.CreatedBy)
		img.Layers[li].HistoryIndex = hi
		li++
	}
}

// IsFilesystem reports whether the image is a bare file system (a root
// filesystem directory, a disk image or snapshot) with no image
// configuration.
func (img *Image) IsFilesystem() bool {
	return img.Kind == KindRootfs || img.Kind == KindDir || img.Kind == KindVM || img.Kind == KindEBS
}

// StoredSize is the total stored size of the layers, -1 when unknown (a
// root filesystem), for progress bars.
func (img *Image) StoredSize() int64 {
	var total int64
	for _, l := range img.Layers {
		if l.Size < 0 {
			return -1
		}
		total += l.Size
	}
	return total
}

// LayerForHistory returns the layer that history entry hi created, or nil
// for an instruction that made no layer.
func (img *Image) LayerForHistory(hi int) *Layer {
	for _, l := range img.Layers {
		if l.HistoryIndex == hi {
			return l
		}
	}
	return nil
}

func shortDigest(d string) string {
	if i := strings.IndexByte(d, ':'); i >= 0 && len(d) > i+13 {
		return d[:i+13]
	}
	return d
}
