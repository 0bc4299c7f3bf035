// Package host checks a root file system against a CIS host benchmark
// profile: checks as data (one YAML profile per distribution, embedded),
// judged from files alone by a small set of evaluators. A check that needs
// a running system is reported as not checked, never as passed.
package host

import (
	"embed"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/bulwark-sec/bulwark/internal/finding"
)

//go:embed profiles/*.yaml
var profileFiles embed.FS

// Profile is one benchmark: its checks, each with its section number.
type Profile struct {
	// ID names the profile on the command line (debian-12).
	ID string `yaml:"id"`
	// Title and Version name the benchmark it follows.
	Title   string `yaml:"title"`
	Version string `yaml:"version"`
	// OS is the os-release ID and VERSION_IDs it applies to.
	OS struct {
		ID       string   `yaml:"id"`
		Versions []string `yaml:"versions"`
	} `yaml:"os"`
	// Extends names a profile whose checks this one starts from;
	// Sections renumbers them, Drop removes some, Checks adds or replaces.
	Extends  string            `yaml:"extends"`
	Sections map[string]string `yaml:"sections"`
	Drop     []string          `yaml:"drop"`
	Checks   []Check           `yaml:"checks"`
}

// Check is one benchmark recommendation and how to judge it.
type Check struct {
	// ID is bulwark's stable name for the check (sshd-permit-root-login),
	// the same in every profile.
	ID string `yaml:"id"`
	// Section is the CIS section number in this profile's benchmark.
	Section string `yaml:"section"`
	Title   string `yaml:"title"`
	// Level is the CIS profile level, 1 or 2.
	Level int `yaml:"level"`
	// Severity is the finding's severity when the check fails (default:
	// medium for level 1, low for level 2).
	Severity string `yaml:"severity"`
	// Kind names the evaluator; the fields below are its parameters.
	Kind string `yaml:"kind"`
	// Reason says why a "manual" check cannot be judged from files.
	Reason string `yaml:"reason"`

	Path       string   `yaml:"path"`
	Paths      []string `yaml:"paths"`
	Regex      string   `yaml:"regex"`
	Absent     bool     `yaml:"absent"`
	Mode       string   `yaml:"mode"`
	Owner      string   `yaml:"owner"`
	Group      string   `yaml:"group"`
	Missing    string   `yaml:"missing"`
	Key        string   `yaml:"key"`
	Op         string   `yaml:"op"`
	Value      string   `yaml:"value"`
	Values     []string `yaml:"values"`
	Format     string   `yaml:"format"`
	IniSection string   `yaml:"ini_section"`
	Module     string   `yaml:"module"`
	Packages   []string `yaml:"packages"`
	Services   []string `yaml:"services"`
	Mount      string   `yaml:"mount"`
	Options    []string `yaml:"options"`
	Type       string   `yaml:"type"`
	Args       []string `yaml:"args"`
	Rules      []string `yaml:"rules"`
	Test       string   `yaml:"test"`
	// Default is the value that applies when no file sets Key.
	Default string `yaml:"default"`
	// Conf names the configuration files a PAM module also reads its
	// options from (faillock.conf, pwquality.conf).
	Conf []string `yaml:"conf"`
}

// SeverityValue is the severity of a failure of the check.
func (c *Check) SeverityValue() finding.Severity {
	if s, err := finding.ParseSeverity(c.Severity); err == nil && c.Severity != "" {
		return s
	}
	if c.Level >= 2 {
		return finding.Low
	}
	return finding.Medium
}

// Profiles returns every embedded profile, sorted by ID. They are parsed
// once; callers must not change them.
func Profiles() ([]*Profile, error) {
	loadOnce.Do(func() { loaded, loadErr = loadProfiles() })
	return loaded, loadErr
}

var (
	loadOnce sync.Once
	loaded   []*Profile
	loadErr  error
)

