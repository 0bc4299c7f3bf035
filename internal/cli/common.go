package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/bulwark-sec/bulwark/internal/buildinfo"
	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/progress"
)

// registryFlags are the registry flags of every command that talks to a
// registry: TLS and credentials beyond the docker config.
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
	fl.StringVar(&f.username, "registry-username", "", "registry user name (default: the docker config and credential helpers)")
	fl.StringVar(&f.password, "registry-password", "", "registry password or token (or set BULWARK_REGISTRY_PASSWORD)")
}

// options turns the flags into the shared image options.
func (f *registryFlags) options() (image.Options, error) {
	o := image.Options{Insecure: f.insecure, CACert: f.caCert}
	pw := f.password
	if pw == "" {
		pw = os.Getenv("BULWARK_REGISTRY_PASSWORD")
	}
	if f.username != "" {
		o.Keychain = staticKeychain{authn.FromConfig(authn.AuthConfig{Username: f.username, Password: pw})}
	} else if f.password != "" {
		return o, usageError{errors.New("--registry-password needs --registry-username")}
	}
	return o, nil
}

// staticKeychain gives the same credentials for every registry.
type staticKeychain struct{ a authn.Authenticator }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) { return k.a, nil }

// imageFlags are the flags every command that reads an image takes.
type imageFlags struct {
	reg      registryFlags
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
	opts, err := f.reg.options()
	if err != nil {
		return nil, err
	}
	opts.Input = f.input
	if f.platform != "" {
		p, err := v1.ParsePlatform(f.platform)
		if err != nil {
			return nil, usageError{fmt.Errorf("--platform %q: %w", f.platform, err)}
		}
		opts.Platform = p
	}
	return image.Open(ctx, spec, opts)
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
