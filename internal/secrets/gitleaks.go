package secrets

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/bulwark-sec/bulwark/internal/finding"
)

// gitleaksConfig is the part of a gitleaks (v8) TOML config bulwark uses.
type gitleaksConfig struct {
	Title  string `toml:"title"`
	Extend struct {
		UseDefault    bool     `toml:"useDefault"`
		Path          string   `toml:"path"`
		DisabledRules []string `toml:"disabledRules"`
	} `toml:"extend"`
	Rules      []gitleaksRule      `toml:"rules"`
	Allowlist  *gitleaksAllowlist  `toml:"allowlist"`
	Allowlists []gitleaksAllowlist `toml:"allowlists"`
}

type gitleaksRule struct {
	ID          string              `toml:"id"`
	Description string              `toml:"description"`
	Regex       string              `toml:"regex"`
	SecretGroup int                 `toml:"secretGroup"`
	Entropy     float64             `toml:"entropy"`
	Keywords    []string            `toml:"keywords"`
	Path        string              `toml:"path"`
	Tags        []string            `toml:"tags"`
	Allowlist   *gitleaksAllowlist  `toml:"allowlist"`
	Allowlists  []gitleaksAllowlist `toml:"allowlists"`
}

type gitleaksAllowlist struct {
	Description string   `toml:"description"`
	Condition   string   `toml:"condition"`
	Commits     []string `toml:"commits"`
	Paths       []string `toml:"paths"`
	RegexTarget string   `toml:"regexTarget"`
	Regexes     []string `toml:"regexes"`
	Stopwords   []string `toml:"stopwords"`
	Targetrules []string `toml:"targetRules"`
}

// ParseGitleaksConfig imports a gitleaks v8 TOML config: its rules become
// bulwark rules (severity high, the description as title), its global
// allowlists become the config's allowlist. As in gitleaks, the file's
// rules replace the built-in ones unless [extend] useDefault = true.
// What cannot be carried over (path-only rules, per-rule path or commit
// allowlists, an extend path) is listed in Config.Warnings.
func ParseGitleaksConfig(data []byte, source string) (*Config, error) {
	var gc gitleaksConfig
	md, err := toml.Decode(string(data), &gc)
	if err != nil {
		return nil, fmt.Errorf("gitleaks config %q: %w", source, err)
	}
	c := &Config{UseDefault: gc.Extend.UseDefault, Disabled: gc.Extend.DisabledRules}
	for _, k := range md.Undecoded() {
		c.Warnings = append(c.Warnings, fmt.Sprintf("gitleaks config %q: %s is not used", source, k))
	}
	if gc.Extend.Path != "" {
		c.Warnings = append(c.Warnings, fmt.Sprintf("gitleaks config %q: [extend] path %q is not followed; import that file too", source, gc.Extend.Path))
	}
	seen := map[string]bool{}
	for i, gr := range gc.Rules {
		if gr.ID == "" {
			return nil, fmt.Errorf("gitleaks config %q: rule %d has no id", source, i+1)
		}
		if seen[gr.ID] {
			return nil, fmt.Errorf("gitleaks config %q: rule %q is defined twice", source, gr.ID)
		}
		seen[gr.ID] = true
		if gr.Regex == "" {
			c.Warnings = append(c.Warnings, fmt.Sprintf("gitleaks config %q: rule %q matches file paths only; bulwark rules match content, so it is skipped", source, gr.ID))
			continue
		}
		re, err := regexp.Compile(gr.Regex)
		if err != nil {
			return nil, fmt.Errorf("gitleaks config %q: rule %q: regex: %w", source, gr.ID, err)
		}
		r := &Rule{ID: gr.ID, Title: gr.Description, Severity: finding.High, Regex: re,
			SecretGroup: gr.SecretGroup, MinEntropy: gr.Entropy, Keywords: gr.Keywords,
			Multiline: strings.Contains(gr.Regex, `\n`) || strings.Contains(gr.Regex, "(?s")}
		if r.Title == "" {
			r.Title = gr.ID
		}
		if gr.Path != "" {
			if r.Paths, err = regexp.Compile(gr.Path); err != nil {
				return nil, fmt.Errorf("gitleaks config %q: rule %q: path: %w", source, gr.ID, err)
			}
		}
		als := gr.Allowlists
		if gr.Allowlist != nil {
			als = append(als, *gr.Allowlist)
		}
		for _, al := range als {
			for _, p := range al.Regexes {
				re, err := regexp.Compile(p)
				if err != nil {
					return nil, fmt.Errorf("gitleaks config %q: rule %q: allowlist regex: %w", source, gr.ID, err)
				}
				r.Allow = append(r.Allow, re)
			}
			for _, w := range al.Stopwords {
				r.Stopwords = append(r.Stopwords, strings.ToLower(w))
			}
			if len(al.Paths) > 0 || len(al.Commits) > 0 || al.RegexTarget != "" && al.RegexTarget != "secret" {
				c.Warnings = append(c.Warnings, fmt.Sprintf("gitleaks config %q: rule %q: allowlist paths, commits and regexTarget %q are not carried over", source, gr.ID, al.RegexTarget))
			}
		}
		if err := r.check(); err != nil {
			return nil, fmt.Errorf("gitleaks config %q: %w", source, err)
		}
		c.Rules = append(c.Rules, r)
	}
	globals := gc.Allowlists
	if gc.Allowlist != nil {
		globals = append(globals, *gc.Allowlist)
	}
	for _, al := range globals {
		af := allowlistFile{Paths: al.Paths, Regexes: al.Regexes, Stopwords: al.Stopwords, Commits: al.Commits}
		if len(al.Targetrules) > 0 {
			c.Warnings = append(c.Warnings, fmt.Sprintf("gitleaks config %q: a global allowlist's targetRules are not carried over; it applies to every rule", source))
		}
		a, err := af.compile(source)
		if err != nil {
			return nil, fmt.Errorf("gitleaks config %q: allowlist: %w", source, err)
		}
		c.Allowlist = c.Allowlist.Merge(a)
	}
	return c, nil
}
