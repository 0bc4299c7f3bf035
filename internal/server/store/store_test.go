package store

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/finding"
)

// A digest is added once; reopening the store keeps everything and runs
// no migration twice; the package index finds the images of a key.
func TestStore(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	d1, d2 := "sha256:"+strings.Repeat("1", 64), "sha256:"+strings.Repeat("2", 64)
	for _, c := range []struct {
		d, tag string
		want   bool
	}{{d1, "a", true}, {d1, "b", false}, {d2, "", true}} {
		if got, err := s.Add(ctx, "r", "repo", c.d, c.tag); err != nil || got != c.want {
			t.Fatalf("Add(%s, %s) = %v, %v; want %v", c.d, c.tag, got, err, c.want)
		}
	}
	if p, _ := s.Pending(ctx); len(p) != 2 {
		t.Fatalf("pending %d, want 2", len(p))
	}
	a := &Assessment{SBOM: json.RawMessage(`{}`), DBVersion: "v1", At: time.Now(),
		Packages: []Package{{"npm", "lodash", "4.0.0"}, {"Debian:12", "glibc", "2.36"}},
		Vulns:    []finding.Finding{{Gate: finding.GateVuln, ID: "CVE-1", Severity: finding.High}}}
	if err := s.Assessed(ctx, d1, a); err != nil {
		t.Fatal(err)
	}
	if err := s.Assessed(ctx, d2, &Assessment{SBOM: json.RawMessage(`{}`), DBVersion: "v1", At: time.Now(), Packages: []Package{{"npm", "left-pad", "1.0.0"}}}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	im, err := s.Image(ctx, d1)
	if err != nil || im.State != StateDone || len(im.Tags) != 2 || im.Counts["HIGH"] != 1 || im.DBVersion != "v1" {
		t.Fatalf("image after reopening: %+v, %v", im, err)
	}
	got, err := s.ImagesWith(ctx, []Package{{Ecosystem: "Debian:12", Name: "glibc"}})
	if err != nil || len(got) != 1 || got[0] != d1 {
		t.Errorf("ImagesWith glibc = %v, %v; want [%s]", got, err, d1)
	}
	if err := s.Rematched(ctx, d1, nil, "v2", time.Now()); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Advance(ctx, "v1", "v2", []string{d1}); err != nil || n != 1 {
		t.Errorf("Advance = %d, %v; want 1 (d2 only)", n, err)
	}
	if rest, _ := s.ImagesNotAt(ctx, "v2"); len(rest) != 0 {
		t.Errorf("images not at v2: %v", rest)
	}
	if fs, _ := s.Findings(ctx, d1); len(fs) != 0 {
		t.Errorf("findings after a re-match that found none: %v", fs)
	}
	if _, err := s.Image(ctx, "sha256:x"); err != ErrNotFound {
		t.Errorf("unknown digest: %v", err)
	}
}
