package image_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// collector records every entry (and the content of wanted ones).
type collector struct {
	want    func(*image.Entry) bool
	mu      sync.Mutex
	entries map[string]string // "layer:path" -> content
}

func (c *collector) Want(e *image.Entry) bool { return c.want == nil || c.want(e) }

func (c *collector) Handle(e *image.Entry, r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]string{}
	}
	c.entries[key(e.Layer.Index, e.Path)] = string(b)
	return nil
}

func key(layer int, p string) string { return string(rune('0'+layer)) + ":" + p }

// layeredImage has three layers exercising whiteouts, opaque directories
// and replacement.
func layeredImage(t *testing.T) v1.Image {
	return testutil.Image(t, v1.Config{User: "app"},
		testutil.Step{CreatedBy: "ADD file:base in /", Layer: testutil.Layer(t,
			testutil.Dir("etc"), testutil.File{Path: "etc/passwd", Content: "root:x:0:0::/root:/bin/sh\n"},
			testutil.Dir("app"), testutil.File{Path: "app/secret.txt", Content: "s3cr3t"},
			testutil.Dir("opt/data"), testutil.File{Path: "opt/data/a", Content: "a"},
			testutil.File{Path: "keep.txt", Content: "keep"},
		)},
		testutil.Step{CreatedBy: "RUN rm /app/secret.txt", Layer: testutil.Layer(t,
			testutil.Whiteout("app/secret.txt"),
			testutil.Dir("opt/data"), testutil.File{Path: "opt/data/.wh..wh..opq"}, testutil.File{Path: "opt/data/b", Content: "b"},
		)},
		testutil.Step{CreatedBy: "ENV A=b"},
		testutil.Step{CreatedBy: "COPY passwd /etc/passwd # buildkit", Layer: testutil.Layer(t,
			testutil.File{Path: "./etc/passwd", Content: "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n"},
		)},
	)
}

func walkAll(t *testing.T, img *image.Image) (*collector, *image.Tree) {
	t.Helper()
	c := &collector{}
	tree, err := image.Walk(context.Background(), img, []image.Handler{c}, image.WalkOptions{})
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	return c, tree
}

func TestWalkAppliesWhiteoutsAndKeepsDeletedFilesVisibleToHandlers(t *testing.T) {
	for _, src := range []string{"docker-archive", "oci-layout", "oci-archive"} {
		t.Run(src, func(t *testing.T) {
			img := openFixture(t, src, layeredImage(t))
			defer img.Close()
			if len(img.Layers) != 3 {
				t.Fatalf("got %d layers, want 3", len(img.Layers))
			}
			if got := img.Layers[2].CreatedBy; got != "COPY passwd /etc/passwd # buildkit" {
				t.Errorf("layer 2 CreatedBy = %q (history with an empty layer must be skipped)", got)
			}
			c, tree := walkAll(t, img)
			// The deleted file was still offered to the handler...
			if got := c.entries[key(0, "app/secret.txt")]; got != "s3cr3t" {
				t.Errorf("deleted file content = %q, want it offered with its content", got)
			}
			cases := []struct {
				layer   int
				path    string
				visible bool
			}{
				{0, "app/secret.txt", false}, // whiteout
				{0, "opt/data/a", false},     // opaque directory in layer 1
				{1, "opt/data/b", true},
				{0, "etc/passwd", false}, // replaced in layer 2
				{2, "etc/passwd", true},
				{0, "keep.txt", true},
			}
			for _, tc := range cases {
				if got := tree.Visible(tc.layer, tc.path); got != tc.visible {
					t.Errorf("Visible(%d, %s) = %v, want %v", tc.layer, tc.path, got, tc.visible)
				}
			}
			if _, ok := c.entries[key(1, "app/.wh.secret.txt")]; ok {
				t.Error("whiteout entries must not be offered to handlers")
			}
		})
	}
}

// openFixture writes img in the given source format and opens it.
func openFixture(t *testing.T, src string, img v1.Image) *image.Image {
	t.Helper()
	var spec string
	var opts image.Options
	switch src {
	case "docker-archive":
		opts.Input = testutil.WriteDockerArchive(t, img)
	case "oci-layout":
		spec = testutil.WriteOCILayout(t, img)
	case "oci-archive":
		dir := testutil.WriteOCILayout(t, img)
		spec = "oci-archive:" + tarDir(t, dir)
	}
	out, err := image.Open(context.Background(), spec, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", src, err)
	}
	return out
}

