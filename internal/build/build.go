package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/registry"
)

// Builder names accepted by Options.Builder.
const (
	BuilderAuto   = "auto"
	BuilderNative = "native"
)

// Options configures Build.
type Options struct {
	// Dockerfile is the Dockerfile path (default: Dockerfile in Context).
	Dockerfile string
	// Context is the build context directory.
	Context string
	// BuildArgs are passed as --build-arg / override ARG defaults.
	BuildArgs map[string]string
	// Builder is auto, native, or a driver name (buildah, podman, docker,
	// buildctl, kaniko). auto builds natively when it can and otherwise
	// uses the first driver found on PATH.
	Builder string
	// Out is the OCI layout directory to write the image into.
	Out string
	// Tag is the name the image gets in the builder and in the layout.
	Tag string
	// WorkDir holds the builder's temporary storage (buildah's store).
	WorkDir string
	// Registry configures how FROM images are fetched (native builder)
	// and whether drivers may use plain HTTP (Insecure).
	Registry *registry.Client
	// Log receives the builder's output; nil discards it.
	Log io.Writer
	// LookPath finds executables (default exec.LookPath); tests replace it.
	LookPath func(string) (string, error)
}

// Result says how an image was built and where it is.
type Result struct {
	// Builder is "native" or the driver's name.
	Builder string
	// Layout is the OCI layout directory holding the image.
	Layout string
	// Image is the built image.
	Image v1.Image
	// Digest is the image's manifest digest in the layout.
	Digest string
}

// Build builds the Dockerfile into an OCI layout directory.
func Build(ctx context.Context, o Options) (*Result, error) {
	if o.Context == "" {
		o.Context = "."
	}
	if o.Dockerfile == "" {
		o.Dockerfile = filepath.Join(o.Context, "Dockerfile")
	}
	// The layout carries only a name the caller gave; the builder's own
	// name stays in the builder, so it never reaches a lint finding.
	layoutTag := o.Tag
	if o.Tag == "" {
		o.Tag = "localhost/bulwark-build:latest"
	}
	if o.LookPath == nil {
		o.LookPath = exec.LookPath
	}
	f, err := os.Open(o.Dockerfile)
	if err != nil {
		return nil, fmt.Errorf("build: %w (set build.dockerfile to the Dockerfile's path)", err)
	}
	df, err := Parse(f, o.Dockerfile)
	f.Close()
	if err != nil {
		return nil, err
	}
	builder := o.Builder
	if builder == "" {
		builder = BuilderAuto
	}
	nativeErr := NativeSupported(df)
	if builder == BuilderAuto {
		if nativeErr == nil {
			builder = BuilderNative
		} else {
			d, err := Detect(o.LookPath)
			if err != nil {
				return nil, fmt.Errorf("%w\n%s", nativeErr, err)
			}
			builder = d.Name
		}
	}
	if builder == BuilderNative {
		if nativeErr != nil {
			return nil, fmt.Errorf("%w; set build.builder to auto or to an installed builder (%s)", nativeErr, strings.Join(DriverNames(), ", "))
		}
		base, closeBases := openBase(o.Registry)
		defer closeBases()
		img, err := BuildNative(ctx, df, NativeOptions{Context: o.Context, BuildArgs: o.BuildArgs, Base: base})
		if err != nil {
			return nil, err
		}
		return writeLayout(img, o.Out, layoutTag, BuilderNative)
	}
	d, ok := driverByName(builder)
	if !ok {
		return nil, fmt.Errorf("build.builder %q: unknown; use auto, native or one of %s", builder, strings.Join(DriverNames(), ", "))
	}
	if _, err := o.LookPath(d.Binary); err != nil {
		return nil, fmt.Errorf("build.builder %q: %s not found on PATH; %s", builder, d.Binary, d.Install)
	}
	return runDriver(ctx, d, o, layoutTag)
}

