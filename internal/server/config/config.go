// Package config reads the `bulwark server` configuration file (YAML).
// Unknown keys, wrong types and bad values are errors that name the file
// and the line.
package config

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"gopkg.in/yaml.v3"

	"github.com/bulwark-sec/bulwark/internal/policy"
	"github.com/bulwark-sec/bulwark/internal/registry"
	"github.com/bulwark-sec/bulwark/internal/sign"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
	"github.com/bulwark-sec/bulwark/internal/vulndb/defaultdb"
	"github.com/bulwark-sec/bulwark/internal/vulndb/update"
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

// DefaultPollInterval is how often watched repositories are polled.
const DefaultPollInterval = 5 * time.Minute

// DefaultPollTimeout bounds one registry's share of a poll round: a
// registry that hangs is given up on and polled again next round.
const DefaultPollTimeout = 30 * time.Second

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
	// Store is the store's database: "sqlite://PATH" or a plain path (the
	// default: server.db in the cache folder), or "postgres://...".
	Store string `yaml:"store"`
	// DB configures the vulnerability database.
	DB DB `yaml:"db"`
	// Registries are the registries images are read from.
	Registries []Registry `yaml:"registries"`
	// Policy is the gate rule the image status is judged by.
	Policy Policy `yaml:"policy"`
	// Watch lists "REGISTRY/REPOSITORY" (or "REGISTRY": every repository
	// of its catalog) to poll for new tags.
	Watch []string `yaml:"watch"`
	// Poll configures the polling of Watch.
	Poll Poll `yaml:"poll"`
	// Webhooks configures how the webhook senders authenticate.
	Webhooks Webhooks `yaml:"webhooks"`
	// TLS, when both files are given, serves HTTPS.
	TLS TLS `yaml:"tls"`
	// Metrics configures /metrics.
	Metrics Metrics `yaml:"metrics"`
	// Notify are the webhook targets of new and fixed findings.
	Notify []Notify `yaml:"notify"`
	// Signature is how each read image's signature is checked.
	Signature Signature `yaml:"signature"`
	// Deployments configures the running deployments reported to the
	// server.
	Deployments Deployments `yaml:"deployments"`
	// Retention says what ages out of the store.
	Retention Retention `yaml:"retention"`

	// FailOn is Policy.FailOn parsed.
	FailOn policy.FailOn `yaml:"-"`
	// CheckEvery is DB.CheckInterval parsed.
	CheckEvery time.Duration `yaml:"-"`
	// UpdateEvery and UpdateTimeout are DB.Update parsed (UpdateEvery 0:
	// no update schedule).
	UpdateEvery, UpdateTimeout time.Duration `yaml:"-"`
	// Watched is Watch parsed.
	Watched []Watch `yaml:"-"`
	// DeploymentExpiry is Deployments.ExpireAfter parsed.
	DeploymentExpiry time.Duration `yaml:"-"`
	// PruneEvery, KeepImages, KeepHistory and KeepEvents are Retention
	// parsed (0: kept for ever).
	PruneEvery, KeepImages, KeepHistory, KeepEvents time.Duration `yaml:"-"`
	// PollEvery and PollTimeout are Poll parsed.
	PollEvery, PollTimeout time.Duration `yaml:"-"`
	// RegistryDefaults is the access of watched registries that
	// Registries does not list (the command's registry flags).
	RegistryDefaults registry.Settings `yaml:"-"`
}

// Watch is a watched repository, or a whole registry when Repository is
// empty.
type Watch struct {
	Registry, Repository string
}

// String is the entry as written: "REGISTRY[/REPOSITORY]".
func (w Watch) String() string {
	if w.Repository == "" {
		return w.Registry
	}
	return w.Registry + "/" + w.Repository
}

// Poll configures the periodic tag poll.
type Poll struct {
	// Interval is the time between rounds (a Go duration, default 5m; each
	// round is moved by up to a tenth of it at random).
	Interval string `yaml:"interval"`
	// Timeout bounds each registry's share of a round (default 30s).
	Timeout string `yaml:"timeout"`
}

// Webhooks configures the webhook senders' authentication. Each webhook
// also accepts the API token.
type Webhooks struct {
	// Registry is the CNCF registry's notification endpoint.
	Registry Hook `yaml:"registry"`
	// EventBridge is the endpoint of an EventBridge API destination.
	EventBridge EventBridge `yaml:"eventbridge"`
}

