// Package config reads the `bulwark server` configuration file (YAML).
// Unknown keys, wrong types and bad values are errors that name the file
// and the line.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/bulwark-sec/bulwark/internal/policy"
	"github.com/bulwark-sec/bulwark/internal/registry"
	"github.com/bulwark-sec/bulwark/internal/yamlpath"
)

// MaxSize bounds the configuration file.
const MaxSize = 1 << 20

// DefaultListen is the address served when the file names none: this
// machine only.
const DefaultListen = "127.0.0.1:8080"

// DefaultDBCheck is how often the vulnerability database file is checked
// for a replacement.
const DefaultDBCheck = time.Minute

// Registry is a registry the server reads images from. Webhook events from
// other registries are refused.
type Registry struct {
	// Host is "host[:port]" as clients push to it.
	Host string `yaml:"host"`
	// Insecure allows plain HTTP and unverified TLS.
	Insecure bool `yaml:"insecure"`
	// CACert is a PEM file of certificate authorities to trust.
	CACert string `yaml:"caCert"`
	// Username and Password replace the docker config's credentials.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
}

// Settings returns the registry access of the entry.
func (r Registry) Settings() registry.Settings {
	return registry.Settings{Insecure: r.Insecure, CACert: r.CACert, Username: r.Username, Password: r.Password}
}

// Config is the server configuration.
type Config struct {
	// Listen is the address served (default DefaultListen).
	Listen string `yaml:"listen"`
	// Token is the bearer token of the API and the webhook (default:
	// $BULWARK_SERVER_TOKEN; empty: no authentication).
	Token string `yaml:"token"`
	// Store is the SQLite file of the store.
	Store string `yaml:"store"`
	// DB configures the vulnerability database.
	DB DB `yaml:"db"`
	// Registries are the registries images are read from.
	Registries []Registry `yaml:"registries"`
	// Policy is the gate rule the image status is judged by.
	Policy Policy `yaml:"policy"`

	// FailOn is Policy.FailOn parsed.
	FailOn policy.FailOn `yaml:"-"`
	// CheckEvery is DB.CheckInterval parsed.
	CheckEvery time.Duration `yaml:"-"`
}

// DB is the vulnerability database the server matches against.
type DB struct {
	// File is the database file; replacing it (bulwark db update) makes the
	// server re-match the images its changes touch.
	File string `yaml:"file"`
	// CheckInterval is how often File is checked for a replacement
	// (a Go duration, default 1m).
	CheckInterval string `yaml:"checkInterval"`
}

// Policy is the gate rule of the image status.
type Policy struct {
	// FailOn uses the --fail-on grammar (default CRITICAL).
	FailOn string `yaml:"failOn"`
}

// Load reads and validates a configuration file.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("server configuration: %w", err)
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("server configuration %s: %w", path, err)
	}
	return c, nil
}

// Parse validates a configuration's content; errors give the line.
func Parse(b []byte) (*Config, error) {
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%d bytes, more than the %d allowed", len(b), MaxSize)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	if len(root.Content) == 0 {
		return nil, errors.New("the file is empty; see docs/server.md for its keys")
	}
	c := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		return nil, fmt.Errorf("not a valid server configuration (keys: listen, token, store, db, registries, policy): %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	at := func(err error, keys ...any) error {
		if l := yamlpath.Line(&root, keys...); l > 0 {
			return fmt.Errorf("line %d: %w", l, err)
		}
		return err
	}
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if _, port, err := net.SplitHostPort(c.Listen); err != nil {
		return nil, at(fmt.Errorf("listen: %q is not host:port", c.Listen), "listen")
	} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return nil, at(fmt.Errorf("listen: port %q is not a number", port), "listen")
	}
	if c.Token == "" {
		c.Token = os.Getenv("BULWARK_SERVER_TOKEN")
	}
	seen := map[string]bool{}
	for i, r := range c.Registries {
		h := strings.TrimSpace(r.Host)
		switch {
		case h == "" || strings.ContainsAny(h, "/@ "):
			return nil, at(fmt.Errorf("registries[%d].host: %q is not host[:port]", i, r.Host), "registries", i, "host")
		case seen[h]:
			return nil, at(fmt.Errorf("registries[%d].host: %s is listed twice", i, h), "registries", i, "host")
		case r.Password != "" && r.Username == "":
			return nil, at(fmt.Errorf("registries[%d]: a password needs a username", i), "registries", i, "password")
		}
		seen[h] = true
	}
	fo := c.Policy.FailOn
	if fo == "" {
		fo = "CRITICAL"
	}
	var err error
	if c.FailOn, err = policy.ParseFailOn(fo); err != nil {
		return nil, at(fmt.Errorf("policy.failOn: %w", err), "policy", "failOn")
	}
	c.CheckEvery = DefaultDBCheck
	if c.DB.CheckInterval != "" {
		d, err := time.ParseDuration(c.DB.CheckInterval)
		if err != nil || d <= 0 {
			return nil, at(fmt.Errorf("db.checkInterval: %q is not a positive duration (like 30s or 5m)", c.DB.CheckInterval), "db", "checkInterval")
		}
		c.CheckEvery = d
	}
	return c, nil
}