// openBase resolves FROM references for the native builder with
// image.Open in its refs-only mode: oci:DIR[:TAG|@DIGEST] layouts,
// docker-archive: and oci-archive: files, and otherwise registry
// references (with the registry settings), never a bare local path. close
// releases what was opened.
func openBase(reg *registry.Client) (base BaseFunc, close func()) {
	var opened []*image.Image
	base = func(ctx context.Context, ref string) (v1.Image, error) {
		img, err := image.Open(ctx, ref, image.Options{Registry: reg, RefsOnly: true})
		if err != nil {
			return nil, err
		}
		opened = append(opened, img)
		return img.V1()
	}
	return base, func() {
		for _, img := range opened {
			img.Close()
		}
	}
}

func writeLayout(img v1.Image, out, tag, builder string) (*Result, error) {
	if out == "" {
		return nil, errors.New("build: no output directory")
	}
	if err := os.RemoveAll(out); err != nil {
		return nil, err
	}
	p, err := layout.Write(out, empty.Index)
	if err != nil {
		return nil, fmt.Errorf("writing the image to %s: %w", out, err)
	}
	var opts []layout.Option
	if tag != "" {
		opts = append(opts, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": tag}))
	}
	if err := p.AppendImage(img, opts...); err != nil {
		return nil, fmt.Errorf("writing the image to %s: %w", out, err)
	}
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	// The result reads the layout, not the base images or the builder's
	// files, which are released when Build returns.
	if img, err = p.Image(d); err != nil {
		return nil, err
	}
	return &Result{Builder: builder, Layout: out, Image: img, Digest: d.String()}, nil
}

// Driver runs one external image builder.
type Driver struct {
	// Name is the builder's name in the pipeline file.
	Name string
	// Binary is the executable looked up on PATH.
	Binary string
	// Install says how to install it.
	Install string
	// commands returns the command lines that build the image and save it
	// as a docker archive at archive.
	commands func(o Options, bin, archive, store string) [][]string
}

// Drivers lists the supported builders, in the order auto tries them.
var Drivers = []Driver{
	{Name: "buildah", Binary: "buildah", Install: "install it with: apt-get install -y buildah (Debian/Ubuntu), dnf install -y buildah (Fedora/RHEL)", commands: buildahCommands},
	{Name: "podman", Binary: "podman", Install: "install it with: apt-get install -y podman, dnf install -y podman, or brew install podman", commands: podmanCommands},
	{Name: "docker", Binary: "docker", Install: "install Docker with the buildx plugin (https://docs.docker.com/build/)", commands: dockerCommands},
	{Name: "buildctl", Binary: "buildctl", Install: "install BuildKit (https://github.com/moby/buildkit/releases) and run buildkitd", commands: buildctlCommands},
	{Name: "kaniko", Binary: "executor", Install: "run in the gcr.io/kaniko-project/executor image", commands: kanikoCommands},
}

// DriverNames lists the driver names.
func DriverNames() []string {
	var out []string
	for _, d := range Drivers {
		out = append(out, d.Name)
	}
	return out
}

func driverByName(n string) (Driver, bool) {
	for _, d := range Drivers {
		if d.Name == n {
			return d, true
		}
	}
	return Driver{}, false
}

// Detect returns the first builder found on PATH, or an error that says how
// to install one.
func Detect(lookPath func(string) (string, error)) (Driver, error) {
	for _, d := range Drivers {
		if _, err := lookPath(d.Binary); err == nil {
			return d, nil
		}
	}
	return Driver{}, fmt.Errorf("no image builder found on PATH (tried %s). Install one — apt-get install -y buildah (Debian/Ubuntu), dnf install -y buildah (Fedora/RHEL), brew install podman (macOS) — or build the image elsewhere and give it to bulwark with build.image or --input", strings.Join(DriverNames(), ", "))
}

func buildArgs(o Options) []string {
	keys := make([]string, 0, len(o.BuildArgs))
	for k := range o.BuildArgs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		out = append(out, "--build-arg", k+"="+o.BuildArgs[k])
	}
	return out
}

