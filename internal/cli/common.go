package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/bulwark-sec/bulwark/internal/buildinfo"
	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/progress"
	"github.com/bulwark-sec/bulwark/internal/registry"
)

// registryFlags are the registry flags of every command that talks to a
// registry: TLS and credentials beyond the docker config. They become one
// registry.Settings.
type registryFlags struct {
	insecure bool
	caCert   string
	username string
	password string
}

func (f *registryFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&f.insecure, "insecure", false, "allow plain HTTP and unverified TLS to the registry")
	fl.StringVar(&f.caCert, "registry-cacert", "", "PEM file of a CA to trust for registry TLS, in addition to the system's")
	fl.StringVar(&f.username, "registry-username", "", "registry user name (or set BULWARK_REGISTRY_USERNAME; default: the docker config and credential helpers)")
	fl.StringVar(&f.password, "registry-password", "", "registry password or token (or set BULWARK_REGISTRY_PASSWORD)")
}

// settings turns the flags (and the BULWARK_REGISTRY_USERNAME and
// BULWARK_REGISTRY_PASSWORD variables) into registry settings.
func (f *registryFlags) settings() (registry.Settings, error) {
	s := registry.Settings{Insecure: f.insecure, CACert: f.caCert, Username: f.username, Password: f.password}
	if s.Username == "" {
		s.Username = os.Getenv("BULWARK_REGISTRY_USERNAME")
	}
	if s.Username == "" && s.Password != "" {
		return s, usageError{errors.New("--registry-password needs --registry-username (or BULWARK_REGISTRY_USERNAME)")}
	}
	if s.Username != "" && s.Password == "" {
		s.Password = os.Getenv("BULWARK_REGISTRY_PASSWORD")
	}
	return s, nil
}

// client builds the registry client the flags describe.
func (f *registryFlags) client() (*registry.Client, error) {
	s, err := f.settings()
	if err != nil {
		return nil, err
	}
	return s.Client()
}

// imageFlags are the flags every command that reads an image takes.
type imageFlags struct {
	// trees opens a directory that is not an OCI layout as a source tree
	// (image.KindDir) rather than refusing it.
	trees    bool
	reg      registryFlags
	client   *registry.Client // built once, shared by every open of a run
	input    string
	platform string
}

func (f *imageFlags) register(cmd *cobra.Command) {
	f.reg.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.input, "input", "", "read the image from an archive (docker save or OCI archive) instead of a registry")
	fl.StringVar(&f.platform, "platform", "", "platform of a multi-platform image, as os/arch (default linux/"+runtime.GOARCH+")")
}

// open opens the image named by the single argument or by --input.
func (f *imageFlags) open(ctx context.Context, args []string) (*image.Image, error) {
	spec := ""
	if len(args) > 0 {
		spec = args[0]
	}
	if spec == "" && f.input == "" {
		return nil, usageError{fmt.Errorf("no image given: name one (registry reference, rootfs:DIR, oci:DIR, an archive file) or use --input FILE")}
	}
	opts, err := f.options()
	if err != nil {
		return nil, err
	}
	opts.Input = f.input
	opts.Trees = f.trees
	return image.Open(ctx, spec, opts)
}

// options are the image options of the flags: the registry client,
// with the --platform, built once so that the image and its base share
// one transport.
func (f *imageFlags) options() (image.Options, error) {
	if f.client != nil {
		return image.Options{Registry: f.client}, nil
	}
	s, err := f.reg.settings()
	if err != nil {
		return image.Options{}, err
	}
	if f.platform != "" {
		p, err := v1.ParsePlatform(f.platform)
		if err != nil {
			return image.Options{}, usageError{fmt.Errorf("--platform %q: %w", f.platform, err)}
		}
		s.Platform = p
	}
	c, err := s.Client()
	if err != nil {
		return image.Options{}, err
	}
	f.client = c
	return image.Options{Registry: c}, nil
}

// readProgress returns a progress bar for reading the image's layers, drawn
// only when stderr is a terminal, the size is known and -q was not given.
func readProgress(cmd *cobra.Command, img *image.Image) progress.Bar {
	size := img.StoredSize()
	if size <= 0 || quiet(cmd) {
		return progress.Bytes(nil, 0, "")
	}
	return progress.Bytes(progress.Terminal(), size, "reading "+img.Name)
}

// newReport starts a report for a target.
func newReport(t finding.Target, gates ...finding.Gate) *finding.Report {
	return &finding.Report{
		Tool:      "bulwark",
		Version:   buildinfo.Version,
		CreatedAt: time.Now().UTC(),
		Target:    t,
		Gates:     gates,
	}
}