// tarDir packs a directory into an uncompressed tar, as an OCI archive.
func tarDir(t *testing.T, dir string) string {
	t.Helper()
	var files []testutil.File
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files = append(files, testutil.File{Path: rel, Content: string(b)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "oci.tar")
	if err := os.WriteFile(out, testutil.TarBytes(t, files...), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRootfs(t *testing.T) {
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "etc"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "etc/passwd"), []byte("root:x:0:0::/:/bin/sh\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "su"), []byte("x"), 0o755))
	must(t, os.Chmod(filepath.Join(dir, "su"), os.ModeSetuid|0o755))
	must(t, os.Symlink("/etc/shadow", filepath.Join(dir, "escape")))
	must(t, os.Symlink("loop", filepath.Join(dir, "loop")))
	img, err := image.Open(context.Background(), "rootfs:"+dir, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	modes := map[string]os.FileMode{}
	c := &collector{want: func(e *image.Entry) bool {
		mu.Lock()
		modes[e.Path] = e.Mode
		mu.Unlock()
		return true
	}}
	if _, err := image.Walk(context.Background(), img, []image.Handler{c}, image.WalkOptions{}); err != nil {
		t.Fatal(err)
	}
	if c.entries[key(0, "etc/passwd")] != "root:x:0:0::/:/bin/sh\n" {
		t.Errorf("etc/passwd content = %q", c.entries[key(0, "etc/passwd")])
	}
	if modes["su"]&os.ModeSetuid == 0 {
		t.Errorf("su mode = %v, want setuid", modes["su"])
	}
	if modes["escape"]&os.ModeSymlink == 0 || c.entries[key(0, "escape")] != "" {
		t.Errorf("symlink must be reported as a link, not followed (mode %v, content %q)", modes["escape"], c.entries[key(0, "escape")])
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestBadInput: every broken input gets an error naming it, never a panic.
func TestBadInput(t *testing.T) {
	good := layeredImage(t)
	archive := testutil.WriteDockerArchive(t, good)
	cases := []struct {
		name    string
		make    func(t *testing.T) (spec string, opts image.Options)
		wantErr string
	}{
		{"not an image", func(t *testing.T) (string, image.Options) {
			p := filepath.Join(t.TempDir(), "notes.txt")
			must(t, os.WriteFile(p, []byte("hello, this is not a tar file at all\n"), 0o644))
			return "", image.Options{Input: p}
		}, "not a tar"},
		{"gzipped archive", func(t *testing.T) (string, image.Options) {
			p := filepath.Join(t.TempDir(), "x.tar.gz")
			must(t, os.WriteFile(p, []byte{0x1f, 0x8b, 8, 0, 0, 0}, 0o644))
			return "", image.Options{Input: p}
		}, "gzip-compressed"},
		{"tar without manifest", func(t *testing.T) (string, image.Options) {
			p := filepath.Join(t.TempDir(), "x.tar")
			must(t, os.WriteFile(p, testutil.TarBytes(t, testutil.File{Path: "a", Content: "b"}), 0o644))
			return "", image.Options{Input: p}
		}, "neither manifest.json"},
		{"manifest names a missing layer", func(t *testing.T) (string, image.Options) {
			return "", image.Options{Input: rewriteArchive(t, archive, func(name string, b []byte) ([]byte, bool) {
				return b, !strings.HasSuffix(name, ".tar.gz") || strings.Contains(name, "manifest")
			}, 1)}
		}, "missing from the archive"},
		{"truncated archive", func(t *testing.T) (string, image.Options) {
			b, err := os.ReadFile(archive)
			must(t, err)
			p := filepath.Join(t.TempDir(), "trunc.tar")
			must(t, os.WriteFile(p, b[:len(b)/2], 0o644))
			return "", image.Options{Input: p}
		}, ""},
		{"missing directory", func(t *testing.T) (string, image.Options) {
			return "rootfs:/nonexistent/bulwark", image.Options{}
		}, "no such file"},
		{"directory that is not a layout", func(t *testing.T) (string, image.Options) {
			return t.TempDir(), image.Options{}
		}, "not an OCI layout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec, opts := tc.make(t)
			img, err := image.Open(context.Background(), spec, opts)
			if err == nil {
				_, err = image.Walk(context.Background(), img, []image.Handler{&collector{}}, image.WalkOptions{})
				img.Close()
			}
			if err == nil {
				t.Fatal("no error")
			}
			what := spec + opts.Input
			if !strings.Contains(err.Error(), what) {
				t.Errorf("error %q does not name the input %q", err, what)
			}
			if tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not say %q", err, tc.wantErr)
			}
		})
	}
}

// rewriteArchive copies a docker archive, letting edit change or drop
// entries; keep=false drops the entry. At most limit entries are dropped.
func rewriteArchive(t *testing.T, src string, edit func(name string, b []byte) ([]byte, bool), limit int) string {
	t.Helper()
	f, err := os.Open(src)
	must(t, err)
	defer f.Close()
	tr := tar.NewReader(f)
	var files []testutil.File
	dropped := 0
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(t, err)
		b, err := io.ReadAll(tr)
		must(t, err)
		nb, keep := edit(hdr.Name, b)
		if !keep && dropped < limit {
			dropped++
			continue
		}
		files = append(files, testutil.File{Path: hdr.Name, Content: string(nb)})
	}
	p := filepath.Join(t.TempDir(), "edited.tar")
	must(t, os.WriteFile(p, testutil.TarBytes(t, files...), 0o644))
	return p
}

// layerArchive builds a one-layer docker archive whose layer is raw
// (uncompressed tar or any bytes), with the diff ID given.
func layerArchive(t *testing.T, layer []byte, diffID string) string {
	t.Helper()
	cfg := map[string]any{"architecture": "amd64", "os": "linux", "config": map[string]any{},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{diffID}}}
	cb, _ := json.Marshal(cfg)
	mb, _ := json.Marshal([]map[string]any{{"Config": "config.json", "RepoTags": []string{"x:1"}, "Layers": []string{"layer.tar"}}})
	p := filepath.Join(t.TempDir(), "img.tar")
	must(t, os.WriteFile(p, testutil.TarBytes(t,
		testutil.File{Path: "manifest.json", Content: string(mb)},
		testutil.File{Path: "config.json", Content: string(cb)},
		testutil.File{Path: "layer.tar", Content: string(layer)},
	), 0o644))
	return p
}

func sha(b []byte) string { return v1.Hash{Algorithm: "sha256", Hex: hexSHA(b)}.String() }

func TestHostileLayers(t *testing.T) {
	cases := []struct {
		name    string
		layer   []byte
		diffID  string // "" = the layer's real digest
		wantErr string
	}{
		{"digest mismatch", testutil.TarBytes(t, testutil.File{Path: "a", Content: "x"}), sha([]byte("other")), "digest mismatch"},
		{"truncated gzip", halve(gz(t, testutil.TarBytes(t, testutil.File{Path: "a", Content: noise(100000)}))), "", "truncated"},
		{"garbage layer", bytes.Repeat([]byte{0xde, 0xad}, 700), "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			diffID := tc.diffID
			if diffID == "" {
				diffID = sha(tc.layer)
			}
			p := layerArchive(t, tc.layer, diffID)
			img, err := image.Open(context.Background(), "", image.Options{Input: p})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer img.Close()
			_, err = image.Walk(context.Background(), img, []image.Handler{&collector{}}, image.WalkOptions{})
			if err == nil {
				t.Fatal("Walk succeeded on a hostile layer")
			}
			if tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not say %q", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), "layer 0") {
				t.Errorf("error %q does not name the layer", err)
			}
		})
	}
}

