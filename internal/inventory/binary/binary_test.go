package binary

import (
	"bytes"
	"compress/zlib"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/inventory"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

var (
	buildOnce sync.Once
	built     map[string][]byte
	buildErr  error
)

// testBinaries builds a small program that uses a pinned module version
// (github.com/spf13/pflag v1.0.10, which this module requires too, so the
// module cache or the Go module proxy has it), normally and stripped.
func testBinaries(t *testing.T) map[string][]byte {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not installed")
	}
	buildOnce.Do(func() {
		built, buildErr = build(gobin)
	})
	if buildErr != nil {
		t.Fatalf("go build: %v", buildErr)
	}
	return built
}

func build(gobin string) (map[string][]byte, error) {
	dir, err := os.MkdirTemp("", "bulwark-binary-test-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	files := map[string]string{
		"go.mod":  "module example.com/hello\n\ngo 1.22\n\nrequire github.com/spf13/pflag v1.0.10\n",
		"go.sum":  "github.com/spf13/pflag v1.0.10 h1:4EBh2KAYBwaONj6b2Ye1GiHfwjqyROoF4RwYO+vPwFk=\ngithub.com/spf13/pflag v1.0.10/go.mod h1:McXfInJRrz4CZXVZOBLb0bTZqETkiAhM9Iw0y3An2Bg=\n",
		"main.go": "package main\n\nimport \"github.com/spf13/pflag\"\n\nvar version = \"dev\"\n\nfunc main() { pflag.Parse(); println(version) }\n",
	}
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
			return nil, err
		}
	}
	out := map[string][]byte{}
	for name, flags := range map[string][]string{"plain": {"-ldflags=-X main.version=v9.9.9"}, "stripped": {"-ldflags=-s -w", "-trimpath"}} {
		exe := filepath.Join(dir, name)
		cmd := exec.Command(gobin, append(append([]string{"build", "-o", exe}, flags...), ".")...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod -buildvcs=false", "GOWORK=off")
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("%v\n%s", err, b)
		}
		b, err := os.ReadFile(exe)
		if err != nil {
			return nil, err
		}
		out[name] = b
	}
	return out, nil
}

func names(pkgs []inventory.Package) map[string]string {
	m := map[string]string{}
	for _, p := range pkgs {
		m[p.Name] = p.Version
	}
	return m
}

func TestGoBinary(t *testing.T) {
	for name, b := range testBinaries(t) {
		whole, err := analyzeWhole(b)
		if err != nil || whole == nil {
			t.Fatalf("%s: whole: %v", name, err)
		}
		stream, err := analyzeStream(bytes.NewReader(b))
		if err != nil || stream == nil {
			t.Fatalf("%s: stream: %v", name, err)
		}
		w, s := names(whole.Packages), names(stream.Packages)
		if len(w) != len(s) {
			t.Errorf("%s: whole read %d modules, streamed %d", name, len(w), len(s))
		}
		for k, v := range w {
			if s[k] != v {
				t.Errorf("%s: %s: whole %q, stream %q", name, k, v, s[k])
			}
		}
		if w["github.com/spf13/pflag"] != "v1.0.10" || !strings.HasPrefix(w["stdlib"], "v1.") || len(w) != 3 {
			t.Errorf("%s: want example.com/hello, pflag v1.0.10 and stdlib: %v", name, w)
		}
		wantMain := "(devel)"
		if name == "plain" {
			wantMain = "v9.9.9" // from -ldflags -X main.version
		}
		if w["example.com/hello"] != wantMain {
			t.Errorf("%s: main module version %q, want %q", name, w["example.com/hello"], wantMain)
		}
		for _, p := range whole.Packages {
			if p.Platform != "linux" {
				t.Errorf("%s: %s platform %q, want the binary's GOOS linux", name, p.Name, p.Platform)
			}
		}
	}
}

// TestLargeBinaryStreamed pads a binary past the in-memory limit, with the
// build info header straddling a read boundary, through Analyze.
func TestLargeBinaryStreamed(t *testing.T) {
	b := testBinaries(t)["plain"]
	i := bytes.Index(b, buildMagic)
	for i >= 0 && i%16 != 0 {
		j := bytes.Index(b[i+1:], buildMagic)
		if j < 0 {
			i = -1
			break
		}
		i += j + 1
	}
	if i < 0 {
		t.Fatal("no aligned build info header")
	}
	pad := (1<<20 - 7) &^ 15 // keep the header 16-aligned, just short of a chunk
	big := make([]byte, 0, len(b)+inMemory+pad)
	big = append(big, b[:i]...)
	big = append(big, make([]byte, inMemory+pad)...)
	big = append(big, b[i:]...)
	res, err := Analyzer{}.Analyze(context.Background(), &inventory.File{Path: "usr/bin/big", Size: int64(len(big)), Mode: 0o755, R: bytes.NewReader(big)})
	if err != nil || res == nil || names(res.Packages)["github.com/spf13/pflag"] != "v1.0.10" {
		t.Fatalf("large binary: %v %+v", err, res)
	}
}

