package cli

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/bulwark-sec/bulwark/internal/testutil"
	"github.com/bulwark-sec/bulwark/internal/testutil/fixtures"
)

// TestPathTraversalLayer: an image whose layer holds entries that leave
// the root (../../etc/evil, an absolute path, links pointing outside) is
// reported, not refused: every command writes its report with a CRITICAL
// finding per entry naming the layer and the entry, reads the rest of the
// layer (log4j-core beside the hostile entries is still found), and fails.
func TestPathTraversalLayer(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("DOCKER_CONTENT_TRUST", "1")
	db := scanDB(t)
	hostile := testutil.Layer(t,
		testutil.File{Path: "app/lib/log4j-core-2.14.1.jar", Content: log4jJar(t, "2.14.1")},
		testutil.File{Path: "../../etc/evil", Content: "x"},
		testutil.File{Path: "/etc/cron.d/evil", Content: "x"},
		testutil.File{Path: "app/out", Type: tar.TypeSymlink, Linkname: "../../../etc/shadow"},
		testutil.File{Path: "app/hard", Type: tar.TypeLink, Linkname: "../../etc/shadow"},
	)
	img := testutil.WriteDockerArchive(t, testutil.Image(t, fixtures.CleanConfig(),
		append(fixtures.CleanSteps(t), testutil.Step{CreatedBy: "COPY . /app", Layer: hostile})...))
	entries := []string{"../../etc/evil", "/etc/cron.d/evil", "app/out", "app/hard"}

	for _, args := range [][]string{
		{"lint", "--input", img, "-f", "json"},
		{"scan", "--input", img, "--db", db, "--offline", "-f", "json"},
		{"secrets", "--input", img, "-f", "json"},
	} {
		t.Run(args[0], func(t *testing.T) {
			code, stdout, stderr := runCLI(t, args...)
			if code != 1 {
				t.Fatalf("exit %d, want 1 (the gate fails on a hostile image)\n%s", code, stderr)
			}
			r := scanJSON(t, stdout)
			got := map[string]bool{}
			for _, f := range r.Findings {
				if f.ID != "BW-IMG-0001" {
					continue
				}
				if f.Severity.String() != "CRITICAL" || f.Location.Layer == nil || f.Location.Layer.Index != 2 || !strings.Contains(f.Message, "layer 2") {
					t.Errorf("finding %+v: want CRITICAL, naming layer 2", f)
				}
				got[f.Location.Path] = true
			}
			for _, e := range entries {
				if !got[e] {
					t.Errorf("no finding names entry %q: %v", e, got)
				}
			}
			if args[0] == "scan" && findID(r, "GHSA-jfh8-c2jp-5v3q") == nil {
				t.Errorf("the rest of the layer was not read: log4j-core not found")
			}
			if !strings.Contains(stderr, "BW-IMG-0001") {
				t.Errorf("stderr does not say why the gate failed: %s", stderr)
			}
		})
	}

	code, stdout, stderr := runCLI(t, "sbom", "--input", img, "-f", "json", "--no-cache")
	if code != 1 {
		t.Fatalf("sbom: exit %d, want 1\n%s", code, stderr)
	}
	var s struct {
		Packages []struct{ Name string }
		Escapes  []struct{ Location struct{ Path string } }
	}
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("sbom wrote no report: %v\n%s", err, stdout)
	}
	found := false
	for _, p := range s.Packages {
		found = found || strings.Contains(p.Name, "log4j-core")
	}
	if !found || len(s.Escapes) != len(entries) {
		t.Errorf("sbom: log4j-core listed %v, escapes %d (want %d)", found, len(s.Escapes), len(entries))
	}
	for _, e := range entries {
		if !strings.Contains(stderr, e) {
			t.Errorf("sbom stderr does not name %q: %s", e, stderr)
		}
	}
}

// TestHugeHistory: a config with 100,000 history entries (empty layers,
// as a generated Dockerfile of ENV lines makes) is read, not refused, and
// the work stays bounded: the lint checks run over every entry once.
func TestHugeHistory(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("DOCKER_CONTENT_TRUST", "1")
	img := fixtures.CleanImage(t)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	layers := cf.History
	cf.History = nil
	for i := range 100_000 {
		cf.History = append(cf.History, v1.History{CreatedBy: fmt.Sprintf("/bin/sh -c #(nop)  ENV VAR_%d=value-%d", i, i), EmptyLayer: true})
	}
	cf.History = append(cf.History, layers...)
	cf.History = append(cf.History, v1.History{CreatedBy: "ADD app.tar /app", EmptyLayer: true})
	huge, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	archive := testutil.WriteDockerArchive(t, huge)
	code, stdout, stderr := runCLI(t, "lint", "--input", archive, "-f", "json", "--exit-code", "0")
	if code != 0 {
		t.Fatalf("lint: exit %d: %s", code, stderr)
	}
	r := scanJSON(t, stdout)
	if f := findID(r, "CIS-DI-0009"); f == nil || f.Location.Field != fmt.Sprintf("history[%d]", len(cf.History)-1) {
		t.Errorf("the last history entry (ADD) was not checked: %+v", f)
	}
	for _, cmd := range [][]string{{"sbom", "--input", archive, "--no-cache"}, {"secrets", "--input", archive}} {
		if code, _, stderr := runCLI(t, cmd...); code != 0 {
			t.Errorf("%s: exit %d: %s", cmd[0], code, stderr)
		}
	}
}

// TestDBFIFO: a FIFO (or a directory) given as the database, or as a
// disk image, is refused at once, never waited on, and never replaced by
// an update.
func TestDBFIFO(t *testing.T) {
	t.Chdir(t.TempDir())
	fifo := filepath.Join(t.TempDir(), "db.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	img := archiveWith(t)
	for _, args := range [][]string{
		{"scan", "--input", img, "--db", fifo, "--offline"},
		{"scan", "--input", img, "--db", fifo, "--db-repository", "127.0.0.1:1/none"},
		{"scan", "--input", img, "--db", t.TempDir(), "--offline"},
		{"db", "info", "--db", fifo},
		{"db", "import", fifo, "--db", filepath.Join(t.TempDir(), "db.bwdb")},
		{"sbom", "vm:" + fifo}, // a disk image: the same rule
	} {
		code, _, stderr := runCLI(t, args...)
		if code != 2 || !strings.Contains(stderr, "not a regular file") {
			t.Errorf("%v: exit %d, want 2 saying it is not a regular file: %s", args, code, stderr)
		}
	}
	if st, err := os.Lstat(fifo); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the FIFO was replaced: %v %v", st, err)
	}
}
