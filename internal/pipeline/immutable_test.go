package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/bulwark-sec/bulwark/internal/pipeline"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// TestImmutableTag: with push.immutable, a second build pushed to a tag
// that already names another image is refused, and the tag keeps pointing
// at the first image.
func TestImmutableTag(t *testing.T) {
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	dir := t.TempDir()
	write := func(p, c string) {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Dockerfile", "FROM scratch\nCOPY app.txt /app.txt\nUSER 1000\nCMD [\"/app\"]\n")
	yaml := fmt.Sprintf("version: 1\nsource: {dir: .}\nbuild: {dockerfile: Dockerfile}\npush:\n  repository: %s/team/app\n  tags: [release]\n  immutable: true\n", reg.Host)
	run := func() (*pipeline.Run, error, string) {
		f, err := pipeline.Parse(strings.NewReader(yaml), filepath.Join(dir, "bulwark.yaml"), pipeline.ValidateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		r, err := pipeline.Execute(context.Background(), pipeline.Options{File: f, Out: &out, Env: func(string) string { return "" }})
		return r, err, out.String()
	}
	digestOf := func() string {
		ref, err := name.ParseReference(reg.Host + "/team/app:release")
		if err != nil {
			t.Fatal(err)
		}
		d, err := remote.Head(ref)
		if err != nil {
			t.Fatal(err)
		}
		return d.Digest.String()
	}

	write("app.txt", "v1")
	if _, err, out := run(); err != nil {
		t.Fatalf("first push: %v\n%s", err, out)
	}
	first := digestOf()
	if _, err, out := run(); err != nil {
		t.Fatalf("pushing the same image to the tag again must pass: %v\n%s", err, out)
	}
	write("app.txt", "v2")
	_, err, out := run()
	if err == nil || !strings.Contains(err.Error()+out, "already exists") {
		t.Fatalf("second image to an immutable tag: %v\n%s", err, out)
	}
	if got := digestOf(); got != first {
		t.Errorf("the tag moved from %s to %s", first, got)
	}
}
