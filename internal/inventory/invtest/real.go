package invtest

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/bulwark-sec/bulwark/internal/testutil"
)

func tail(b []byte) string {
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// GoInstall builds Go programs from pinned module versions
// ("golang.org/x/tools/cmd/stringer@v0.36.0") through the Go module proxy
// into dir.
func GoInstall(ctx context.Context, dir string, pkgs ...string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, p := range pkgs {
		cmd := exec.CommandContext(ctx, "go", "install", p)
		cmd.Env = append(os.Environ(), "GOBIN="+dir, "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false", "GOWORK=off")
		cmd.Dir = os.TempDir()
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go install %s: %v\n%s", p, err, tail(out))
		}
	}
	return nil
}

// NPMInstall installs packages from the npm registry into dir/node_modules.
func NPMInstall(ctx context.Context, dir string, pkgs ...string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	args := append([]string{"install", "--no-audit", "--no-fund", "--ignore-scripts", "--prefix", dir}, pkgs...)
	cmd := exec.CommandContext(ctx, "npm", args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm %s: %v\n%s", strings.Join(args, " "), err, tail(out))
	}
	return nil
}

// LayerFromDir makes a layer of the files under dir, placed under prefix
// ("" for the root), streamed from disk whenever the layer is read.
func LayerFromDir(dir, prefix string) (v1.Layer, error) {
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(writeTar(pw, dir, prefix)) }()
		return pr, nil
	}, tarball.WithCompressionLevel(gzip.BestSpeed))
}

func writeTar(w io.Writer, dir, prefix string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		name := filepath.ToSlash(filepath.Join(prefix, rel))
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		if !info.Mode().IsRegular() && !info.IsDir() && info.Mode()&fs.ModeSymlink == 0 {
			return nil // devices, sockets, pipes
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = name
		if info.IsDir() {
			hdr.Name += "/"
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
		}
		hdr.Uname, hdr.Gname = "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// WriteArchive writes the layers as a docker archive (docker save format).
func WriteArchive(path, tag string, layers ...v1.Layer) error {
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		return err
	}
	ref, err := name.NewTag(tag)
	if err != nil {
		return err
	}
	return tarball.WriteToFile(path, ref, img)
}

// The content of the reference images the integration test and the sbom
// benchmark scan: Debian with extra packages, Go programs built from pinned
// module versions, and an npm tree.
var (
	DebianExtra = []string{"python3-yaml", "ca-certificates", "curl", "libcommons-lang3-java"}
	GoPrograms  = []string{"golang.org/x/tools/cmd/stringer@v0.36.0", "github.com/google/go-containerregistry/cmd/crane@v0.20.2"}
	NPMPackages = []string{"express@4.19.2", "lodash@4.17.21"}
)

// ReferenceImages builds (or reuses) the reference content and writes two
// docker archives into outDir: base.tar (the Debian root filesystem) and
// app.tar (the same base layer, then a layer of Go programs in
// usr/local/bin, a layer with the npm tree in app/ and a layer of extras
// that no package manager owns: copies of Debian's jars in app/lib and of
// Debian's Python distributions' metadata in /usr/local/lib/python3.11/
// site-packages). It returns their paths and the directories the layers
// came from.
func ReferenceImages(ctx context.Context, outDir string) (base, app string, dirs map[string]string, err error) {
	cache, err := testutil.CacheDir()
	if err != nil {
		return "", "", nil, err
	}
	rootfs, err := testutil.BuildDebianRootfs(ctx, cache, DebianExtra...)
	if err != nil {
		return "", "", nil, err
	}
	gobin := filepath.Join(cache, "gobin")
	if err := GoInstall(ctx, gobin, GoPrograms...); err != nil {
		return "", "", nil, err
	}
	npmDir := filepath.Join(cache, "npm")
	if _, err := os.Stat(filepath.Join(npmDir, "node_modules", ".package-lock.json")); err != nil {
		if err := NPMInstall(ctx, npmDir, NPMPackages...); err != nil {
			return "", "", nil, err
		}
	}
	extras := filepath.Join(cache, "extras")
	if err := os.RemoveAll(extras); err != nil {
		return "", "", nil, err
	}
	if err := copyFiles(filepath.Join(rootfs, "usr/share/java"), filepath.Join(extras, "app/lib"), ".jar"); err != nil {
		return "", "", nil, err
	}
	site := filepath.Join(rootfs, "usr/lib/python3/dist-packages")
	infos, err := filepath.Glob(filepath.Join(site, "*.dist-info"))
	if err != nil {
		return "", "", nil, err
	}
	for _, d := range infos {
		if err := copyFiles(d, filepath.Join(extras, "usr/local/lib/python3.11/site-packages", filepath.Base(d)), ""); err != nil {
			return "", "", nil, err
		}
	}
	dirs = map[string]string{"rootfs": rootfs, "gobin": gobin, "npm": npmDir, "extras": extras}
	l0, err := LayerFromDir(rootfs, "")
	if err != nil {
		return "", "", nil, err
	}
	l1, err := LayerFromDir(gobin, "usr/local/bin")
	if err != nil {
		return "", "", nil, err
	}
	l2, err := LayerFromDir(npmDir, "app")
	if err != nil {
		return "", "", nil, err
	}
	l3, err := LayerFromDir(extras, "")
	if err != nil {
		return "", "", nil, err
	}
	base, app = filepath.Join(outDir, "base.tar"), filepath.Join(outDir, "app.tar")
	if err := WriteArchive(base, "bulwark.test/debian:base", l0); err != nil {
		return "", "", nil, err
	}
	if err := WriteArchive(app, "bulwark.test/debian:app", l0, l1, l2, l3); err != nil {
		return "", "", nil, err
	}
	return base, app, dirs, nil
}

// copyFiles copies the regular files of src whose names end in suffix
// (not symlinks, not subdirectories) into dst.
func copyFiles(src, dst, suffix string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), suffix) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
