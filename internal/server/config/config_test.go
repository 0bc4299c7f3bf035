package config

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/registry"
	"github.com/bulwark-sec/bulwark/internal/vulndb/update"
)

func TestParse(t *testing.T) {
	c, err := Parse([]byte(`
registries:
  - host: 127.0.0.1:5000
    insecure: true
db:
  file: /tmp/vulndb.bwdb
  checkInterval: 30s
policy:
  failOn: HIGH,kev
metrics:
  public: true
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != DefaultListen || c.CheckEvery != 30*time.Second || len(c.Registries) != 1 || !c.Registries[0].Settings().Insecure || !c.Metrics.Public {
		t.Errorf("parsed %+v", c)
	}
	if c.FailOn.String() == "" || c.FailOn.IsNever() {
		t.Errorf("failOn %v", c.FailOn)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "empty"},
		{"listen: [", "not valid YAML"},
		{"listne: x\n", "line 1: field listne not found"},
		{"listen: nowhere\n", "line 1: listen"},
		{"listen: a:99999\n", "line 1: listen: port"},
		{"registries:\n  - host: a\n  - host: a/b\n", "line 3: registries[1].host"},
		{"registries:\n  - host: a\n  - host: a\n", "line 3: registries[1].host: a is listed twice"},
		{"registries:\n  - host: a\n    password: p\n", "line 3: registries[0]: a password needs a username"},
		{"policy:\n  failOn: SEVERE\n", "line 2: policy.failOn"},
		{"db:\n  checkInterval: -1s\n", "line 2: db.checkInterval"},
		{"registries: 3\n", "line 1"},
		{"store: mysql://x\n", "line 1: store"},
		{"store: sqlite://\n", "line 1: store"},
		{"watch:\n  - 127.0.0.1:5000/team/a\n  - a b/c\n", "line 3: watch[1]"},
		{"watch:\n  - 127.0.0.1:5000/Team\n", "line 2: watch[0]"},
		{"watch:\n  - 127.0.0.1:5000/a:tag\n", "line 2: watch[0]"},
		{"poll:\n  interval: soon\n", "line 2: poll.interval"},
		{"poll:\n  timeout: 0s\n", "line 2: poll.timeout"},
		{"webhooks:\n  registry:\n    header: \"X Key\"\n", "line 3: webhooks.registry.header"},
		{"webhooks:\n  eventbridge:\n    hosts:\n      a.b: \"c/d\"\n", "line 4: webhooks.eventbridge.hosts"},
		{"webhooks:\n  eventbridge:\n    secrets: x\n", "line 3: field secrets not found"},
		{"tls:\n  cert: a.pem\n", "line 2: tls: cert and key"},
		{"notify:\n  - url: ftp://x\n", "line 2: notify[0].url"},
		{"notify:\n  - url: http://a/\n    format: teams\n", "line 3: notify[0].format"},
		{"notify:\n  - url: http://a/\n  - url: http://a/\n", "line 3: notify[1].name: http://a/ is listed twice"},
		{"policy:\n  requireSignature: true\n", "line 2: policy.requireSignature: needs signature.keys"},
		{"signature:\n  keys: [\"\"]\n", "line 2: signature.keys[0]"},
		{"deployments:\n  expireAfter: 0s\n", "line 2: deployments.expireAfter"},
		{"retention:\n  images: forever\n", "line 2: retention.images"},
		{"retention:\n  history: -3d\n", "line 2: retention.history"},
		{"retention:\n  keep: 3d\n", "line 2: field keep not found"},
		{"db:\n  update:\n    interval: often\n", "line 3: db.update.interval"},
		{"db:\n  update:\n    interval: 6h\n    timeout: 0s\n", "line 4: db.update.timeout"},
		{"db:\n  update:\n    repositories: [reg/db]\n", "line 3: db.update: no interval"},
		{"db:\n  update:\n    interval: 1d\n    repositories:\n      - reg/db\n      - \"Reg/Db:x:y\"\n", "line 6: db.update.repositories[1]"},
		{"db:\n  update:\n    fromUpstream: true\n", "line 3: db.update: no interval"},
		{"db:\n  update:\n    interval: 1d\n    fromUpstream: true\n    repositories: [reg/db]\n", "line 5: db.update.repositories: the published database's"},
		{"db:\n  update:\n    interval: 1d\n    fromUpstream: true\n    key: db.pub\n", "line 5: db.update.key"},
		{"db:\n  update:\n    interval: 1d\n    state: /var/lib/x\n", "line 4: db.update.state"},
		{"db:\n  update:\n    interval: 1d\n    sources:\n      kev: \"\"\n", "line 5: db.update.sources: the sources of fromUpstream"},
		{"db:\n  update:\n    interval: 1d\n    fromUpstream: true\n    sources:\n      osv: ftp://osv.example\n", "line 6: db.update.sources.osv: \"ftp://osv.example\" is not an http(s) URL"},
		{"db:\n  update:\n    interval: 1d\n    fromUpstream: true\n    sources:\n      alpineSecdb:\n        - https://secdb.alpinelinux.org/v3.19/main.json\n        - secdb\n", "line 8: db.update.sources.alpineSecdb[1]"},
		{"db:\n  update:\n    interval: 1d\n    fromUpstream: true\n    sources:\n      ecosystems: [Go, \"../x\"]\n", "line 6: db.update.sources.ecosystems[1]"},
		{"db:\n  update:\n    interval: 1d\n    fromUpstream: true\n    sources:\n      nvdd: x\n", "line 6"},
		{"db:\n  update:\n    every: 6h\n", "line 3: field every not found"},
	} {
		_, err := Parse([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.in, err, tc.want)
		}
	}
}

// The deployment, signature and retention settings, with their defaults.
func TestParseRetention(t *testing.T) {
	c, err := Parse([]byte(`
signature:
  keys: [cosign.pub, awskms:///alias/release]
  annotations: {env: prod}
policy:
  requireSignature: true
notify:
  - url: http://a/
    onlyDeployed: true
deployments:
  expireAfter: 2d
retention:
  images: 30d
  events: 12h
`))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Policy.RequireSignature || len(c.Signature.Keys) != 2 || c.Signature.Annotations["env"] != "prod" || !c.Notify[0].OnlyDeployed {
		t.Errorf("parsed %+v", c)
	}
	if c.DeploymentExpiry != 48*time.Hour || c.PruneEvery != DefaultPruneInterval || c.KeepImages != 30*24*time.Hour || c.KeepHistory != 0 || c.KeepEvents != 12*time.Hour {
		t.Errorf("durations: expiry %s, prune every %s, images %s, history %s, events %s", c.DeploymentExpiry, c.PruneEvery, c.KeepImages, c.KeepHistory, c.KeepEvents)
	}
	if d := Default(); d.DeploymentExpiry != DefaultDeploymentExpiry || d.KeepImages != 0 {
		t.Errorf("defaults: expiry %s, images %s", d.DeploymentExpiry, d.KeepImages)
	}
}

func TestParseIngest(t *testing.T) {
	c, err := Parse([]byte(`
store: sqlite:///var/lib/bulwark/s.db
watch:
  - 127.0.0.1:5000/team/a
  - registry.internal:5000
registries:
  - host: registry.internal:5000
    caCert: /etc/ca.pem
poll:
  interval: 30s
webhooks:
  registry:
    secret: Bearer s3cret
  eventbridge:
    header: x-api-key
    secret: k
    hosts:
      123456789012.dkr.ecr.us-east-1.amazonaws.com: 127.0.0.1:5000
tls:
  cert: c.pem
  key: k.pem
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Watch{{"127.0.0.1:5000", "team/a"}, {"registry.internal:5000", ""}}
	if len(c.Watched) != 2 || c.Watched[0] != want[0] || c.Watched[1] != want[1] {
		t.Errorf("watched %+v, want %+v", c.Watched, want)
	}
	if c.PollEvery != 30*time.Second || c.PollTimeout != DefaultPollTimeout {
		t.Errorf("poll %v %v", c.PollEvery, c.PollTimeout)
	}
	if h := c.Webhooks.Registry; h.Header != "Authorization" || h.Secret != "Bearer s3cret" {
		t.Errorf("registry hook %+v", h)
	}
	if e := c.Webhooks.EventBridge; e.Header != "x-api-key" || e.Secret != "k" || e.Hosts["123456789012.dkr.ecr.us-east-1.amazonaws.com"] != "127.0.0.1:5000" {
		t.Errorf("eventbridge %+v", e)
	}
	if engine, path, _ := StoreURL(c.Store); engine != "sqlite" || path != "/var/lib/bulwark/s.db" {
		t.Errorf("store %s %s", engine, path)
	}
	if err := c.Override(Overrides{Watch: []string{"127.0.0.1:6000/b"}, Registry: registry.Settings{Insecure: true}, Listen: "127.0.0.1:0"}); err != nil {
		t.Fatal(err)
	}
	regs := c.RegistrySettings()
	if len(regs) != 3 || !regs["127.0.0.1:5000"].Insecure || !regs["127.0.0.1:6000"].Insecure || regs["registry.internal:5000"].Insecure || regs["registry.internal:5000"].CACert != "/etc/ca.pem" {
		t.Errorf("registries %+v", regs)
	}
}

// db.update and its flags: the flags replace the file's values; a
// relative key is next to the file.
func TestParseDBUpdate(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "server.yaml")
	if err := os.WriteFile(file, []byte("db:\n  update:\n    interval: 1d\n    repositories: [127.0.0.1:5000/bulwark-db]\n    key: db.pub\n    insecure: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if c.UpdateEvery != 24*time.Hour || c.UpdateTimeout != DefaultDBUpdateTimeout || c.DB.Update.Key != filepath.Join(dir, "db.pub") || !c.DB.Update.Insecure {
		t.Errorf("parsed %+v (every %s, timeout %s)", c.DB.Update, c.UpdateEvery, c.UpdateTimeout)
	}
	if err := c.Override(Overrides{DBUpdateInterval: "30m", DBRepositories: []string{"mirror/db"}}); err != nil {
		t.Fatal(err)
	}
	if c.UpdateEvery != 30*time.Minute || len(c.DB.Update.Repositories) != 1 || c.DB.Update.Repositories[0] != "mirror/db" {
		t.Errorf("overridden %+v (every %s)", c.DB.Update, c.UpdateEvery)
	}
	// From upstream: the sources left out are the public ones, an empty
	// one is off; a relative state folder is next to the file.
	if err := os.WriteFile(file, []byte("db:\n  update:\n    interval: 6h\n    fromUpstream: true\n    state: upstream\n    sources:\n      osv: http://127.0.0.1:9/osv\n      ecosystems: [Go]\n      nvd: \"\"\n      alpineSecdb: [https://secdb.alpinelinux.org/v3.19/main.json]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if c, err = Load(file); err != nil {
		t.Fatal(err)
	}
	src := c.DB.Update.Sources.Resolve()
	def := update.DefaultSources()
	if !c.DB.Update.FromUpstream || c.DB.Update.State != filepath.Join(dir, "upstream") || src.OSVBase != "http://127.0.0.1:9/osv" || len(src.Ecosystems) != 1 ||
		src.NVD != "" || src.KEV != def.KEV || src.DebianTracker != def.DebianTracker || len(src.AlpineSecDB) != 1 {
		t.Errorf("upstream update: %+v, sources %+v", c.DB.Update, src)
	}
	if repos, key, _, err := c.DBUpdateSource(context.Background()); err != nil || repos != nil || key != nil {
		t.Errorf("an upstream update's pull source: %v, %v, %v; want none", repos, key, err)
	}
	if d := Default(); d.UpdateEvery != 0 {
		t.Errorf("an update schedule by default: %s", d.UpdateEvery)
	}
}

func TestOverrideErrors(t *testing.T) {
	for _, tc := range []struct {
		o    Overrides
		want string
	}{
		{Overrides{Listen: "x"}, "--listen"},
		{Overrides{Store: "ftp://x"}, "--database"},
		{Overrides{Watch: []string{"/x"}}, "--watch"},
		{Overrides{TLSCert: "c"}, "--tls-cert and --tls-key"},
		{Overrides{PollInterval: "-1m"}, "--poll-interval"},
		{Overrides{DBUpdateInterval: "soon"}, "--db-update-interval"},
		{Overrides{DBUpdateInterval: "1h", DBRepositories: []string{"a b"}}, "--db-repository"},
		{Overrides{DBKey: "k.pub"}, "give --db-update-interval"},
	} {
		if err := Default().Override(tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.o, err, tc.want)
		}
	}
	if engine, url, err := StoreURL("postgres://u@127.0.0.1/db"); err != nil || engine != "postgres" || url != "postgres://u@127.0.0.1/db" {
		t.Errorf("postgres: %s %s %v", engine, url, err)
	}
}
