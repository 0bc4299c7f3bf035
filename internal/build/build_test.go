package build

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

func TestParse(t *testing.T) {
	src := "# syntax comment\nFROM base:1 AS app\n\nENV A=1 \\\n  # inside\n  B=\"two words\"\nCOPY --chown=10:10 src/ /app/\nCMD [\"/app/run\", \"-v\"]\nhealthcheck --interval=5s CMD true\n"
	df, err := Parse(strings.NewReader(src), "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, in := range df.Instructions {
		got = append(got, in.Cmd)
	}
	if strings.Join(got, ",") != "FROM,ENV,COPY,CMD,HEALTHCHECK" {
		t.Fatalf("instructions %v", got)
	}
	env := df.Instructions[1]
	if env.Line != 4 || !strings.Contains(env.Raw, `B="two words"`) {
		t.Errorf("ENV = %+v", env)
	}
	if v, ok := df.Instructions[2].Flag("chown"); !ok || v != "10:10" {
		t.Errorf("chown flag = %q %v", v, ok)
	}
	if cmd := df.Instructions[3]; !cmd.JSON || len(cmd.Args) != 2 {
		t.Errorf("CMD = %+v", cmd)
	}
}

func TestParseErrors(t *testing.T) {
	for src, want := range map[string]string{
		"":                        "no instructions",
		"COPY a b\n":              "first instruction must be FROM",
		"FROM x\nFROBNICATE y\n":  "Dockerfile:2: unknown instruction",
		"FROM x\nCOPY <<EOF /a\n": "heredocs",
		"FROM x\nUSER\n":          "Dockerfile:2: USER needs arguments",
	} {
		_, err := Parse(strings.NewReader(src), "Dockerfile")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want %q", src, err, want)
		}
	}
}

func TestNativeSupported(t *testing.T) {
	df, err := Parse(strings.NewReader("FROM scratch\nCOPY a /a\nRUN make\n"), "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	err = NativeSupported(df)
	if !errors.Is(err, ErrNeedsBuilder) || !strings.Contains(err.Error(), "Dockerfile:3: RUN") {
		t.Fatalf("NativeSupported = %v", err)
	}
	df, _ = Parse(strings.NewReader("FROM scratch\nADD https://example.com/x /x\n"), "Dockerfile")
	if err := NativeSupported(df); !errors.Is(err, ErrNeedsBuilder) {
		t.Fatalf("ADD URL: %v", err)
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func gzTar(t *testing.T, files map[string]string) string {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for n, c := range files {
		tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(c)), Typeflag: tar.TypeReg})
		tw.Write([]byte(c))
	}
	tw.Close()
	zw.Close()
	return buf.String()
}

// files lists the regular files of an image's layers as path=content.
func files(t *testing.T, img v1.Image) map[string]string {
	t.Helper()
	out := map[string]string{}
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			out[h.Name] = string(b)
		}
	}
}