// TestEscapingEntries: entries that would leave the image root when
// unpacked are skipped, never offered to a handler, and reported with
// their layer and name; the rest of the layer is read.
func TestEscapingEntries(t *testing.T) {
	layer := testutil.TarBytes(t,
		testutil.File{Path: "etc/ok", Content: "fine"},
		testutil.File{Path: "../../etc/evil", Content: "x"},
		testutil.File{Path: "/etc/passwd", Content: "x"},
		testutil.File{Path: "a/../../b", Content: "x"},
		testutil.File{Path: "etc/out", Type: tar.TypeSymlink, Linkname: "../../../etc/shadow"},
		testutil.File{Path: "etc/abs", Type: tar.TypeSymlink, Linkname: "/etc/shadow"}, // resolved inside the root: fine
		testutil.File{Path: "etc/in", Type: tar.TypeSymlink, Linkname: "../usr/lib"},   // inside: fine
		testutil.File{Path: "etc/hard", Type: tar.TypeLink, Linkname: "../etc/shadow"},
		testutil.File{Path: "etc/hard2", Type: tar.TypeLink, Linkname: "/etc/shadow"},
		testutil.File{Path: "etc/last", Content: "read after the hostile ones"},
	)
	img, err := image.Open(context.Background(), "", image.Options{Input: layerArchive(t, layer, sha(layer))})
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	c := &collector{}
	tree, err := image.Walk(context.Background(), img, []image.Handler{c}, image.WalkOptions{})
	if err != nil {
		t.Fatalf("Walk must go on past escaping entries: %v", err)
	}
	var seen []string
	for k := range c.entries {
		seen = append(seen, strings.TrimPrefix(k, "0:"))
	}
	slices.Sort(seen)
	if want := "etc/abs etc/in etc/last etc/ok"; strings.Join(seen, " ") != want {
		t.Errorf("handlers saw %q, want %q", strings.Join(seen, " "), want)
	}
	fs := tree.EscapeFindings()
	var got []string
	for _, f := range fs {
		if f.Gate != finding.GateImage || f.Severity != finding.Critical || f.ID != image.EscapeID ||
			f.Location.Layer == nil || f.Location.Layer.Index != 0 || !strings.Contains(f.Message, "layer 0") {
			t.Errorf("finding %+v: want a CRITICAL image finding naming layer 0", f)
		}
		got = append(got, f.Location.Path)
	}
	if want := "../../etc/evil /etc/passwd a/../../b etc/out etc/hard etc/hard2"; strings.Join(got, " ") != want {
		t.Errorf("escapes reported: %q, want %q", strings.Join(got, " "), want)
	}
}

