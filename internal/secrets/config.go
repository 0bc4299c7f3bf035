package secrets

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/bulwark-sec/bulwark/internal/finding"
)

// Allowlist says what is not a finding: paths not to scan, rules not to
// report, secrets matching a regex, and exact fingerprints.
type Allowlist struct {
	// Source names the file the allowlist came from.
	Source string
	// Paths are regexes on the slash-separated path; matching files are
	// not scanned.
	Paths []*regexp.Regexp
	// Rules are rule IDs whose findings are suppressed.
	Rules map[string]bool
	// Regexes are regexes on the secret; a matching finding is suppressed.
	Regexes []*regexp.Regexp
	// Stopwords are case-insensitive words; a secret containing one is suppressed.
	Stopwords []string
	// Fingerprints are finding fingerprints to suppress.
	Fingerprints map[string]bool
	// Commits are git commit hashes (or prefixes of 7+ characters) whose
	// findings are suppressed.
	Commits []string
}

// allowlistFile is the YAML form of an Allowlist.
type allowlistFile struct {
	Paths        []string `yaml:"paths"`
	Rules        []string `yaml:"rules"`
	Regexes      []string `yaml:"regexes"`
	Stopwords    []string `yaml:"stopwords"`
	Fingerprints []string `yaml:"fingerprints"`
	Commits      []string `yaml:"commits"`
}

func (af *allowlistFile) compile(source string) (*Allowlist, error) {
	a := &Allowlist{Source: source, Rules: map[string]bool{}, Fingerprints: map[string]bool{}}
	for _, p := range af.Paths {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("paths: %q: %w", p, err)
		}
		a.Paths = append(a.Paths, re)
	}
	for _, p := range af.Regexes {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("regexes: %q: %w", p, err)
		}
		a.Regexes = append(a.Regexes, re)
	}
	for _, r := range af.Rules {
		a.Rules[strings.TrimSpace(r)] = true
	}
	for _, f := range af.Fingerprints {
		a.Fingerprints[strings.TrimSpace(f)] = true
	}
	for _, w := range af.Stopwords {
		if w = strings.ToLower(strings.TrimSpace(w)); w != "" {
			a.Stopwords = append(a.Stopwords, w)
		}
	}
	for _, c := range af.Commits {
		if c = strings.ToLower(strings.TrimSpace(c)); c != "" {
			a.Commits = append(a.Commits, c)
		}
	}
	return a, nil
}

// ParseAllowlist parses an allowlist in YAML:
//
//	paths: ['^vendor/', '_test\.go$']   # regexes on the path: not scanned
//	rules: [generic-password]           # rule IDs: suppressed
//	regexes: ['^AKIA.{12}TEST']         # regexes on the secret: suppressed
//	stopwords: [dummy]                  # words in the secret: suppressed
//	fingerprints: [3f2a...]             # exact finding fingerprints: suppressed
//	commits: [1a2b3c4d]                 # git commits: suppressed
func ParseAllowlist(data []byte, source string) (*Allowlist, error) {
	var af allowlistFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&af); err != nil && err.Error() != "EOF" {
		return nil, fmt.Errorf("allowlist %q: %w", source, err)
	}
	a, err := af.compile(source)
	if err != nil {
		return nil, fmt.Errorf("allowlist %q: %w", source, err)
	}
	return a, nil
}

// LoadAllowlist reads an allowlist file.
func LoadAllowlist(file string) (*Allowlist, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("allowlist: %w", err)
	}
	return ParseAllowlist(data, file)
}

// Merge adds the entries of b to a and returns a (or b when a is nil).
func (a *Allowlist) Merge(b *Allowlist) *Allowlist {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	a.Paths = append(a.Paths, b.Paths...)
	a.Regexes = append(a.Regexes, b.Regexes...)
	a.Stopwords = append(a.Stopwords, b.Stopwords...)
	a.Commits = append(a.Commits, b.Commits...)
	for k := range b.Rules {
		a.Rules[k] = true
	}
	for k := range b.Fingerprints {
		a.Fingerprints[k] = true
	}
	if b.Source != "" && !strings.Contains(a.Source, b.Source) {
		a.Source = strings.TrimPrefix(a.Source+", "+b.Source, ", ")
	}
	return a
}

func (a *Allowlist) matchPath(p string) bool {
	for _, re := range a.Paths {
		if re.MatchString(p) {
			return true
		}
	}
	return false
}

