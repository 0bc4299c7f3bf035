package image_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"

	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// TestV1: every image source gives go-containerregistry the same image
// (same digest for the OCI sources, same layers for all), and a layer
// changed on disk is caught as it streams.
func TestV1(t *testing.T) {
	src := layeredImage(t)
	want, err := src.Digest()
	must(t, err)
	wantLayers, err := partial.DiffIDs(src)
	must(t, err)
	for _, kind := range []string{"docker-archive", "oci-layout", "oci-archive"} {
		img := openFixture(t, kind, src)
		v, err := img.V1()
		if err != nil {
			t.Fatalf("%s: V1: %v", kind, err)
		}
		if _, err := io.Copy(io.Discard, mutate.Extract(v)); err != nil {
			t.Errorf("%s: the layers do not read: %v", kind, err)
		}
		got, err := partial.DiffIDs(v)
		must(t, err)
		if len(got) != len(wantLayers) || got[2] != wantLayers[2] {
			t.Errorf("%s: layers %v, want %v", kind, got, wantLayers)
		}
		if d, _ := v.Digest(); kind != "docker-archive" && d != want {
			t.Errorf("%s: digest %s, want %s", kind, d, want)
		}
		img.Close()
	}

	// A layer blob rewritten in the layout: the stream fails its digest.
	dir := testutil.WriteOCILayout(t, src)
	layers, _ := src.Layers()
	d, _ := layers[0].Digest()
	blob := filepath.Join(dir, "blobs", "sha256", d.Hex)
	b, _ := os.ReadFile(blob)
	b[len(b)/2] ^= 0xff
	must(t, os.WriteFile(blob, b, 0o644))
	img, err := image.Open(context.Background(), "oci:"+dir, image.Options{})
	must(t, err)
	defer img.Close()
	v, err := img.V1()
	must(t, err)
	ls, err := v.Layers()
	must(t, err)
	rc, err := ls[0].Compressed()
	must(t, err)
	_, err = io.Copy(io.Discard, rc)
	rc.Close()
	if err == nil || !strings.Contains(err.Error(), "digest") {
		t.Errorf("a tampered layer streamed without a digest error: %v", err)
	}

	root, err := image.Open(context.Background(), "rootfs:"+t.TempDir(), image.Options{})
	must(t, err)
	if _, err := root.V1(); err == nil || !strings.Contains(err.Error(), "cannot be pushed") {
		t.Errorf("a root filesystem as a v1.Image: %v", err)
	}
}

// TestTreesAndRefsOnly: a plain directory is a source tree only when the
// caller asks for trees; in refs-only mode (FROM lines) a path that exists
// is still taken as a registry reference.
func TestTreesAndRefsOnly(t *testing.T) {
	dir := t.TempDir()
	if _, err := image.Open(context.Background(), dir, image.Options{}); err == nil || !strings.Contains(err.Error(), "not an OCI layout") {
		t.Errorf("a plain directory without Trees: %v", err)
	}
	img, err := image.Open(context.Background(), dir, image.Options{Trees: true})
	if err != nil || img.Kind != image.KindDir || img.Name != dir {
		t.Fatalf("a plain directory with Trees: %v %+v", err, img)
	}
	t.Chdir(dir)
	must(t, os.WriteFile("app", []byte("not an image"), 0o644))
	_, err = image.Open(context.Background(), "app", image.Options{RefsOnly: true})
	if err == nil || !strings.Contains(err.Error(), "fetching from the registry") {
		t.Errorf("refs-only read the local file app: %v", err)
	}
}

// TestInputMustBeARegularFile: a FIFO (which would block a plain open),
// a device or a directory given with --input is refused at once.
func TestInputMustBeARegularFile(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "image.fifo")
	must(t, syscall.Mkfifo(fifo, 0o600))
	for in, want := range map[string]string{
		fifo:        "named pipe (FIFO)",
		"/dev/null": "character device",
		t.TempDir(): "is a directory, not an archive file",
	} {
		_, err := image.Open(context.Background(), "", image.Options{Input: in})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), in) {
			t.Errorf("--input %s: %v, want an error naming it and saying %q", in, err, want)
		}
	}
	// The same file named as the image.
	if _, err := image.Open(context.Background(), fifo, image.Options{}); err == nil || !strings.Contains(err.Error(), "named pipe") {
		t.Errorf("a FIFO as the image: %v", err)
	}
}
