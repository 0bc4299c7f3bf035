// Package admission decides whether images may run: the policy file that
// bulwark admission (Kubernetes) and bulwark ecs-hook (ECS) share, and the
// Decider that checks images against it with a verification cache.
package admission

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"gopkg.in/yaml.v3"

	"github.com/bulwark-sec/bulwark/internal/deployment"
	"github.com/bulwark-sec/bulwark/internal/sign"
	"github.com/bulwark-sec/bulwark/internal/yamlpath"
)

// Defaults of the policy file.
const (
	// DefaultTimeout is the budget of one decision: under the 10 s that
	// Kubernetes allows a webhook by default.
	DefaultTimeout = 8 * time.Second
	// DefaultCacheTTL is how long a verified digest's verdict is reused.
	DefaultCacheTTL = 5 * time.Minute
	// maxPolicySize bounds the policy file.
	maxPolicySize = 1 << 20
)

// OnError says what a failure to decide (registry or KMS unreachable,
// timeout) means: deny (fail-closed, the default) or allow (fail-open).
type OnError string

// The OnError settings.
const (
	// FailClosed denies when bulwark cannot decide.
	FailClosed OnError = "deny"
	// FailOpen allows when bulwark cannot decide.
	FailOpen OnError = "allow"
)

// String says the setting in words, for decisions.
func (o OnError) String() string {
	if o == FailOpen {
		return "onError=allow (fail-open)"
	}
	return "onError=deny (fail-closed)"
}

// Attestation is a required attestation: one of Type, signed by one of the
// policy's keys, about the image's digest, and (with Rules) whose newest
// vulnerability scan passes the rules.
type Attestation struct {
	// Type is the --type name (vuln, cyclonedx, spdx, ...) or a URI.
	Type string
	// Rules are the vulnerability-scan rules; nil requires only presence.
	Rules *sign.Policy
	// OnError overrides the policy's OnError for this rule.
	OnError OnError
}

// Policy is what an image must satisfy to be admitted.
type Policy struct {
	// Keys are key references (file, env://VAR, KMS URI); with any, an
	// image must carry a signature that verifies with one of them.
	Keys []string
	// Annotations must all be in the verified signature.
	Annotations map[string]string
	// Attestations are the required attestations.
	Attestations []Attestation
	// Registries, when set, are the only registries images may come from.
	Registries []string
	// Repositories, when set, are the only repositories images may come
	// from: patterns over registry/path, "*" within a path segment, a
	// trailing "/**" for any depth.
	Repositories []string
	// RequireDigest refuses an image named by tag only.
	RequireDigest bool
	// OnError is what a failure to decide means.
	OnError OnError
	// Timeout is the budget of one decision.
	Timeout time.Duration
	// CacheTTL is how long a verdict on a digest is reused.
	CacheTTL time.Duration
	// Version identifies the policy (a hash of its source), so that a
	// cache never answers with the verdict of another policy.
	Version string
	// Report, when its URL is set, is the `bulwark server` told of each
	// allowed deployment (optional: decisions never depend on it).
	Report deployment.Target
	// Cluster names the Kubernetes cluster in reports (default
	// "default"; ECS reports name the service's cluster).
	Cluster string
}

// FromKeys is the policy of --key alone: every image must carry a
// signature that verifies with one of the keys.
func FromKeys(keys []string) (*Policy, error) {
	if len(keys) == 0 {
		return nil, errors.New("no key: give --policy FILE or --key KEYREF")
	}
	h := sha256.Sum256([]byte("keys\x00" + strings.Join(keys, "\x00")))
	return &Policy{Keys: keys, OnError: FailClosed, Timeout: DefaultTimeout, CacheTTL: DefaultCacheTTL, Version: hex.EncodeToString(h[:8])}, nil
}

// policyFile is the YAML form of a Policy.
type policyFile struct {
	Keys          []string          `yaml:"keys"`
	Annotations   map[string]string `yaml:"annotations"`
	Attestations  []attestationFile `yaml:"attestations"`
	Registries    []string          `yaml:"registries"`
	Repositories  []string          `yaml:"repositories"`
	RequireDigest bool              `yaml:"requireDigest"`
	OnError       string            `yaml:"onError"`
	Timeout       string            `yaml:"timeout"`
	CacheTTL      string            `yaml:"cacheTTL"`
	Report        reportFile        `yaml:"report"`
}

