package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/inventory/invtest"
)

func TestSBOMCommand(t *testing.T) {
	archive := invtest.Archive(t, invtest.Layer(t,
		invtest.File{Path: "etc/os-release", Content: "ID=alpine\nVERSION_ID=3.19.1\n"},
		invtest.File{Path: "lib/apk/db/installed", Content: "P:musl\nV:1.2.4-r2\nA:x86_64\no:musl\nL:MIT\n\n"},
	))
	cache := t.TempDir()
	code, out, errOut := runCLI(t, "sbom", "--cache-dir", cache, archive)
	if code != 0 || !strings.Contains(out, "musl") || !strings.Contains(out, "(alpine 3.19.1)") {
		t.Fatalf("table: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, f := range []string{"json", "cyclonedx", "spdx-json"} {
		dst := filepath.Join(t.TempDir(), "sbom."+f)
		code, _, errOut := runCLI(t, "sbom", "--cache-dir", cache, "-f", f, "-o", dst, archive)
		b, _ := os.ReadFile(dst)
		if code != 0 || !json.Valid(b) || !strings.Contains(string(b), "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.19.1") {
			t.Errorf("%s: exit %d, %s\n%s", f, code, errOut, b)
		}
	}
	if code, _, errOut := runCLI(t, "sbom", "-f", "xml", archive); code != 2 || !strings.Contains(errOut, "cyclonedx") {
		t.Errorf("unknown format: exit %d, %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "sbom", "--no-cache", filepath.Join(t.TempDir(), "missing.tar")); code != 2 || errOut == "" {
		t.Errorf("missing image: exit %d, %s", code, errOut)
	}
	if code, out, _ := runCLI(t, "cache", "clean", "--cache-dir", cache); code != 0 || !strings.Contains(out, cache) {
		t.Errorf("cache clean: exit %d, %s", code, out)
	}
	if left, _ := filepath.Glob(filepath.Join(cache, "*.json")); len(left) != 0 {
		t.Errorf("cache clean left %v", left)
	}

	// A plain directory is a source tree.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Cargo.lock"), []byte("[[package]]\nname = \"serde\"\nversion = \"1.0.197\"\nsource = \"registry+x\"\n"), 0o644)
	code, out, errOut = runCLI(t, "sbom", "-f", "json", dir)
	if code != 0 || !strings.Contains(out, `"pkg:cargo/serde@1.0.197"`) || !strings.Contains(out, `"kind": "dir"`) {
		t.Errorf("tree: exit %d\n%s\n%s", code, out, errOut)
	}
}
