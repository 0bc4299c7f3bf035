package image

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/bulwark-sec/bulwark/internal/registry"
)

// Options configures how an image is opened.
type Options struct {
	// Input is an archive file (docker save or OCI archive) given with
	// --input; when set the spec must be empty.
	Input string
	// Registry is the registry access (credentials, TLS, platform) for
	// registry references; nil means the defaults.
	Registry *registry.Client
	// Trees opens a directory that is not an OCI layout as KindDir (a
	// source tree) instead of refusing it.
	Trees bool
	// RefsOnly takes a spec without a scheme prefix (oci:, rootfs:,
	// docker-archive:, oci-archive:) as a registry reference, never as a
	// local path: for FROM lines, which must not read files by accident.
	RefsOnly bool
}

// Open opens the image a spec names. The spec is one of:
//
//	host/repo:tag, host/repo@sha256:...   an image in a registry
//	rootfs:DIR                            a root filesystem directory
//	vm:FILE, vm:FILE#N                    a VM disk image (raw, qcow2, VMDK): its
//	                                      Linux root, or partition N
//	ebs:SNAPSHOT-ID[#N]                   an EBS snapshot, read through the EBS
//	                                      direct APIs (AWS SDK configuration)
//	oci:DIR[:TAG|@DIGEST], or a DIR       an OCI image layout directory
//	docker-archive:FILE, oci-archive:FILE an archive (or use Options.Input)
//	FILE                                  an archive, detected by content
func Open(ctx context.Context, spec string, opts Options) (*Image, error) {
	img, err := open(ctx, spec, opts)
	if err != nil {
		what := spec
		if opts.Input != "" {
			what = opts.Input
		}
		return nil, fmt.Errorf("image %q: %w", what, err)
	}
	img.attachHistory()
	return img, nil
}

func open(ctx context.Context, spec string, opts Options) (*Image, error) {
	if opts.Input != "" {
		if spec != "" {
			return nil, fmt.Errorf("give either an image or --input, not both")
		}
		return openArchive(opts.Input, opts.Input, "")
	}
	if spec == "" {
		return nil, fmt.Errorf("no image given")
	}
	if dir, ok := strings.CutPrefix(spec, "rootfs:"); ok {
		return openRootfs(spec, dir)
	}
	if rest, ok := strings.CutPrefix(spec, "vm:"); ok {
		return openVM(ctx, spec, KindVM, rest)
	}
	if rest, ok := strings.CutPrefix(spec, "ebs:"); ok {
		return openVM(ctx, spec, KindEBS, rest)
	}
	if rest, ok := strings.CutPrefix(spec, "oci:"); ok {
		dir, sel := splitSelector(rest)
		return openLayout(spec, dir, sel, opts.Registry.Platform())
	}
	for _, p := range []string{"docker-archive:", "oci-archive:"} {
		if file, ok := strings.CutPrefix(spec, p); ok {
			return openArchive(spec, file, strings.TrimSuffix(p, ":"))
		}
	}
	if opts.RefsOnly {
		return openRemote(ctx, spec, opts)
	}
	if IsTree(spec) {
		if !opts.Trees {
			return nil, fmt.Errorf("is a directory but not an OCI layout (no oci-layout file); for a root filesystem use rootfs:%s", spec)
		}
		img, err := openRootfs(spec, spec)
		if img != nil {
			img.Kind = KindDir
		}
		return img, err
	}
	if st, err := os.Stat(spec); err == nil {
		if st.IsDir() {
			return openLayout(spec, spec, "", opts.Registry.Platform())
		}
		return openArchive(spec, spec, "")
	}
	if strings.HasPrefix(spec, "/") || strings.HasPrefix(spec, "./") || strings.HasPrefix(spec, "../") {
		return nil, fmt.Errorf("no such file or directory")
	}
	return openRemote(ctx, spec, opts)
}

// IsTree reports whether spec names an existing directory that is not an
// OCI layout: a source tree or a root filesystem rather than an image.
func IsTree(spec string) bool {
	st, err := os.Stat(spec)
	if err != nil || !st.IsDir() {
		return false
	}
	_, err = os.Stat(path.Join(spec, "oci-layout"))
	return err != nil
}