// suppresses says whether the allowlist suppresses a finding, and why.
func (a *Allowlist) suppresses(f *finding.Finding, secret string) (string, bool) {
	if a.Rules[f.ID] {
		return "rule " + f.ID + " is allowlisted", true
	}
	if a.Fingerprints[f.Fingerprint] {
		return "fingerprint is allowlisted", true
	}
	for _, re := range a.Regexes {
		if re.MatchString(secret) {
			return "secret matches allowlisted regex " + re.String(), true
		}
	}
	lower := strings.ToLower(secret)
	for _, w := range a.Stopwords {
		if strings.Contains(lower, w) {
			return "secret contains stopword " + w, true
		}
	}
	if f.Secret != nil && f.Secret.Commit != "" {
		for _, c := range a.Commits {
			if len(c) >= 7 && strings.HasPrefix(f.Secret.Commit, c) {
				return "commit is allowlisted", true
			}
		}
	}
	return "", false
}

// Baseline is the set of fingerprints of findings known before the gate
// was adopted; they are suppressed so that only new secrets fail it.
type Baseline struct {
	// Source names the baseline file.
	Source       string
	fingerprints map[string]bool
}

func (b *Baseline) has(fp string) bool { return b.fingerprints[fp] }

// Len returns how many fingerprints the baseline holds.
func (b *Baseline) Len() int { return len(b.fingerprints) }

// ParseBaseline reads a baseline: a bulwark JSON report (the findings'
// fingerprints are taken, suppressed or not), a JSON array of fingerprint
// strings, or a text file with one fingerprint a line ('#' comments).
func ParseBaseline(data []byte, source string) (*Baseline, error) {
	b := &Baseline{Source: source, fingerprints: map[string]bool{}}
	trimmed := bytes.TrimSpace(data)
	switch {
	case len(trimmed) == 0:
	case trimmed[0] == '{':
		var rep struct {
			Findings []struct {
				Fingerprint string `json:"fingerprint"`
			} `json:"findings"`
		}
		if err := json.Unmarshal(trimmed, &rep); err != nil {
			return nil, fmt.Errorf("baseline %q: not a bulwark JSON report: %w", source, err)
		}
		for _, f := range rep.Findings {
			if f.Fingerprint != "" {
				b.fingerprints[f.Fingerprint] = true
			}
		}
	case trimmed[0] == '[':
		var list []string
		if err := json.Unmarshal(trimmed, &list); err != nil {
			return nil, fmt.Errorf("baseline %q: want a JSON array of fingerprint strings: %w", source, err)
		}
		for _, f := range list {
			b.fingerprints[strings.TrimSpace(f)] = true
		}
	default:
		for i, line := range strings.Split(string(trimmed), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if strings.ContainsAny(line, " \t") {
				return nil, fmt.Errorf("baseline %q: line %d: want one fingerprint a line, got %q", source, i+1, truncate(line, 60))
			}
			b.fingerprints[line] = true
		}
	}
	return b, nil
}