func TestEntriesAreOfferedInOrderWithMetadata(t *testing.T) {
	img := openFixture(t, "docker-archive", testutil.Image(t, v1.Config{},
		testutil.Step{CreatedBy: "x", Layer: testutil.Layer(t,
			testutil.File{Path: "bin/su", Content: "x", Mode: 0o4755, UID: 0},
			testutil.File{Path: "bin/link", Type: tar.TypeSymlink, Linkname: "su"},
			testutil.File{Path: "home/u/f", Content: "y", UID: 1000, GID: 1000},
		)}))
	defer img.Close()
	var mu sync.Mutex
	var seen []string
	c := &collector{want: func(e *image.Entry) bool {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, e.Path)
		switch e.Path {
		case "bin/su":
			if e.Mode&os.ModeSetuid == 0 || !e.IsRegular() {
				t.Errorf("bin/su: mode %v regular %v", e.Mode, e.IsRegular())
			}
		case "bin/link":
			if e.Linkname != "su" || e.Type != tar.TypeSymlink {
				t.Errorf("bin/link: %q %c", e.Linkname, e.Type)
			}
		case "home/u/f":
			if e.UID != 1000 || e.Size != 1 {
				t.Errorf("home/u/f: uid %d size %d", e.UID, e.Size)
			}
		}
		return false
	}}
	if _, err := image.Walk(context.Background(), img, []image.Handler{c}, image.WalkOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"bin/su", "bin/link", "home/u/f"}
	if strings.Join(seen, ",") != strings.Join(want, ",") {
		t.Errorf("entries %v, want %v", seen, want)
	}
}

// TestSeveralHandlersShareLargeFiles: a file larger than the in-memory
// fan-out buffer reaches every handler whole.
func TestSeveralHandlersShareLargeFiles(t *testing.T) {
	big := strings.Repeat("0123456789", 300000) // 3 MB
	img := openFixture(t, "oci-layout", testutil.Image(t, v1.Config{},
		testutil.Step{CreatedBy: "x", Layer: testutil.Layer(t, testutil.File{Path: "big", Content: big}, testutil.File{Path: "small", Content: "s"})}))
	a, b := &collector{}, &collector{}
	partial := &partialReader{}
	if _, err := image.Walk(context.Background(), img, []image.Handler{a, partial, b}, image.WalkOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*collector{a, b} {
		if c.entries[key(0, "big")] != big || c.entries[key(0, "small")] != "s" {
			t.Errorf("handler got %d bytes of big, want %d", len(c.entries[key(0, "big")]), len(big))
		}
	}
}

// partialReader reads only the first bytes of each file.
type partialReader struct{}

func (partialReader) Want(*image.Entry) bool { return true }
func (partialReader) Handle(_ *image.Entry, r io.Reader) error {
	_, err := r.Read(make([]byte, 10))
	if err == io.EOF {
		err = nil
	}
	return err
}

// TestProgressCountsStoredBytes: the progress writer sees every stored
// byte of every layer, so a bar over StoredSize ends at 100%.
func TestProgressCountsStoredBytes(t *testing.T) {
	img := openFixture(t, "oci-layout", layeredImage(t))
	defer img.Close()
	var n countWriter
	if _, err := image.Walk(context.Background(), img, []image.Handler{&collector{}}, image.WalkOptions{Progress: &n}); err != nil {
		t.Fatal(err)
	}
	if size := img.StoredSize(); size <= 0 || int64(n.n.Load()) != size {
		t.Errorf("progress saw %d bytes, StoredSize %d", n.n.Load(), size)
	}
}

type countWriter struct{ n atomic.Int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n.Add(int64(len(p))); return len(p), nil }

func TestIsTree(t *testing.T) {
	dir := t.TempDir()
	layout := testutil.WriteOCILayout(t, layeredImage(t))
	file := filepath.Join(dir, "f.tar")
	must(t, os.WriteFile(file, []byte("x"), 0o644))
	for spec, want := range map[string]bool{dir: true, layout: false, file: false, filepath.Join(dir, "missing"): false} {
		if got := image.IsTree(spec); got != want {
			t.Errorf("IsTree(%s) = %v, want %v", spec, got, want)
		}
	}
}