// splitSelector splits "DIR:tag" or "DIR@sha256:..." into the directory and
// the selector.
func splitSelector(s string) (string, string) {
	if i := strings.LastIndex(s, "@sha256:"); i >= 0 {
		return s[:i], s[i+1:]
	}
	if i := strings.LastIndex(s, ":"); i >= 0 && !strings.Contains(s[i:], "/") {
		return s[:i], s[i+1:]
	}
	return s, ""
}

func openArchive(spec, file, kind string) (*Image, error) {
	ts, err := openTarStore(file)
	if err != nil {
		if errors.Is(err, errNotTar) {
			return nil, fmt.Errorf("not an image archive: the file is not a tar (expected what docker save or an OCI archive export writes)")
		}
		return nil, err
	}
	var img *Image
	switch {
	case (kind == "" || kind == KindDockerArchive) && ts.has("manifest.json"):
		img, err = dockerArchive(ts)
	case (kind == "" || kind == KindOCIArchive) && ts.has("index.json"):
		img, err = ociImage(ts, "", nil)
		if img != nil {
			img.Kind = KindOCIArchive
		}
	default:
		err = fmt.Errorf("not an image archive: it has neither manifest.json (docker save) nor index.json (OCI archive)")
	}
	if err != nil {
		ts.Close()
		return nil, err
	}
	img.Name = spec
	img.closer = ts
	if img.Kind == KindDockerArchive {
		img.asV1 = func() (v1.Image, error) { return tarball.ImageFromPath(file, nil) }
	}
	return img, nil
}

// dockerManifest is one entry of the manifest.json that docker save writes.
type dockerManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

func dockerArchive(ts *tarStore) (*Image, error) {
	raw, err := readAll(ts, "manifest.json")
	if err != nil {
		return nil, err
	}
	var ms []dockerManifest
	if err := json.Unmarshal(raw, &ms); err != nil {
		return nil, fmt.Errorf("manifest.json is not valid: %w", err)
	}
	if len(ms) != 1 {
		return nil, fmt.Errorf("manifest.json lists %d images; bulwark reads archives of exactly one image", len(ms))
	}
	m := ms[0]
	cfgRaw, err := readAll(ts, m.Config)
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	if d, ok := blobDigest(m.Config); ok {
		if err := checkDigest(cfgRaw, d, "image config"); err != nil {
			return nil, err
		}
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(cfgRaw))
	if err != nil {
		return nil, fmt.Errorf("image config %s is not valid: %w", m.Config, err)
	}
	if len(m.Layers) > maxLayers {
		return nil, fmt.Errorf("%d layers, more than the %d allowed", len(m.Layers), maxLayers)
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		return nil, fmt.Errorf("manifest.json lists %d layers but the config has %d diff_ids", len(m.Layers), len(cfg.RootFS.DiffIDs))
	}
	img := &Image{Kind: KindDockerArchive, Config: cfg, Tags: m.RepoTags}
	for i, name := range m.Layers {
		if !ts.has(name) {
			return nil, fmt.Errorf("layer %d: %s is missing from the archive", i, name)
		}
		l := &Layer{Index: i, DiffID: cfg.RootFS.DiffIDs[i].String(), Size: ts.files[cleanArchiveName(name)].size, HistoryIndex: -1}
		digest, ok := blobDigest(name)
		if ok {
			l.Digest = digest
		} else {
			l.verifyDiffID = true
		}
		name := name
		l.open = func() (io.ReadCloser, error) {
			rc, size, err := ts.open(name)
			if err != nil {
				return nil, err
			}
			if !ok {
				return rc, nil
			}
			v, err := newVerifier(rc, digest, size, l.String())
			if err != nil {
				return nil, err
			}
			return readCloser{v, rc}, nil
		}
		img.Layers = append(img.Layers, l)
	}
	return img, nil
}

// blobDigest derives a digest from a "blobs/sha256/HEX" name.
func blobDigest(name string) (string, bool) {
	rest, ok := strings.CutPrefix(cleanArchiveName(name), "blobs/sha256/")
	if !ok || len(rest) != 64 || strings.Trim(rest, "0123456789abcdef") != "" {
		return "", false
	}
	return "sha256:" + rest, true
}