func TestCorruptBuildInfo(t *testing.T) {
	b := bytes.Clone(testBinaries(t)["stripped"])
	for i := 0; ; {
		j := bytes.Index(b[i:], buildMagic)
		if j < 0 {
			break
		}
		i += j
		// Damage the length of the version string.
		for k := i + 32; k < i+42 && k < len(b); k++ {
			b[k] = 0xff
		}
		i++
	}
	res, err := Analyzer{}.Analyze(context.Background(), &inventory.File{Path: "usr/bin/x", Size: int64(len(b)), Mode: 0o755, R: bytes.NewReader(b)})
	if err == nil {
		t.Fatalf("damaged build info read without error: %+v", res)
	}
	if !strings.Contains(err.Error(), "Go build information unreadable") {
		t.Errorf("error = %v", err)
	}
}

func TestNotGo(t *testing.T) {
	res, err := Analyzer{}.Analyze(context.Background(), &inventory.File{Path: "usr/bin/script", Size: 5000, Mode: 0o755,
		R: strings.NewReader("#!/bin/sh\n" + strings.Repeat("echo\n", 1000))})
	if err != nil || res != nil {
		t.Errorf("script: %v %v", res, err)
	}
}

func TestStdlibVersion(t *testing.T) {
	for in, want := range map[string]string{
		"go1.22.3": "v1.22.3", "go1.20": "v1.20.0", "go1.21.0 X:boringcrypto": "v1.21.0",
		"go1.23rc1": "v1.23.0-rc.1", "devel go1.24-abc": "",
	} {
		if got := StdlibVersion(in); got != want {
			t.Errorf("StdlibVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAuditable(t *testing.T) {
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	zw.Write([]byte(`{"packages":[{"name":"app","version":"0.1.0","source":"local","root":true},
		{"name":"serde","version":"1.0.197","source":"crates.io","dependencies":[]},
		{"name":"cc","version":"1.0.90","source":"crates.io","kind":"build"}]}`))
	zw.Close()
	pkgs, err := Auditable(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n := names(pkgs); len(n) != 2 || n["serde"] != "1.0.197" || n["app"] != "0.1.0" {
		t.Errorf("auditable = %v", n)
	}
}

func FuzzParseInline(f *testing.F) {
	f.Add(append(append([]byte{}, buildMagic...), 8, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 6, 'g', 'o', '1', '.', '2', '2', 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseInline(b)                             //nolint:errcheck // must not panic
		analyzeStream(bytes.NewReader(b))          //nolint:errcheck
		analyzeWhole(append(elfMagic[:4:4], b...)) //nolint:errcheck
	})
}

func FuzzAuditable(f *testing.F) {
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	zw.Write([]byte(`{"packages":[{"name":"serde","version":"1.0.0"}]}`))
	zw.Close()
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		Auditable(bytes.NewReader(b)) //nolint:errcheck // must not panic
	})
}

// TestAuditableELF adds a cargo-auditable .dep-v0 section to a copy of a
// non-Go executable with objcopy, as cargo-auditable's linker step does.
func TestAuditableELF(t *testing.T) {
	objcopy := testutil.RequireTool(t, "objcopy")
	src, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true executable to copy")
	}
	dir := t.TempDir()
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	zw.Write([]byte(`{"packages":[{"name":"rustapp","version":"0.3.0","source":"local","root":true},{"name":"regex","version":"1.10.3","source":"crates.io"}]}`))
	zw.Close()
	dep := filepath.Join(dir, "dep")
	os.WriteFile(dep, buf.Bytes(), 0o644)
	exe := filepath.Join(dir, "rustapp")
	if out, err := exec.Command(objcopy, "--add-section", ".dep-v0="+dep, src, exe).CombinedOutput(); err != nil {
		t.Fatalf("objcopy: %v\n%s", err, out)
	}
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Analyzer{}.Analyze(context.Background(), &inventory.File{Path: "usr/bin/rustapp", Size: int64(len(b)), Mode: 0o755, R: bytes.NewReader(b)})
	if err != nil || res == nil {
		t.Fatalf("%v %v", res, err)
	}
	if n := names(res.Packages); len(n) != 2 || n["regex"] != "1.10.3" || res.Packages[0].Ecosystem != inventory.CratesIO {
		t.Errorf("packages = %+v", res.Packages)
	}
	// A damaged section is a warning about this file, not a crash.
	os.WriteFile(dep, []byte("not zlib"), 0o644)
	exec.Command(objcopy, "--update-section", ".dep-v0="+dep, exe).Run()
	b, _ = os.ReadFile(exe)
	if _, err := (Analyzer{}).Analyze(context.Background(), &inventory.File{Path: "usr/bin/rustapp", Size: int64(len(b)), Mode: 0o755, R: bytes.NewReader(b)}); err == nil {
		t.Error("a damaged .dep-v0 section was read without error")
	}
}