// LoadBaseline reads a baseline file.
func LoadBaseline(file string) (*Baseline, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	return ParseBaseline(data, file)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// Config is a rules file: custom rules, whether the built-in rules stay,
// rules to turn off, and an allowlist.
type Config struct {
	// Rules are the custom rules.
	Rules []*Rule
	// UseDefault keeps the built-in rules next to the custom ones.
	UseDefault bool
	// Disabled lists rule IDs to turn off.
	Disabled []string
	// Allowlist is the config's allowlist, if any.
	Allowlist *Allowlist
	// Warnings say what of the file was not used.
	Warnings []string
}

// configFile is the YAML form of a Config.
type configFile struct {
	UseDefault    *bool          `yaml:"useDefault"`
	DisabledRules []string       `yaml:"disabledRules"`
	Rules         []ruleFile     `yaml:"rules"`
	Allowlist     *allowlistFile `yaml:"allowlist"`
}

type ruleFile struct {
	ID          string   `yaml:"id"`
	Title       string   `yaml:"title"`
	Severity    string   `yaml:"severity"`
	Keywords    []string `yaml:"keywords"`
	Regex       string   `yaml:"regex"`
	SecretGroup int      `yaml:"secretGroup"`
	Entropy     float64  `yaml:"entropy"`
	Multiline   bool     `yaml:"multiline"`
	Path        string   `yaml:"path"`
	Allow       []string `yaml:"allow"`
	Stopwords   []string `yaml:"stopwords"`
	Fix         string   `yaml:"fix"`
}

// ParseConfig parses a YAML rules file (see docs/secrets.md):
//
//	useDefault: true          # keep the built-in rules (default true)
//	disabledRules: [jwt]
//	rules:
//	  - id: acme-api-key
//	    title: ACME API key
//	    severity: high
//	    keywords: [acme_]
//	    regex: '\b(acme_[a-z0-9]{32})\b'
//	    entropy: 3.5
//	allowlist: {paths: ['^testdata/']}
func ParseConfig(data []byte, source string) (*Config, error) {
	var cf configFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cf); err != nil && err.Error() != "EOF" {
		return nil, fmt.Errorf("config %q: %w", source, err)
	}
	c := &Config{UseDefault: cf.UseDefault == nil || *cf.UseDefault, Disabled: cf.DisabledRules}
	for i, rf := range cf.Rules {
		r, err := rf.compile()
		if err != nil {
			return nil, fmt.Errorf("config %q: rule %d: %w", source, i+1, err)
		}
		c.Rules = append(c.Rules, r)
	}
	if cf.Allowlist != nil {
		a, err := cf.Allowlist.compile(source)
		if err != nil {
			return nil, fmt.Errorf("config %q: allowlist: %w", source, err)
		}
		c.Allowlist = a
	}
	return c, nil
}

func (rf *ruleFile) compile() (*Rule, error) {
	if rf.ID == "" {
		return nil, fmt.Errorf("no id")
	}
	if rf.Regex == "" {
		return nil, fmt.Errorf("rule %q: no regex", rf.ID)
	}
	re, err := regexp.Compile(rf.Regex)
	if err != nil {
		return nil, fmt.Errorf("rule %q: regex: %w", rf.ID, err)
	}
	sev := finding.High
	if rf.Severity != "" {
		if sev, err = finding.ParseSeverity(rf.Severity); err != nil {
			return nil, fmt.Errorf("rule %q: %w", rf.ID, err)
		}
	}
	r := &Rule{ID: rf.ID, Title: rf.Title, Severity: sev, Keywords: rf.Keywords, Regex: re,
		SecretGroup: rf.SecretGroup, MinEntropy: rf.Entropy, Multiline: rf.Multiline, Fix: rf.Fix}
	if r.Title == "" {
		r.Title = rf.ID
	}
	if rf.Path != "" {
		if r.Paths, err = regexp.Compile(rf.Path); err != nil {
			return nil, fmt.Errorf("rule %q: path: %w", rf.ID, err)
		}
	}
	for _, a := range rf.Allow {
		re, err := regexp.Compile(a)
		if err != nil {
			return nil, fmt.Errorf("rule %q: allow: %w", rf.ID, err)
		}
		r.Allow = append(r.Allow, re)
	}
	for _, w := range rf.Stopwords {
		r.Stopwords = append(r.Stopwords, strings.ToLower(w))
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	return r, nil
}

// LoadConfig reads a rules file: YAML, or a gitleaks TOML config when the
// name ends in .toml.
func LoadConfig(file string) (*Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if strings.EqualFold(filepath.Ext(file), ".toml") {
		return ParseGitleaksConfig(data, file)
	}
	return ParseConfig(data, file)
}

// Engine compiles the config's rules, with the built-in ones if it keeps
// them, less the disabled ones. A custom rule replaces a built-in rule of
// the same ID.
func (c *Config) Engine() (*Engine, error) {
	var rules []*Rule
	custom := map[string]bool{}
	for _, r := range c.Rules {
		custom[r.ID] = true
	}
	if c.UseDefault {
		for _, r := range Builtin() {
			if !custom[r.ID] {
				rules = append(rules, r)
			}
		}
	}
	rules = append(rules, c.Rules...)
	return NewEngine(Without(rules, c.Disabled))
}

// Without returns the rules whose IDs are not listed.
func Without(rules []*Rule, ids []string) []*Rule {
	if len(ids) == 0 {
		return rules
	}
	off := map[string]bool{}
	for _, id := range ids {
		off[strings.TrimSpace(id)] = true
	}
	var out []*Rule
	for _, r := range rules {
		if !off[r.ID] {
			out = append(out, r)
		}
	}
	return out
}