func checkDigest(b []byte, digest, what string) error {
	v, err := newVerifier(bytes.NewReader(b), digest, int64(len(b)), what)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, v)
	return err
}

type readCloser struct {
	io.Reader
	io.Closer
}

func openLayout(spec, dir, sel string, platform *v1.Platform) (*Image, error) {
	if _, err := os.Stat(path.Join(dir, "oci-layout")); err != nil {
		return nil, fmt.Errorf("%s is not an OCI layout directory (no oci-layout file)", dir)
	}
	img, err := ociImage(dirStore{root: dir}, sel, platform)
	if err != nil {
		return nil, err
	}
	img.Name = spec
	img.Kind = KindOCILayout
	return img, nil
}

// ociImage reads an OCI image layout (from an archive or a directory) and
// picks one image: by tag or digest when sel is set, by platform otherwise.
func ociImage(s store, sel string, platform *v1.Platform) (*Image, error) {
	raw, err := readAll(s, "index.json")
	if err != nil {
		return nil, err
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("index.json is not valid: %w", err)
	}
	var cands []v1.Descriptor
	if err := collectManifests(s, idx, 0, &cands); err != nil {
		return nil, err
	}
	desc, err := pickManifest(cands, sel, platform)
	if err != nil {
		return nil, err
	}
	mraw, err := readBlob(s, desc)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(mraw))
	if err != nil {
		return nil, fmt.Errorf("manifest %s is not valid: %w", desc.Digest, err)
	}
	cfgRaw, err := readBlob(s, m.Config)
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(cfgRaw))
	if err != nil {
		return nil, fmt.Errorf("image config %s is not valid: %w", m.Config.Digest, err)
	}
	if len(m.Layers) > maxLayers {
		return nil, fmt.Errorf("%d layers, more than the %d allowed", len(m.Layers), maxLayers)
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		return nil, fmt.Errorf("the manifest lists %d layers but the config has %d diff_ids", len(m.Layers), len(cfg.RootFS.DiffIDs))
	}
	img := &Image{Digest: desc.Digest.String(), Config: cfg, Annotations: m.Annotations}
	img.asV1 = func() (v1.Image, error) {
		return partial.CompressedToImage(&storeImage{s: s, manifest: m, rawManifest: mraw, rawConfig: cfgRaw, mediaType: desc.MediaType})
	}
	if ref := desc.Annotations[refNameAnnotation]; ref != "" {
		img.Tags = []string{ref}
	}
	for i, ld := range m.Layers {
		l := &Layer{Index: i, Digest: ld.Digest.String(), DiffID: cfg.RootFS.DiffIDs[i].String(), Size: ld.Size, HistoryIndex: -1}
		ld := ld
		l.open = func() (io.ReadCloser, error) { return openBlob(s, ld, l.String()) }
		img.Layers = append(img.Layers, l)
	}
	return img, nil
}

func blobPath(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }

// openBlob opens a blob of a store, checked against its descriptor's
// digest and size as it is read; what names it in errors.
func openBlob(s store, d v1.Descriptor, what string) (io.ReadCloser, error) {
	rc, _, err := s.open(blobPath(d.Digest))
	if err != nil {
		return nil, err
	}
	v, err := newVerifier(rc, d.Digest.String(), d.Size, what)
	if err != nil {
		rc.Close()
		return nil, err
	}
	return readCloser{v, rc}, nil
}

// readBlob reads a small blob and checks it against its descriptor.
func readBlob(s store, d v1.Descriptor) ([]byte, error) {
	if d.Digest.Algorithm != "sha256" || len(d.Digest.Hex) != 64 {
		return nil, fmt.Errorf("unsupported digest %q", d.Digest)
	}
	b, err := readAll(s, blobPath(d.Digest))
	if err != nil {
		return nil, err
	}
	if err := checkDigest(b, d.Digest.String(), d.Digest.String()); err != nil {
		return nil, err
	}
	return b, nil
}

