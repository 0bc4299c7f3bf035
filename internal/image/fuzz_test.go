package image_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// FuzzWalkLayer feeds arbitrary bytes to the walker as a layer: it must
// return an error or a result, never panic or hang.
func FuzzWalkLayer(f *testing.F) {
	f.Add(testutil.TarBytes(f, testutil.File{Path: "etc/passwd", Content: "root:x:0:0"}, testutil.Whiteout("a/b")))
	f.Add(gzBytes(testutil.TarBytes(f, testutil.File{Path: "a/.wh..wh..opq"})))
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0})
	f.Fuzz(func(t *testing.T, layer []byte) {
		p := layerArchive(t, layer, sha(layer))
		img, err := image.Open(context.Background(), "", image.Options{Input: p})
		if err != nil {
			return
		}
		defer img.Close()
		tree, err := image.Walk(context.Background(), img, []image.Handler{&collector{}}, image.WalkOptions{})
		if err == nil {
			tree.Visible(0, "etc/passwd")
		}
	})
}

// FuzzOpenArchive feeds arbitrary bytes to Open as an archive. It is kept
// cheap, so that it runs thousands of inputs a minute: small seeds, inputs
// over 64 KiB skipped, one file per worker rewritten in place, and one
// layer read at a time (a deterministic path, so that the fuzzer does not
// chase coverage that comes and goes with goroutine scheduling).
func FuzzOpenArchive(f *testing.F) {
	f.Add(testutil.TarBytes(f, testutil.File{Path: "manifest.json", Content: `[{"Config":"c","Layers":["l"]}]`}, testutil.File{Path: "c", Content: `{"rootfs":{"diff_ids":["sha256:00"]}}`}))
	f.Add(testutil.TarBytes(f, testutil.File{Path: "index.json", Content: `{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000"}]}`}))
	p := filepath.Join(f.TempDir(), "in.tar")
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 64<<10 {
			return
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		img, err := image.Open(context.Background(), "", image.Options{Input: p})
		if err != nil {
			return
		}
		defer img.Close()
		_, _ = image.Walk(context.Background(), img, []image.Handler{&collector{}}, image.WalkOptions{Concurrency: 1})
	})
}