// reportFile is the policy's report section.
type reportFile struct {
	URL     string `yaml:"url"`
	Token   string `yaml:"token"`
	Cluster string `yaml:"cluster"`
	Timeout string `yaml:"timeout"`
}

type attestationFile struct {
	Type             string `yaml:"type"`
	OnError          string `yaml:"onError"`
	sign.PolicyRules `yaml:",inline"`
}

// LoadPolicy reads and checks a policy file; errors name the file and line.
// Relative key file names are relative to the policy file's folder.
func LoadPolicy(file string) (*Policy, error) {
	st, err := os.Stat(file)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if st.Size() > maxPolicySize {
		return nil, fmt.Errorf("policy %s: %d bytes, more than the %d allowed", file, st.Size(), maxPolicySize)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	p, err := ParsePolicy(b)
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", file, err)
	}
	// A relative key file is next to the policy, wherever bulwark runs.
	for i, k := range p.Keys {
		if !strings.Contains(k, "://") && !filepath.IsAbs(k) {
			p.Keys[i] = filepath.Join(filepath.Dir(file), k)
		}
	}
	return p, nil
}

// ParsePolicy parses and checks a policy file's content. Unknown keys,
// wrong types and bad values are errors that give the line.
func ParsePolicy(b []byte) (*Policy, error) {
	if len(b) > maxPolicySize {
		return nil, fmt.Errorf("%d bytes, more than the %d allowed", len(b), maxPolicySize)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	if len(root.Content) == 0 {
		return nil, errors.New("the policy is empty; see docs/admission.md for its keys")
	}
	var pf policyFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&pf); err != nil {
		return nil, fmt.Errorf("not a valid admission policy (keys: keys, annotations, attestations, registries, repositories, requireDigest, onError, timeout, cacheTTL, report): %w", err)
	}
	at := func(err error, keys ...any) error {
		if l := yamlpath.Line(&root, keys...); l > 0 {
			return fmt.Errorf("line %d: %w", l, err)
		}
		return err
	}
	h := sha256.Sum256(b)
	p := &Policy{Keys: pf.Keys, Annotations: pf.Annotations, RequireDigest: pf.RequireDigest, Version: hex.EncodeToString(h[:8])}
	for i, k := range pf.Keys {
		if strings.TrimSpace(k) == "" {
			return nil, at(errors.New("keys: an empty key reference"), "keys", i)
		}
	}
	var err error
	if p.OnError, err = parseOnError(pf.OnError, FailClosed); err != nil {
		return nil, at(err, "onError")
	}
	if p.Timeout, err = positive("timeout", pf.Timeout, DefaultTimeout); err != nil {
		return nil, at(err, "timeout")
	}
	if p.CacheTTL, err = positive("cacheTTL", pf.CacheTTL, DefaultCacheTTL); err != nil {
		return nil, at(err, "cacheTTL")
	}
	for i, r := range pf.Registries {
		reg, err := name.NewRegistry(r)
		if err != nil || strings.Contains(r, "/") {
			return nil, at(fmt.Errorf("registries: %q is not a registry host (host or host:port)", r), "registries", i)
		}
		p.Registries = append(p.Registries, reg.RegistryStr())
	}
	for i, r := range pf.Repositories {
		if _, err := path.Match(strings.TrimSuffix(r, "/**"), ""); err != nil || r == "" || !strings.Contains(r, "/") {
			return nil, at(fmt.Errorf("repositories: %q is not a repository pattern (registry/path, * within a segment, /** at the end)", r), "repositories", i)
		}
		p.Repositories = append(p.Repositories, r)
	}
	for i, a := range pf.Attestations {
		if a.Type == "" {
			return nil, at(errors.New("attestations: every rule needs a type (vuln, cyclonedx, spdx, slsaprovenance, ... or a URI)"), "attestations", i)
		}
		if _, err := sign.PredicateTypeURI(a.Type); err != nil {
			return nil, at(err, "attestations", i, "type")
		}
		rules, err := a.PolicyRules.Build()
		if err != nil {
			return nil, at(fmt.Errorf("attestations[%d]: %w", i, err), "attestations", i)
		}
		if rules != nil && a.Type != "vuln" {
			return nil, at(fmt.Errorf("attestations[%d]: maxAge, deny and failOn apply to vulnerability scans (type: vuln), not %s", i, a.Type), "attestations", i)
		}
		oe, err := parseOnError(a.OnError, p.OnError)
		if err != nil {
			return nil, at(err, "attestations", i, "onError")
		}
		p.Attestations = append(p.Attestations, Attestation{Type: a.Type, Rules: rules, OnError: oe})
	}
	if p.Report, p.Cluster, err = pf.Report.target(); err != nil {
		return nil, at(err, "report")
	}
	if len(p.Attestations) > 0 && len(p.Keys) == 0 {
		return nil, at(errors.New("attestations need keys: attestations are verified with the policy's keys"), "attestations")
	}
	if len(p.Keys) == 0 && len(p.Registries) == 0 && len(p.Repositories) == 0 && !p.RequireDigest {
		return nil, errors.New("the policy has no rule (keys, attestations, registries, repositories, requireDigest)")
	}
	return p, nil
}