func collectManifests(s store, idx *v1.IndexManifest, depth int, out *[]v1.Descriptor) error {
	if depth > 4 {
		return fmt.Errorf("image indexes nested more than 4 deep")
	}
	for _, d := range idx.Manifests {
		switch {
		case d.MediaType.IsIndex():
			raw, err := readBlob(s, d)
			if err != nil {
				return fmt.Errorf("index %s: %w", d.Digest, err)
			}
			child, err := v1.ParseIndexManifest(bytes.NewReader(raw))
			if err != nil {
				return fmt.Errorf("index %s is not valid: %w", d.Digest, err)
			}
			// A nested index inherits the tag its parent entry carries.
			if ref := d.Annotations[refNameAnnotation]; ref != "" {
				for i := range child.Manifests {
					if child.Manifests[i].Annotations == nil {
						child.Manifests[i].Annotations = map[string]string{}
					}
					if child.Manifests[i].Annotations[refNameAnnotation] == "" {
						child.Manifests[i].Annotations[refNameAnnotation] = ref
					}
				}
			}
			if err := collectManifests(s, child, depth+1, out); err != nil {
				return err
			}
		case d.MediaType.IsImage() || d.MediaType == "":
			*out = append(*out, d)
		}
	}
	return nil
}

const refNameAnnotation = "org.opencontainers.image.ref.name"

func pickManifest(cands []v1.Descriptor, sel string, platform *v1.Platform) (v1.Descriptor, error) {
	if len(cands) == 0 {
		return v1.Descriptor{}, fmt.Errorf("the layout holds no image manifest")
	}
	if sel != "" {
		for _, d := range cands {
			if d.Digest.String() == sel || d.Annotations[refNameAnnotation] == sel {
				return d, nil
			}
		}
		return v1.Descriptor{}, fmt.Errorf("no image %q in the layout", sel)
	}
	if len(cands) == 1 {
		return cands[0], nil
	}
	want := platform
	if want == nil {
		want = &v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	}
	for _, d := range cands {
		if d.Platform != nil && d.Platform.OS == want.OS && d.Platform.Architecture == want.Architecture {
			return d, nil
		}
	}
	var names []string
	for _, d := range cands {
		n := d.Digest.String()
		if t := d.Annotations[refNameAnnotation]; t != "" {
			n = t + " (" + n + ")"
		}
		names = append(names, n)
	}
	return v1.Descriptor{}, fmt.Errorf("the layout holds %d images and none for %s/%s; pick one with oci:DIR:TAG or oci:DIR@DIGEST: %s",
		len(cands), want.OS, want.Architecture, strings.Join(names, ", "))
}

func openRemote(ctx context.Context, spec string, opts Options) (*Image, error) {
	ref, err := opts.Registry.Reference(spec)
	var re *registry.ReferenceError
	if errors.As(err, &re) {
		return nil, fmt.Errorf("not a file or directory, and not an image reference: %s", re.Reason)
	}
	if err != nil {
		return nil, err
	}
	img, err := remote.Image(ref, opts.Registry.Remote(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("fetching from the registry: %w", registry.Explain(err))
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, err
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("layers: %w", err)
	}
	if len(layers) > maxLayers {
		return nil, fmt.Errorf("%d layers, more than the %d allowed", len(layers), maxLayers)
	}
	if len(cfg.RootFS.DiffIDs) != len(layers) {
		return nil, fmt.Errorf("the manifest lists %d layers but the config has %d diff_ids", len(layers), len(cfg.RootFS.DiffIDs))
	}
	out := &Image{Kind: KindRegistry, Name: spec, Reference: ref.String(), Digest: digest.String(), Config: cfg, Annotations: m.Annotations}
	out.asV1 = func() (v1.Image, error) { return img, nil }
	for i, rl := range layers {
		// The registry layer verifies its digest as it is read.
		l := &Layer{Index: i, Digest: m.Layers[i].Digest.String(), DiffID: cfg.RootFS.DiffIDs[i].String(), Size: m.Layers[i].Size, HistoryIndex: -1}
		if mt := m.Layers[i].MediaType; mt != "" && !isLayerMediaType(mt) {
			return nil, fmt.Errorf("layer %d has media type %s, which is not a filesystem layer", i, mt)
		}
		l.open = rl.Compressed
		out.Layers = append(out.Layers, l)
	}
	return out, nil
}

func isLayerMediaType(mt types.MediaType) bool {
	s := string(mt)
	return strings.Contains(s, "layer") || strings.Contains(s, "diff.tar")
}
