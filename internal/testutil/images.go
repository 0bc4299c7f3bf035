package testutil

import (
	"archive/tar"
	"bytes"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// File is one entry of a fixture layer.
type File struct {
	Path     string
	Content  string
	Mode     int64 // permission and setuid/setgid bits (c_ISUID 04000, c_ISGID 02000); default 0644, 0755 for dirs
	Type     byte  // tar type flag; default tar.TypeReg
	Linkname string
	UID, GID int
}

// Dir is a directory entry.
func Dir(p string) File { return File{Path: p, Type: tar.TypeDir} }

// Whiteout deletes p in a lower layer.
func Whiteout(p string) File {
	dir, base := filepath.Split(p)
	return File{Path: dir + ".wh." + base}
}

// TarBytes builds an uncompressed tar of the files.
func TarBytes(t testing.TB, files ...File) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		typ := f.Type
		if typ == 0 {
			typ = tar.TypeReg
		}
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
			if typ == tar.TypeDir {
				mode = 0o755
			}
		}
		hdr := &tar.Header{Name: f.Path, Typeflag: typ, Mode: mode, Linkname: f.Linkname, Uid: f.UID, Gid: f.GID, ModTime: time.Unix(1700000000, 0)}
		if typ == tar.TypeReg {
			hdr.Size = int64(len(f.Content))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write([]byte(f.Content)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Layer builds a gzip-compressed layer of the files.
func Layer(t testing.TB, files ...File) v1.Layer {
	t.Helper()
	b := TarBytes(t, files...)
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Step is one build step of a fixture image: a history line and,
// unless Layer is nil, the layer it made.
type Step struct {
	CreatedBy string
	Layer     v1.Layer
}

// Image builds an image from steps and a container config.
func Image(t testing.TB, cfg v1.Config, steps ...Step) v1.Image {
	t.Helper()
	img := empty.Image
	for _, s := range steps {
		add := mutate.Addendum{History: v1.History{CreatedBy: s.CreatedBy, Created: v1.Time{Time: time.Unix(1700000000, 0)}}}
		if s.Layer == nil {
			add.History.EmptyLayer = true
			var err error
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			cf = cf.DeepCopy()
			cf.History = append(cf.History, add.History)
			img, err = mutate.ConfigFile(img, cf)
			if err != nil {
				t.Fatal(err)
			}
			continue
		}
		add.Layer = s.Layer
		var err error
		img, err = mutate.Append(img, add)
		if err != nil {
			t.Fatal(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config = cfg
	cf.OS, cf.Architecture = "linux", "amd64"
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// WriteDockerArchive writes the image as docker save would and returns the path.
func WriteDockerArchive(t testing.TB, img v1.Image) string {
	t.Helper()
	return WriteDockerArchiveTag(t, img, "bulwark.test/fixture:1")
}

// WriteDockerArchiveTag is WriteDockerArchive with the tag recorded in
// the archive's RepoTags.
func WriteDockerArchiveTag(t testing.TB, img v1.Image, tagName string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "image.tar")
	tag, err := name.NewTag(tagName)
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(p, tag, img); err != nil {
		t.Fatal(err)
	}
	return p
}

// WriteOCILayout writes the image as an OCI layout directory and returns it.
func WriteOCILayout(t testing.TB, img v1.Image) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Push pushes an image to a registry reference and returns its digest.
func Push(t testing.TB, ref string, img v1.Image) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// DeleteManifest deletes a manifest from a registry by digest
// ("REGISTRY/REPOSITORY@sha256:..."), as a registry's API allows when
// deletes are enabled (StartRegistry's are).
func DeleteManifest(t testing.TB, ref string) {
	t.Helper()
	d, err := name.NewDigest(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Delete(d); err != nil {
		t.Fatalf("deleting %s: %v", ref, err)
	}
}