// Hook is a shared secret a webhook sender puts in a header.
type Hook struct {
	// Header is the header's name (default Authorization).
	Header string `yaml:"header"`
	// Secret is the header's whole value ("Bearer s3cret", or an API key).
	Secret string `yaml:"secret"`
}

// EventBridge configures the Amazon EventBridge endpoint.
type EventBridge struct {
	Hook `yaml:",inline"`
	// Hosts maps the ECR host an event names
	// (ACCOUNT.dkr.ecr.REGION.amazonaws.com) to the host to read from.
	Hosts map[string]string `yaml:"hosts"`
}

// TLS names the server's certificate and key (PEM files).
type TLS struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// Config loads the certificate and key: nil without them. An error names
// the file at fault (the key when the pair does not match).
func (t TLS) Config() (*tls.Config, error) {
	if t.Cert == "" {
		return nil, nil
	}
	certPEM, err := os.ReadFile(t.Cert)
	if err != nil {
		return nil, fmt.Errorf("tls certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(t.Key)
	if err != nil {
		return nil, fmt.Errorf("tls key: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		what, file := "key", t.Key
		if b, _ := pem.Decode(certPEM); b == nil || b.Type != "CERTIFICATE" {
			what, file = "certificate", t.Cert
		}
		return nil, fmt.Errorf("tls %s %s: %w", what, file, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}

// DB is the vulnerability database the server matches against.
type DB struct {
	// File is the database file; replacing it (bulwark db update) makes the
	// server re-match the images its changes touch.
	File string `yaml:"file"`
	// CheckInterval is how often File is checked for a replacement
	// (a Go duration, default 1m).
	CheckInterval string `yaml:"checkInterval"`
	// Update is the server's own update schedule of File (none when
	// Interval is empty).
	Update DBUpdate `yaml:"update"`
}

// DefaultDBUpdateTimeout bounds one attempt of the database update.
const DefaultDBUpdateTimeout = 10 * time.Minute

// DBUpdate is the server's own database update schedule: the pull of
// `bulwark db update` (the same signature check and atomic replace),
// then the refresh of POST /api/v1/db/refresh.
type DBUpdate struct {
	// Interval is the time between updates (a duration like 6h or 1d).
	Interval string `yaml:"interval"`
	// Repositories are the OCI repositories the database is pulled from,
	// tried in order (default: $BULWARK_DB_REPOSITORY, else the published
	// ones).
	Repositories []string `yaml:"repositories"`
	// Key is the public key (file, env://VAR or KMS reference) the
	// database's signature must verify with (default: $BULWARK_DB_KEY,
	// else the key embedded in bulwark). A relative file is next to the
	// configuration file.
	Key string `yaml:"key"`
	// Insecure allows plain HTTP and unverified TLS to the database
	// registry.
	Insecure bool `yaml:"insecure"`
	// Timeout bounds one attempt (default 10m): a registry that hangs
	// fails the attempt, which is retried with backoff.
	Timeout string `yaml:"timeout"`
	// FromUpstream builds the database from the advisory sources
	// (Sources) instead of pulling the published one, as `bulwark db
	// update --from-upstream` does; Repositories and Key do not apply.
	FromUpstream bool `yaml:"fromUpstream"`
	// State, with FromUpstream, is a folder kept between updates that
	// makes them incremental (--state); a relative one is next to the
	// configuration file.
	State string `yaml:"state"`
	// Sources, with FromUpstream, are where it downloads from.
	Sources Sources `yaml:"sources"`
}

// Sources are the advisory sources of db.update.fromUpstream, the flags
// of `bulwark db update --from-upstream`: a URL left out is the public
// source's, an empty one turns the source off.
type Sources struct {
	// OSV is the OSV bucket (--osv-url), Ecosystems its ecosystems
	// downloaded (--ecosystem).
	OSV        *string  `yaml:"osv"`
	Ecosystems []string `yaml:"ecosystems"`
	// NVD is the NVD CVE API 2.0 endpoint (--nvd-url; $NVD_API_KEY
	// raises its rate limit).
	NVD *string `yaml:"nvd"`
	// DebianTracker is the Debian security tracker's JSON
	// (--debian-tracker-url).
	DebianTracker *string `yaml:"debianTracker"`
	// AlpineSecDB are Alpine secdb files (--alpine-secdb-url; none by
	// default).
	AlpineSecDB []string `yaml:"alpineSecdb"`
	// KEV and EPSS are the exploit data files (--kev-url, --epss-url).
	KEV  *string `yaml:"kev"`
	EPSS *string `yaml:"epss"`
}

// set tells whether any source is configured.
func (s Sources) set() bool {
	return s.OSV != nil || s.Ecosystems != nil || s.NVD != nil || s.DebianTracker != nil || s.AlpineSecDB != nil || s.KEV != nil || s.EPSS != nil
}

// Resolve is the sources of an update: the configured ones over the
// public defaults, with $NVD_API_KEY.
func (s Sources) Resolve() update.Sources {
	out := update.DefaultSources()
	for _, f := range []struct {
		from *string
		to   *string
	}{{s.OSV, &out.OSVBase}, {s.NVD, &out.NVD}, {s.DebianTracker, &out.DebianTracker}, {s.KEV, &out.KEV}, {s.EPSS, &out.EPSS}} {
		if f.from != nil {
			*f.to = *f.from
		}
	}
	if s.Ecosystems != nil {
		out.Ecosystems = s.Ecosystems
	}
	out.AlpineSecDB = s.AlpineSecDB
	return out.WithNVDKey(os.Getenv("NVD_API_KEY"))
}

// check validates the sources; the error names the key as the path.
func (s Sources) check(at func(err error, keys ...any) error) error {
	for _, f := range []struct {
		key string
		v   *string
	}{{"osv", s.OSV}, {"nvd", s.NVD}, {"debianTracker", s.DebianTracker}, {"kev", s.KEV}, {"epss", s.EPSS}} {
		if f.v != nil && *f.v != "" {
			if err := checkSourceURL(*f.v); err != nil {
				return at(fmt.Errorf("db.update.sources.%s: %w", f.key, err), "db", "update", "sources", f.key)
			}
		}
	}
	for i, u := range s.AlpineSecDB {
		if err := checkSourceURL(u); err != nil {
			return at(fmt.Errorf("db.update.sources.alpineSecdb[%d]: %w", i, err), "db", "update", "sources", "alpineSecdb", i)
		}
	}
	for i, e := range s.Ecosystems {
		if e == "" || strings.ContainsAny(e, "/?#% \t") {
			return at(fmt.Errorf("db.update.sources.ecosystems[%d]: %q is not an OSV ecosystem name", i, e), "db", "update", "sources", "ecosystems", i)
		}
	}
	return nil
}

// checkSourceURL checks the URL of an advisory source.
func checkSourceURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return fmt.Errorf("%q is not an http(s) URL", s)
	}
	return nil
}

// Metrics configures the Prometheus endpoint.
type Metrics struct {
	// Public serves /metrics without the token (for a Prometheus that
	// cannot send one); default false: the token is required.
	Public bool `yaml:"public"`
}

// Notify is a webhook target of the finding events.
type Notify struct {
	// Name identifies the target (default: its URL); each event is
	// delivered once per name.
	Name string `yaml:"name"`
	// URL receives a POST per event.
	URL string `yaml:"url"`
	// Secret keys the HMAC-SHA256 signature header (default:
	// $BULWARK_NOTIFY_SECRET).
	Secret string `yaml:"secret"`
	// Format is "json" (the event, default) or "slack" (a Slack
	// incoming-webhook message).
	Format string `yaml:"format"`
	// OnlyDeployed delivers only the events of images that run somewhere
	// (a deployment reported and not expired when the event was written).
	OnlyDeployed bool `yaml:"onlyDeployed"`
}

// Policy is the gate rule of the image status.
type Policy struct {
	// FailOn uses the --fail-on grammar (default CRITICAL).
	FailOn string `yaml:"failOn"`
	// RequireSignature fails images whose signature status is not signed
	// (needs signature.keys).
	RequireSignature bool `yaml:"requireSignature"`
}

// Signature is the signature check of each read image: the keys and
// annotations of the admission policy (docs/admission.md).
type Signature struct {
	// Keys are key references (file, env://VAR, KMS URI); a signature
	// that verifies with any of them makes the image signed. Relative
	// files are next to the configuration file.
	Keys []string `yaml:"keys"`
	// Annotations must all be in the verified signature.
	Annotations map[string]string `yaml:"annotations"`
}

// DefaultDeploymentExpiry is how long a reported deployment counts as
// running without being reported again.
const DefaultDeploymentExpiry = 7 * 24 * time.Hour

// Deployments configures the reported deployments.
type Deployments struct {
	// ExpireAfter: a deployment not reported again for this long no
	// longer counts as running and is removed (default 7d).
	ExpireAfter string `yaml:"expireAfter"`
}

// DefaultPruneInterval is how often the retention rules are applied.
const DefaultPruneInterval = time.Hour

// Retention says what ages out of the store; each is a duration ("30d",
// "12h"); what is not set is kept.
type Retention struct {
	// Interval is how often the rules are applied (default 1h).
	Interval string `yaml:"interval"`
	// Images: images with no tag left and running nowhere, last pushed,
	// polled or reported running longer ago, go with their findings.
	Images string `yaml:"images"`
	// History: findings fixed longer ago leave the history.
	History string `yaml:"history"`
	// Events: notification events (and their delivery records) written
	// longer ago.
	Events string `yaml:"events"`
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
	// A relative key file is next to the configuration.
	rel := func(k string) string {
		if k != "" && !strings.Contains(k, "://") && !filepath.IsAbs(k) {
			return filepath.Join(filepath.Dir(path), k)
		}
		return k
	}
	for i, k := range c.Signature.Keys {
		c.Signature.Keys[i] = rel(k)
	}
	c.DB.Update.Key = rel(c.DB.Update.Key)
	if c.DB.Update.State != "" && !filepath.IsAbs(c.DB.Update.State) {
		c.DB.Update.State = filepath.Join(filepath.Dir(path), c.DB.Update.State)
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
		return nil, fmt.Errorf("not a valid server configuration (keys: listen, token, store, db, registries, policy, watch, poll, webhooks, tls, metrics, notify, signature, deployments, retention): %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	at := func(err error, keys ...any) error {
		if l := yamlpath.Line(&root, keys...); l > 0 {
			return fmt.Errorf("line %d: %w", l, err)
		}
		return err
	}
	if err := c.complete(at); err != nil {
		return nil, err
	}
	return c, nil
}

// Default is the configuration without a file: every default.
func Default() *Config {
	c := &Config{}
	if err := c.complete(func(err error, _ ...any) error { return err }); err != nil {
		panic(err) // the defaults are valid
	}
	return c
}

// complete validates the values and fills in the defaults; at places an
// error at the key's line.
func (c *Config) complete(at func(err error, keys ...any) error) error {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if err := checkListen(c.Listen); err != nil {
		return at(fmt.Errorf("listen: %w", err), "listen")
	}
	if err := checkStore(c.Store); err != nil {
		return at(fmt.Errorf("store: %w", err), "store")
	}
	if c.Token == "" {
		c.Token = os.Getenv("BULWARK_SERVER_TOKEN")
	}
	seen := map[string]bool{}
	for i, r := range c.Registries {
		h := strings.TrimSpace(r.Host)
		switch {
		case h == "" || strings.ContainsAny(h, "/@ "):
			return at(fmt.Errorf("registries[%d].host: %q is not host[:port]", i, r.Host), "registries", i, "host")
		case seen[h]:
			return at(fmt.Errorf("registries[%d].host: %s is listed twice", i, h), "registries", i, "host")
		case r.Password != "" && r.Username == "":
			return at(fmt.Errorf("registries[%d]: a password needs a username", i), "registries", i, "password")
		}
		seen[h] = true
	}
	names := map[string]bool{}
	for i := range c.Notify {
		n := &c.Notify[i]
		u, err := url.Parse(n.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return at(fmt.Errorf("notify[%d].url: %q is not an http(s) URL", i, n.URL), "notify", i, "url")
		}
		if n.Name == "" {
			n.Name = n.URL
		}
		if names[n.Name] {
			return at(fmt.Errorf("notify[%d].name: %s is listed twice", i, n.Name), "notify", i)
		}
		names[n.Name] = true
		switch n.Format {
		case "":
			n.Format = "json"
		case "json", "slack":
		default:
			return at(fmt.Errorf("notify[%d].format: %q is not json or slack", i, n.Format), "notify", i, "format")
		}
		if n.Secret == "" {
			n.Secret = os.Getenv("BULWARK_NOTIFY_SECRET")
		}
	}
	fo := c.Policy.FailOn
	if fo == "" {
		fo = "CRITICAL"
	}
	var err error
	if c.FailOn, err = policy.ParseFailOn(fo); err != nil {
		return at(fmt.Errorf("policy.failOn: %w", err), "policy", "failOn")
	}
	c.CheckEvery = DefaultDBCheck
	if c.DB.CheckInterval != "" {
		d, err := time.ParseDuration(c.DB.CheckInterval)
		if err != nil || d <= 0 {
			return at(fmt.Errorf("db.checkInterval: %q is not a positive duration (like 30s or 5m)", c.DB.CheckInterval), "db", "checkInterval")
		}
		c.CheckEvery = d
	}
	if err := c.completeUpdate(at); err != nil {
		return err
	}
	for i, w := range c.Watch {
		pw, err := ParseWatch(w)
		if err != nil {
			return at(fmt.Errorf("watch[%d]: %w", i, err), "watch", i)
		}
		c.Watched = append(c.Watched, pw)
	}
	if c.PollEvery, err = duration(c.Poll.Interval, DefaultPollInterval); err != nil {
		return at(fmt.Errorf("poll.interval: %w", err), "poll", "interval")
	}
	if c.PollTimeout, err = duration(c.Poll.Timeout, DefaultPollTimeout); err != nil {
		return at(fmt.Errorf("poll.timeout: %w", err), "poll", "timeout")
	}
	for _, h := range []struct {
		name string
		hook *Hook
	}{{"registry", &c.Webhooks.Registry}, {"eventbridge", &c.Webhooks.EventBridge.Hook}} {
		if h.hook.Header == "" {
			h.hook.Header = "Authorization"
		}
		if !headerRe.MatchString(h.hook.Header) {
			return at(fmt.Errorf("webhooks.%s.header: %q is not a header name", h.name, h.hook.Header), "webhooks", h.name, "header")
		}
	}
	for from, to := range c.Webhooks.EventBridge.Hosts {
		for _, h := range []string{from, to} {
			if h == "" || strings.ContainsAny(h, "/@ ") {
				return at(fmt.Errorf("webhooks.eventbridge.hosts: %q is not host[:port]", h), "webhooks", "eventbridge", "hosts", from)
			}
		}
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		return at(errors.New("tls: cert and key go together"), "tls")
	}
	for i, k := range c.Signature.Keys {
		if strings.TrimSpace(k) == "" {
			return at(fmt.Errorf("signature.keys[%d]: an empty key reference", i), "signature", "keys", i)
		}
	}
	if c.Policy.RequireSignature && len(c.Signature.Keys) == 0 {
		return at(errors.New("policy.requireSignature: needs signature.keys to check signatures with"), "policy", "requireSignature")
	}
	for _, a := range []struct {
		key, s string
		def    time.Duration
		out    *time.Duration
		path   []any
	}{
		{"deployments.expireAfter", c.Deployments.ExpireAfter, DefaultDeploymentExpiry, &c.DeploymentExpiry, []any{"deployments", "expireAfter"}},
		{"retention.interval", c.Retention.Interval, DefaultPruneInterval, &c.PruneEvery, []any{"retention", "interval"}},
		{"retention.images", c.Retention.Images, 0, &c.KeepImages, []any{"retention", "images"}},
		{"retention.history", c.Retention.History, 0, &c.KeepHistory, []any{"retention", "history"}},
		{"retention.events", c.Retention.Events, 0, &c.KeepEvents, []any{"retention", "events"}},
	} {
		if a.s == "" {
			*a.out = a.def
			continue
		}
		d, err := vulndb.ParseAge(a.s)
		if err != nil || d <= 0 {
			return at(fmt.Errorf("%s: %q is not a positive duration (like 12h or 30d)", a.key, a.s), a.path...)
		}
		*a.out = d
	}
	return nil
}

// completeUpdate validates db.update.
func (c *Config) completeUpdate(at func(err error, keys ...any) error) error {
	u := c.DB.Update
	var err error
	if c.UpdateTimeout, err = duration(u.Timeout, DefaultDBUpdateTimeout); err != nil {
		return at(fmt.Errorf("db.update.timeout: %w", err), "db", "update", "timeout")
	}
	if u.Interval != "" {
		if c.UpdateEvery, err = vulndb.ParseAge(u.Interval); err != nil || c.UpdateEvery <= 0 {
			return at(fmt.Errorf("db.update.interval: %q is not a positive duration (like 6h or 1d)", u.Interval), "db", "update", "interval")
		}
	} else if len(u.Repositories) > 0 || u.Key != "" || u.Insecure || u.Timeout != "" || u.FromUpstream || u.State != "" || u.Sources.set() {
		return at(errors.New("db.update: no interval; the server pulls the database only on a schedule (interval: 6h)"), "db", "update")
	}
	switch {
	case u.FromUpstream && len(u.Repositories) > 0:
		return at(errors.New("db.update.repositories: the published database's; fromUpstream builds it from the sources instead"), "db", "update", "repositories")
	case u.FromUpstream && u.Key != "":
		return at(errors.New("db.update.key: checks the published database's signature; fromUpstream builds it from the sources instead"), "db", "update", "key")
	case !u.FromUpstream && u.State != "":
		return at(errors.New("db.update.state: keeps the records of fromUpstream between updates; set fromUpstream: true"), "db", "update", "state")
	case !u.FromUpstream && u.Sources.set():
		return at(errors.New("db.update.sources: the sources of fromUpstream; set fromUpstream: true"), "db", "update", "sources")
	}
	if err := u.Sources.check(at); err != nil {
		return err
	}
	for i, r := range u.Repositories {
		if err := checkDBRepository(r); err != nil {
			return at(fmt.Errorf("db.update.repositories[%d]: %w", i, err), "db", "update", "repositories", i)
		}
	}
	return nil
}

// checkDBRepository checks a database repository reference.
func checkDBRepository(r string) error {
	if _, err := name.ParseReference(r, name.WithDefaultTag("1")); err != nil || strings.TrimSpace(r) != r {
		return fmt.Errorf("%q is not an OCI repository (REGISTRY/REPOSITORY[:TAG])", r)
	}
	return nil
}

var headerRe = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")

// duration parses a positive Go duration, def when s is empty.
func duration(s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration (like 30s or 5m)", s)
	}
	return d, nil
}

// checkListen checks a "host:port" address.
func checkListen(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port", s)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("port %q is not a number", port)
	}
	return nil
}

// StoreURL splits the store setting: "sqlite://PATH" or a plain path is
// ("sqlite", PATH); "postgres://..." or "postgresql://..." is
// ("postgres", the URL); empty is ("sqlite", "") for the default file.
func StoreURL(s string) (engine, target string, err error) {
	switch {
	case strings.HasPrefix(s, "sqlite://"):
		if p := strings.TrimPrefix(s, "sqlite://"); p != "" {
			return "sqlite", p, nil
		}
		return "", "", fmt.Errorf("%q names no file (sqlite:///var/lib/bulwark/server.db)", s)
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		return "postgres", s, nil
	case strings.Contains(s, "://"):
		return "", "", fmt.Errorf("%q: the database is sqlite://PATH or postgres://...", s)
	}
	return "sqlite", s, nil
}

func checkStore(s string) error {
	_, _, err := StoreURL(s)
	return err
}

// ParseWatch parses "REGISTRY/REPOSITORY" or "REGISTRY".
func ParseWatch(s string) (Watch, error) {
	host, repo, _ := strings.Cut(s, "/")
	if _, err := name.NewRegistry(host, name.StrictValidation); err != nil || host == "" || strings.ContainsAny(host, "@ ") {
		return Watch{}, fmt.Errorf("%q: %q is not a registry host", s, host)
	}
	if repo != "" {
		if _, err := name.NewRepository(s, name.StrictValidation); err != nil || strings.ContainsAny(repo, ":@") {
			return Watch{}, fmt.Errorf("%q is not REGISTRY/REPOSITORY", s)
		}
	}
	return Watch{Registry: host, Repository: repo}, nil
}

// Overrides are command-line values that replace the configuration's
// (an empty value keeps it).
type Overrides struct {
	Listen, Store, Token, DBFile, TLSCert, TLSKey, PollInterval string
	// DBUpdateInterval, DBRepositories, DBKey and DBInsecure set
	// db.update.
	DBUpdateInterval string
	DBRepositories   []string
	DBKey            string
	DBInsecure       bool
	// Watch entries are added to the configuration's.
	Watch []string
	// Registry is the access of watched registries not listed in
	// Registries.
	Registry registry.Settings
}

// Override applies command-line values; an error names the flag.
func (c *Config) Override(o Overrides) error {
	if o.Listen != "" {
		if err := checkListen(o.Listen); err != nil {
			return fmt.Errorf("--listen: %w", err)
		}
		c.Listen = o.Listen
	}
	if o.Store != "" {
		if err := checkStore(o.Store); err != nil {
			return fmt.Errorf("--database: %w", err)
		}
		c.Store = o.Store
	}
	if o.Token != "" {
		c.Token = o.Token
	}
	if o.DBFile != "" {
		c.DB.File = o.DBFile
	}
	if o.TLSCert != "" || o.TLSKey != "" {
		if o.TLSCert == "" || o.TLSKey == "" {
			return errors.New("--tls-cert and --tls-key go together")
		}
		c.TLS = TLS{Cert: o.TLSCert, Key: o.TLSKey}
	}
	if o.PollInterval != "" {
		d, err := duration(o.PollInterval, 0)
		if err != nil {
			return fmt.Errorf("--poll-interval: %w", err)
		}
		c.PollEvery = d
	}
	if err := c.overrideUpdate(o); err != nil {
		return err
	}
	for _, s := range o.Watch {
		w, err := ParseWatch(s)
		if err != nil {
			return fmt.Errorf("--watch: %w", err)
		}
		c.Watch = append(c.Watch, s)
		c.Watched = append(c.Watched, w)
	}
	c.RegistryDefaults = o.Registry
	return nil
}

// overrideUpdate applies the db.update flags.
func (c *Config) overrideUpdate(o Overrides) error {
	if o.DBUpdateInterval != "" {
		d, err := vulndb.ParseAge(o.DBUpdateInterval)
		if err != nil || d <= 0 {
			return fmt.Errorf("--db-update-interval: %q is not a positive duration (like 6h or 1d)", o.DBUpdateInterval)
		}
		c.DB.Update.Interval, c.UpdateEvery = o.DBUpdateInterval, d
	}
	for _, r := range o.DBRepositories {
		if err := checkDBRepository(r); err != nil {
			return fmt.Errorf("--db-repository: %w", err)
		}
	}
	if len(o.DBRepositories) > 0 {
		c.DB.Update.Repositories = o.DBRepositories
	}
	if o.DBKey != "" {
		c.DB.Update.Key = o.DBKey
	}
	c.DB.Update.Insecure = c.DB.Update.Insecure || o.DBInsecure
	if c.UpdateEvery == 0 && (len(o.DBRepositories) > 0 || o.DBKey != "" || o.DBInsecure) {
		return errors.New("--db-repository, --db-key and --db-insecure configure the database update schedule; give --db-update-interval (or db.update.interval) too")
	}
	return nil
}

// DBUpdateSource resolves where the scheduled update pulls the database
// from, as `bulwark db update` does: the repositories (else
// $BULWARK_DB_REPOSITORY, else the published ones), the key its signature
// must verify with (else $BULWARK_DB_KEY, else the embedded key), and the
// registry access (RegistryDefaults, plus db.update.insecure); nothing
// with fromUpstream (Sources.Resolve says where it downloads from).
func (c *Config) DBUpdateSource(ctx context.Context) (repos []string, key *sign.Verifier, reg *registry.Client, err error) {
	u := c.DB.Update
	if u.FromUpstream {
		return nil, nil, nil, nil
	}
	if key, err = defaultdb.LoadKey(ctx, u.Key, os.Getenv("BULWARK_DB_KEY")); err != nil {
		return nil, nil, nil, fmt.Errorf("db.update.key: %w", err)
	}
	rs := c.RegistryDefaults
	rs.Insecure = rs.Insecure || u.Insecure
	if reg, err = rs.Client(); err != nil {
		return nil, nil, nil, fmt.Errorf("db.update: %w", err)
	}
	return defaultdb.ResolveRepositories(u.Repositories, os.Getenv("BULWARK_DB_REPOSITORY")), key, reg, nil
}

// RegistrySettings maps every registry the server reads from to its
// access: those listed in Registries, and the watched ones with
// RegistryDefaults.
func (c *Config) RegistrySettings() map[string]registry.Settings {
	out := map[string]registry.Settings{}
	for _, w := range c.Watched {
		out[w.Registry] = c.RegistryDefaults
	}
	for _, r := range c.Registries {
		out[strings.TrimSpace(r.Host)] = r.Settings()
	}
	return out
}