func buildahCommands(o Options, bin, archive, store string) [][]string {
	global := []string{bin, "--root", filepath.Join(store, "root"), "--runroot", filepath.Join(store, "run"), "--storage-driver", "vfs"}
	bud := append(append([]string{}, global...), "bud", "--isolation", "chroot", "--format", "docker", "-f", o.Dockerfile, "-t", o.Tag)
	if o.Registry.Insecure() {
		bud = append(bud, "--tls-verify=false")
	}
	bud = append(append(bud, buildArgs(o)...), o.Context)
	push := append(append([]string{}, global...), "push", "-q", o.Tag, "docker-archive:"+archive+":"+o.Tag)
	return [][]string{bud, push}
}

func podmanCommands(o Options, bin, archive, _ string) [][]string {
	b := []string{bin, "build", "--format", "docker", "-f", o.Dockerfile, "-t", o.Tag}
	if o.Registry.Insecure() {
		b = append(b, "--tls-verify=false")
	}
	b = append(append(b, buildArgs(o)...), o.Context)
	return [][]string{b, {bin, "save", "--format", "docker-archive", "-o", archive, o.Tag}}
}

func dockerCommands(o Options, bin, archive, _ string) [][]string {
	b := []string{bin, "buildx", "build", "-f", o.Dockerfile, "-t", o.Tag, "--output", "type=docker,dest=" + archive}
	return [][]string{append(append(b, buildArgs(o)...), o.Context)}
}

func buildctlCommands(o Options, bin, archive, _ string) [][]string {
	b := []string{bin, "build", "--frontend", "dockerfile.v0", "--local", "context=" + o.Context,
		"--local", "dockerfile=" + filepath.Dir(o.Dockerfile), "--opt", "filename=" + filepath.Base(o.Dockerfile),
		"--output", "type=docker,name=" + o.Tag + ",dest=" + archive}
	for _, a := range buildArgs(o) {
		if a != "--build-arg" {
			b = append(b, "--opt", "build-arg:"+a)
		}
	}
	return [][]string{b}
}

func kanikoCommands(o Options, bin, archive, _ string) [][]string {
	b := []string{bin, "--context", "dir://" + o.Context, "--dockerfile", o.Dockerfile, "--no-push", "--destination", o.Tag, "--tar-path", archive}
	if o.Registry.Insecure() {
		b = append(b, "--insecure-pull")
	}
	return [][]string{append(b, buildArgs(o)...)}
}

func runDriver(ctx context.Context, d Driver, o Options, layoutTag string) (*Result, error) {
	bin, _ := o.LookPath(d.Binary)
	work := o.WorkDir
	if work == "" {
		var err error
		if work, err = os.MkdirTemp("", "bulwark-build-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(work)
	}
	archive := filepath.Join(work, "image.tar")
	store := filepath.Join(work, "store")
	log := o.Log
	if log == nil {
		log = io.Discard
	}
	for _, argv := range d.commands(o, bin, archive, store) {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Stdout, cmd.Stderr = log, log
		cmd.Env = append(os.Environ(), "BUILDAH_ISOLATION=chroot", "STORAGE_DRIVER=vfs")
		cmd.WaitDelay = 5 * time.Second
		fmt.Fprintf(log, "+ %s\n", strings.Join(argv, " "))
		if err := cmd.Run(); err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%s: %w", d.Name, ctx.Err())
			}
			return nil, fmt.Errorf("%s failed (%v): %s; its output is above", d.Name, err, strings.Join(argv, " "))
		}
	}
	img, err := tarball.ImageFromPath(archive, nil)
	if err != nil {
		return nil, fmt.Errorf("reading what %s built (%s): %w", d.Name, archive, err)
	}
	// The archive is removed with the work directory: copy the image out.
	return writeLayout(img, o.Out, layoutTag, d.Name)
}