// target checks the report section: an http(s) URL (the token, when not
// given, from BULWARK_REPORT_TOKEN).
func (r reportFile) target() (deployment.Target, string, error) {
	if r.URL == "" {
		if r != (reportFile{}) {
			return deployment.Target{}, "", errors.New("report: needs url (the bulwark server's address)")
		}
		return deployment.Target{}, "", nil
	}
	u, err := url.Parse(r.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return deployment.Target{}, "", fmt.Errorf("report.url: %q is not an http(s) URL", r.URL)
	}
	t := deployment.Target{URL: r.URL, Token: r.Token}
	if t.Token == "" {
		t.Token = os.Getenv("BULWARK_REPORT_TOKEN")
	}
	if t.Timeout, err = positive("report.timeout", r.Timeout, 3*time.Second); err != nil {
		return deployment.Target{}, "", err
	}
	cluster := r.Cluster
	if cluster == "" {
		cluster = "default"
	}
	if len(cluster) > deployment.MaxField {
		return deployment.Target{}, "", fmt.Errorf("report.cluster: longer than %d characters", deployment.MaxField)
	}
	return t, cluster, nil
}

func parseOnError(s string, def OnError) (OnError, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return def, nil
	case "deny", "fail-closed":
		return FailClosed, nil
	case "allow", "fail-open":
		return FailOpen, nil
	}
	return "", fmt.Errorf("onError %q: use deny (fail-closed) or allow (fail-open)", s)
}

func positive(key, s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s %q: give a positive duration such as 8s or 5m", key, s)
	}
	return d, nil
}

// allowedSource checks the registry and repository lists.
func (p *Policy) allowedSource(ref name.Reference) error {
	repo := ref.Context()
	if len(p.Registries) > 0 {
		ok := false
		for _, r := range p.Registries {
			ok = ok || r == repo.RegistryStr()
		}
		if !ok {
			return fmt.Errorf("registry %s is not allowed (registries: %s)", repo.RegistryStr(), strings.Join(p.Registries, ", "))
		}
	}
	if len(p.Repositories) > 0 {
		full := repo.Name()
		ok := false
		for _, pat := range p.Repositories {
			if prefix, deep := strings.CutSuffix(pat, "/**"); deep {
				m, _ := path.Match(prefix, full)
				ok = ok || m || matchPrefix(prefix, full)
				continue
			}
			m, _ := path.Match(pat, full)
			ok = ok || m
		}
		if !ok {
			return fmt.Errorf("repository %s is not allowed (repositories: %s)", full, strings.Join(p.Repositories, ", "))
		}
	}
	return nil
}

// matchPrefix reports whether some leading path segments of full match
// the pattern.
func matchPrefix(pattern, full string) bool {
	parts := strings.Split(full, "/")
	for i := 1; i < len(parts); i++ {
		if m, _ := path.Match(pattern, strings.Join(parts[:i], "/")); m {
			return true
		}
	}
	return false
}
