// Package invtest builds the small images the inventory tests scan.
package invtest

import (
	"archive/tar"
	"bytes"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/bulwark-sec/bulwark/internal/inventory"
)

// File is one entry of a test layer. Content "" with Dir set makes a
// directory; a Path whose base starts with ".wh." is a whiteout.
type File struct {
	Path    string
	Content string
	Mode    int64
	Dir     bool
}

// Layer builds an uncompressed-tar layer (gzip-compressed as stored).
func Layer(t testing.TB, files ...File) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.Path, Mode: f.Mode, Size: int64(len(f.Content)), Typeflag: tar.TypeReg}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if f.Dir {
			h.Typeflag, h.Size, h.Mode = tar.TypeDir, 0, 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f.Content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Archive writes an image of the given layers as a docker archive in a
// temporary directory and returns its path.
func Archive(t testing.TB, layers ...v1.Layer) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "image.tar")
	if err := WriteArchive(p, "bulwark.test/inventory:latest", layers...); err != nil {
		t.Fatal(err)
	}
	return p
}

// List renders packages as a sorted, comma-separated "name@version" list,
// with " dev" after development dependencies, for compact assertions.
func List(pkgs []inventory.Package) string {
	var s []string
	for _, p := range pkgs {
		d := ""
		if p.Dev {
			d = " dev"
		}
		s = append(s, p.Name+"@"+p.Version+d)
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}
