package build_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/bulwark-sec/bulwark/internal/build"
	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/lint"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// TestInternalTagStaysInTheBuilder: a native build FROM an OCI layout
// (opened with image.Open) writes a layout without the builder's internal
// name, so lint finds no "latest tag" in it; a name the caller gives is
// kept.
func TestInternalTagStaysInTheBuilder(t *testing.T) {
	base := testutil.WriteOCILayout(t, testutil.Image(t, v1.Config{User: "app"},
		testutil.Step{CreatedBy: "ADD base", Layer: testutil.Layer(t, testutil.File{Path: "etc/os-release", Content: "ID=test\n"})}))
	ctxDir := t.TempDir()
	os.WriteFile(filepath.Join(ctxDir, "app.txt"), []byte("hi\n"), 0o644)
	os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte("FROM oci:"+base+"\nCOPY app.txt /srv/\nHEALTHCHECK CMD [\"/srv/check\"]\n"), 0o644)
	out := filepath.Join(t.TempDir(), "image")
	res, err := build.Build(context.Background(), build.Options{Context: ctxDir, Builder: build.BuilderNative, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	index, err := os.ReadFile(filepath.Join(out, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(index), "bulwark-build") || strings.Contains(string(index), "ref.name") {
		t.Errorf("the layout names the image: %s", index)
	}
	img, err := image.Open(context.Background(), "oci:"+out, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	if img.Digest != res.Digest || len(img.Layers) != 2 || len(img.Tags) != 0 {
		t.Errorf("built image %s with %d layers and tags %v, want %s with 2 and none", img.Digest, len(img.Layers), img.Tags, res.Digest)
	}
	findings, _, err := lint.Run(context.Background(), img, lint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		if f.ID == lint.CheckLatestTag.ID {
			t.Errorf("lint reports the builder's name: %+v", f)
		}
	}

	if _, err := build.Build(context.Background(), build.Options{Context: ctxDir, Builder: build.BuilderNative, Out: out, Tag: "team/app:1.0"}); err != nil {
		t.Fatal(err)
	}
	if index, _ := os.ReadFile(filepath.Join(out, "index.json")); !strings.Contains(string(index), "team/app:1.0") {
		t.Errorf("a name the caller gives is not in the layout: %s", index)
	}
}