func loadProfiles() ([]*Profile, error) {
	ents, err := profileFiles.ReadDir("profiles")
	if err != nil {
		return nil, err
	}
	raw := map[string]*Profile{}
	var ids []string
	for _, e := range ents {
		b, err := profileFiles.ReadFile(path.Join("profiles", e.Name()))
		if err != nil {
			return nil, err
		}
		p, err := ParseProfile(b)
		if err != nil {
			return nil, fmt.Errorf("profile %s: %w", e.Name(), err)
		}
		raw[p.ID] = p
		ids = append(ids, p.ID)
	}
	sort.Strings(ids)
	var out []*Profile
	for _, id := range ids {
		p, err := resolve(raw, id, 0)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// ParseProfile reads one profile file and checks that every check names
// a known evaluator with the parameters it needs.
func ParseProfile(b []byte) (*Profile, error) {
	var p Profile
	if err := yaml.Unmarshal(b, &p); err != nil {
		return nil, err
	}
	if p.ID == "" {
		return nil, fmt.Errorf("no id")
	}
	seen := map[string]bool{}
	for i := range p.Checks {
		c := &p.Checks[i]
		if c.ID == "" {
			return nil, fmt.Errorf("check %d has no id", i)
		}
		if seen[c.ID] {
			return nil, fmt.Errorf("check %s is listed twice", c.ID)
		}
		seen[c.ID] = true
		if err := validate(c); err != nil {
			return nil, fmt.Errorf("check %s: %w", c.ID, err)
		}
	}
	return &p, nil
}

func resolve(raw map[string]*Profile, id string, depth int) (*Profile, error) {
	p := raw[id]
	if p == nil {
		return nil, fmt.Errorf("no profile %q", id)
	}
	if p.Extends == "" {
		return p, nil
	}
	if depth > 4 {
		return nil, fmt.Errorf("profile %s: extends loops", id)
	}
	base, err := resolve(raw, p.Extends, depth+1)
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", id, err)
	}
	out := *p
	out.Extends, out.Checks = "", nil
	drop := map[string]bool{}
	for _, d := range p.Drop {
		drop[d] = true
	}
	own := map[string]Check{}
	for _, c := range p.Checks {
		own[c.ID] = c
	}
	for _, c := range base.Checks {
		if drop[c.ID] {
			continue
		}
		if o, ok := own[c.ID]; ok {
			c = o
			delete(own, c.ID)
		} else if s, ok := p.Sections[c.ID]; ok {
			c.Section = s
		}
		out.Checks = append(out.Checks, c)
	}
	for _, c := range p.Checks {
		if _, ok := own[c.ID]; ok {
			out.Checks = append(out.Checks, c)
		}
	}
	for id := range p.Sections {
		if _, ok := raw[p.Extends]; ok && !hasCheck(out.Checks, id) {
			return nil, fmt.Errorf("profile %s: sections names %s, which %s does not have", p.ID, id, p.Extends)
		}
	}
	return &out, nil
}

func hasCheck(cs []Check, id string) bool {
	for _, c := range cs {
		if c.ID == id {
			return true
		}
	}
	return false
}

// Lookup returns the embedded profile with the given ID.
func Lookup(id string) (*Profile, error) {
	ps, err := Profiles()
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, p := range ps {
		if p.ID == id {
			return p, nil
		}
		ids = append(ids, p.ID)
	}
	return nil, fmt.Errorf("no host profile %q (have %s)", id, strings.Join(ids, ", "))
}

// Select returns the profile for the operating system os-release names,
// or nil when there is none.
func Select(osID, version string) (*Profile, error) {
	ps, err := Profiles()
	if err != nil {
		return nil, err
	}
	major, _, _ := strings.Cut(version, ".")
	for _, p := range ps {
		if p.OS.ID != osID {
			continue
		}
		for _, v := range p.OS.Versions {
			if v == version || v == major {
				return p, nil
			}
		}
	}
	return nil, nil
}
