// Package registry holds the one set of registry settings every command
// shares (TLS, credentials, platform) and turns them into a client: one
// HTTP transport and the go-containerregistry options built from it. It
// also says registry and reference errors in words.
package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Settings are the registry settings a command takes from its flags.
type Settings struct {
	// Insecure allows plain HTTP and unverified TLS.
	Insecure bool
	// CACert is a PEM file of certificate authorities to trust for
	// registry TLS in addition to the system's.
	CACert string
	// Username and Password, when Username is set, are sent to every
	// registry instead of what the keychain holds.
	Username, Password string
	// Platform selects the image of a multi-platform index (default:
	// linux and this machine's architecture).
	Platform *v1.Platform
	// Keychain provides credentials when Username is empty (default: the
	// docker config and its credential helpers).
	Keychain authn.Keychain
	// Transport, when set, is used as it is instead of the one built from
	// Insecure and CACert (which cannot then be given): for tests that
	// watch the requests.
	Transport http.RoundTripper
}

// Client is registry access built once from Settings: every call made
// through it shares one HTTP transport, so no call can lose the CA
// certificate or the credentials.
type Client struct {
	insecure  bool
	platform  *v1.Platform
	keychain  authn.Keychain
	transport http.RoundTripper
}

// Client builds the transport and keychain the settings ask for.
func (s Settings) Client() (*Client, error) {
	c := &Client{insecure: s.Insecure, platform: s.Platform, keychain: s.Keychain}
	switch {
	case s.Username != "":
		c.keychain = staticKeychain{authn.FromConfig(authn.AuthConfig{Username: s.Username, Password: s.Password})}
	case s.Password != "":
		return nil, errors.New("a registry password needs a user name (--registry-username)")
	case c.keychain == nil:
		c.keychain = authn.DefaultKeychain
	}
	if s.Transport != nil {
		if s.Insecure || s.CACert != "" {
			return nil, errors.New("registry settings: a transport of its own cannot be combined with --insecure or --registry-cacert")
		}
		c.transport = s.Transport
		return c, nil
	}
	t := remote.DefaultTransport.(*http.Transport).Clone()
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.Insecure {
		cfg.InsecureSkipVerify = true //nolint:gosec // the user asked for --insecure
	}
	if s.CACert != "" {
		pem, err := os.ReadFile(s.CACert)
		if err != nil {
			return nil, fmt.Errorf("registry CA certificate: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("registry CA certificate %s holds no PEM certificate", s.CACert)
		}
		cfg.RootCAs = pool
	}
	t.TLSClientConfig = cfg
	c.transport = t
	return c, nil
}

// Default returns a client with default settings: the docker config's
// credentials, the system's certificate authorities, TLS verified.
func Default() *Client {
	c, _ := Settings{}.Client() // cannot fail without a CA file or credentials
	return c
}

// orDefault lets a nil client stand for the default one.
func (c *Client) orDefault() *Client {
	if c == nil {
		return Default()
	}
	return c
}

// Insecure reports whether plain HTTP and unverified TLS are allowed.
func (c *Client) Insecure() bool { return c != nil && c.insecure }

// Platform is the platform to pick from a multi-platform index (nil:
// linux and this machine's architecture).
func (c *Client) Platform() *v1.Platform {
	if c == nil {
		return nil
	}
	return c.platform
}

// Transport is the client's one HTTP transport.
func (c *Client) Transport() http.RoundTripper { return c.orDefault().transport }

// Remote returns the go-containerregistry options for a call: the
// context, the keychain, the transport and the platform.
func (c *Client) Remote(ctx context.Context) []remote.Option {
	c = c.orDefault()
	ro := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(c.keychain), remote.WithTransport(c.transport)}
	if c.platform != nil {
		ro = append(ro, remote.WithPlatform(*c.platform))
	}
	return ro
}

// NameOptions are the options references are parsed with (name.Insecure
// when plain HTTP is allowed).
func (c *Client) NameOptions() []name.Option {
	if c.Insecure() {
		return []name.Option{name.Insecure}
	}
	return nil
}

// Reference parses an image reference as ParseReference does, with the
// client's name options.
func (c *Client) Reference(s string, opts ...name.Option) (name.Reference, error) {
	return ParseReference(s, append(c.NameOptions(), opts...)...)
}

// Repository parses a repository name (no tag or digest) in words.
func (c *Client) Repository(s string) (name.Repository, error) {
	if err := checkReference(s); err != nil {
		return name.Repository{}, fmt.Errorf("repository %q: %w", s, err)
	}
	r, err := name.NewRepository(s, c.NameOptions()...)
	if err != nil {
		return name.Repository{}, fmt.Errorf("repository %q is not a valid repository name (REGISTRY/PATH, lower case): %w", s, err)
	}
	return r, nil
}

// staticKeychain gives the same credentials for every registry.
type staticKeychain struct{ a authn.Authenticator }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) { return k.a, nil }