func TestBuildNative(t *testing.T) {
	ctxDir := t.TempDir()
	writeFiles(t, ctxDir, map[string]string{
		"app/index.js":                    "console.log('hi')\n",
		"app/secret.env":                  "X=1\n",
		"app/node_modules/x/package.json": "{}",
		".dockerignore":                   "**/*.env\napp/node_modules\n",
		"bundle.tar.gz":                   gzTar(t, map[string]string{"lib/a.txt": "A"}),
		"Dockerfile":                      "ARG VER=1.0\nFROM scratch\nWORKDIR /srv\nENV APP_VERSION=${VER} PORT=8080\nCOPY --chown=1000:1000 app/ ./app/\nADD bundle.tar.gz /opt/\nUSER 1000\nEXPOSE $PORT\nHEALTHCHECK --interval=30s CMD [\"/srv/app/check\"]\nCMD node app/index.js\n",
	})
	f, _ := os.Open(filepath.Join(ctxDir, "Dockerfile"))
	df, err := Parse(f, "Dockerfile")
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	img, err := BuildNative(context.Background(), df, NativeOptions{Context: ctxDir, BuildArgs: map[string]string{"VER": "2.0"}})
	if err != nil {
		t.Fatal(err)
	}
	got := files(t, img)
	var names []string
	for n := range got {
		names = append(names, n)
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "opt/lib/a.txt,srv/app/index.js" {
		t.Fatalf("files %v", names)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if c.User != "1000" || c.WorkingDir != "/srv" || strings.Join(c.Cmd, " ") != "/bin/sh -c node app/index.js" {
		t.Errorf("config %+v", c)
	}
	if strings.Join(c.Env, ",") != "APP_VERSION=2.0,PORT=8080" {
		t.Errorf("env %v", c.Env)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("ports %v", c.ExposedPorts)
	}
	if c.Healthcheck == nil || c.Healthcheck.Test[0] != "CMD" || c.Healthcheck.Interval.String() != "30s" {
		t.Errorf("healthcheck %+v", c.Healthcheck)
	}
	var hist []string
	for _, h := range cf.History {
		hist = append(hist, h.CreatedBy)
	}
	if !strings.Contains(strings.Join(hist, "\n"), "ADD bundle.tar.gz /opt/") {
		t.Errorf("history %q", hist)
	}
	layers, _ := img.Layers()
	if len(layers) != 2 {
		t.Errorf("%d layers, want 2", len(layers))
	}
	// Same input, same digest.
	img2, _ := BuildNative(context.Background(), df, NativeOptions{Context: ctxDir, BuildArgs: map[string]string{"VER": "2.0"}})
	d1, _ := img.Digest()
	d2, _ := img2.Digest()
	if d1 != d2 {
		t.Errorf("digests differ: %s %s", d1, d2)
	}
}

func TestBuildNativeErrors(t *testing.T) {
	ctxDir := t.TempDir()
	writeFiles(t, ctxDir, map[string]string{"a": "x"})
	for src, want := range map[string]string{
		"FROM scratch\nCOPY ../etc/passwd /x\n": "leaves the build context",
		"FROM scratch\nCOPY missing /x\n":       "Dockerfile:2: COPY: source \"missing\": no such file",
		"FROM scratch\nCOPY --chown=app a /a\n": "numeric UID",
		"FROM base:1\nCOPY a /a\n":              "no way to fetch base images",
	} {
		df, err := Parse(strings.NewReader(src), "Dockerfile")
		if err != nil {
			t.Fatal(err)
		}
		_, err = BuildNative(context.Background(), df, NativeOptions{Context: ctxDir})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", src, err, want)
		}
	}
}

func TestBuildAutoNoBuilder(t *testing.T) {
	ctxDir := t.TempDir()
	writeFiles(t, ctxDir, map[string]string{"Dockerfile": "FROM scratch\nRUN true\n"})
	_, err := Build(context.Background(), Options{Context: ctxDir, Out: t.TempDir(), LookPath: func(string) (string, error) { return "", errors.New("no") }})
	if err == nil || !strings.Contains(err.Error(), "apt-get install -y buildah") || !strings.Contains(err.Error(), "Dockerfile:2: RUN") {
		t.Fatalf("err = %v", err)
	}
}

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "1", "E": ""}
	look := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	for in, want := range map[string]string{
		"$A/x": "1/x", "${A}b": "1b", "${E:-d}": "d", "${A:+y}": "y", "${Z:+y}": "", `\$A`: "$A", "$": "$", "${A": "${A",
	} {
		if got := Expand(in, look); got != want {
			t.Errorf("Expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("FROM a\nCOPY x y\n")
	f.Add("FROM a AS b\nENV a=b \\\n c=d\nCMD [\"x\"]\nHEALTHCHECK CMD [\"a\"")
	f.Add("FROM scratch\nLABEL \"a b\"=c\nADD --chmod=0755 x /\n")
	f.Fuzz(func(t *testing.T, src string) {
		df, err := Parse(strings.NewReader(src), "Dockerfile")
		if err != nil {
			return
		}
		if len(df.Instructions) == 0 {
			t.Fatal("no instructions and no error")
		}
		// Config-only instructions must never panic the native builder.
		_ = NativeSupported(df)
		dir := t.TempDir()
		_, _ = BuildNative(context.Background(), df, NativeOptions{Context: dir})
	})
}
