// Package npm finds JavaScript packages: installed ones from
// node_modules/**/package.json, and in source trees the lockfiles of npm
// (package-lock.json v1-v3), yarn (classic and berry) and pnpm.
package npm

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/bulwark-sec/bulwark/internal/inventory"
)

// maxFile bounds a package.json or lockfile.
const maxFile = 64 << 20

// Installed reads node_modules/<name>/package.json and
// node_modules/@scope/<name>/package.json.
type Installed struct{}

// Name implements inventory.Analyzer.
func (Installed) Name() string { return "npm-installed" }

// Version implements inventory.Analyzer.
func (Installed) Version() int { return 1 }

// Modes implements inventory.Analyzer.
func (Installed) Modes() inventory.Mode { return inventory.ModeImage | inventory.ModeTree }

// Want implements inventory.Analyzer.
func (Installed) Want(p string, size int64, _ fs.FileMode) bool {
	rest, ok := strings.CutSuffix(p, "/package.json")
	if !ok || size > maxFile {
		return false
	}
	i := strings.LastIndex(rest, "node_modules/")
	if i < 0 || (i > 0 && rest[i-1] != '/') {
		return false
	}
	name := rest[i+len("node_modules/"):]
	switch strings.Count(name, "/") {
	case 0:
		return name != "" && name[0] != '.'
	case 1:
		return name[0] == '@'
	}
	return false
}

// packageJSON is the part of package.json we read.
type packageJSON struct {
	Name     string          `json:"name"`
	Version  string          `json:"version"`
	License  json.RawMessage `json:"license"`
	Licenses json.RawMessage `json:"licenses"`
	Private  bool            `json:"private"`
}

// Analyze implements inventory.Analyzer.
func (Installed) Analyze(_ context.Context, f *inventory.File) (*inventory.Result, error) {
	b, err := inventory.ReadLimited(f.R, maxFile)
	if err != nil {
		return nil, err
	}
	p, err := ParsePackageJSON(b)
	if err != nil || p == nil {
		return nil, err
	}
	return &inventory.Result{Packages: []inventory.Package{*p}}, nil
}

// ParsePackageJSON reads an installed package's package.json; it returns
// nil for one without a name or version (a workspace or a fixture).
func ParsePackageJSON(b []byte) (*inventory.Package, error) {
	var pj packageJSON
	if err := json.Unmarshal(b, &pj); err != nil {
		return nil, fmt.Errorf("not valid JSON: %v", err)
	}
	if pj.Name == "" || pj.Version == "" {
		return nil, nil
	}
	return &inventory.Package{Name: pj.Name, Version: pj.Version, Ecosystem: inventory.NPM, Kind: inventory.KindLang,
		Licenses: licenses(pj.License, pj.Licenses)}, nil
}

// licenses reads "license": "MIT", "license": {"type": "MIT"} and the old
// "licenses": [{"type": "MIT"}, ...].
func licenses(one, many json.RawMessage) []string {
	var out []string
	add := func(raw json.RawMessage) {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			if s != "" {
				out = append(out, s)
			}
			return
		}
		var o struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(raw, &o) == nil && o.Type != "" {
			out = append(out, o.Type)
		}
	}
	if len(one) > 0 {
		add(one)
	}
	var list []json.RawMessage
	if len(many) > 0 && json.Unmarshal(many, &list) == nil {
		for _, l := range list {
			add(l)
		}
	}
	return out
}

// Lockfiles reads package-lock.json, yarn.lock and pnpm-lock.yaml in
// source trees.
type Lockfiles struct{}

// Name implements inventory.Analyzer.
func (Lockfiles) Name() string { return "npm-lock" }

// Version implements inventory.Analyzer.
func (Lockfiles) Version() int { return 1 }

// Modes implements inventory.Analyzer.
func (Lockfiles) Modes() inventory.Mode { return inventory.ModeTree }

// Want implements inventory.Analyzer.
func (Lockfiles) Want(p string, size int64, _ fs.FileMode) bool {
	if size > maxFile || inventory.HasDirPart(p, "node_modules") {
		return false
	}
	switch inventory.Base(p) {
	case "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml":
		return true
	}
	return false
}

// Analyze implements inventory.Analyzer.
func (Lockfiles) Analyze(_ context.Context, f *inventory.File) (*inventory.Result, error) {
	b, err := inventory.ReadLimited(f.R, maxFile)
	if err != nil {
		return nil, err
	}
	var pkgs []inventory.Package
	var warnings []string
	switch inventory.Base(f.Path) {
	case "yarn.lock":
		pkgs, warnings = ParseYarnLock(b, f.Path)
	case "pnpm-lock.yaml":
		pkgs, err = ParsePnpmLock(b)
	default:
		pkgs, err = ParsePackageLock(b)
	}
	if err != nil {
		return nil, err
	}
	return &inventory.Result{Packages: pkgs, Warnings: warnings}, nil
}

type lockDep struct {
	Version      string              `json:"version"`
	Dev          bool                `json:"dev"`
	Link         bool                `json:"link"`
	Dependencies map[string]*lockDep `json:"dependencies"`
	Name         string              `json:"name"`
	License      json.RawMessage     `json:"license"`
}

// ParsePackageLock reads package-lock.json: the "packages" map of
// lockfileVersion 2 and 3 (keyed by node_modules path), else the nested
// "dependencies" of version 1.
func ParsePackageLock(b []byte) ([]inventory.Package, error) {
	var lock struct {
		LockfileVersion int                 `json:"lockfileVersion"`
		Packages        map[string]*lockDep `json:"packages"`
		Dependencies    map[string]*lockDep `json:"dependencies"`
	}
	if err := json.Unmarshal(b, &lock); err != nil {
		return nil, fmt.Errorf("not valid JSON: %v", err)
	}
	var pkgs []inventory.Package
	add := func(name string, d *lockDep) {
		if d == nil || d.Link || name == "" || d.Version == "" || strings.Contains(d.Version, ":") {
			// Links are workspace packages; "file:", "git+..." versions
			// name no registry release.
			return
		}
		pkgs = append(pkgs, inventory.Package{Name: name, Version: d.Version, Ecosystem: inventory.NPM, Kind: inventory.KindLang,
			Dev: d.Dev, Licenses: licenses(d.License, nil)})
	}
	if len(lock.Packages) > 0 {
		for key, d := range lock.Packages {
			i := strings.LastIndex(key, "node_modules/")
			if i < 0 {
				continue // the root project or a workspace folder
			}
			name := key[i+len("node_modules/"):]
			if d != nil && d.Name != "" {
				name = d.Name
			}
			add(name, d)
		}
		return pkgs, nil
	}
	var walk func(deps map[string]*lockDep, depth int)
	walk = func(deps map[string]*lockDep, depth int) {
		if depth > 64 {
			return
		}
		for name, d := range deps {
			add(name, d)
			if d != nil {
				walk(d.Dependencies, depth+1)
			}
		}
	}
	walk(lock.Dependencies, 0)
	return pkgs, nil
}

// ParseYarnLock reads yarn.lock, classic (v1) or berry (YAML): every entry
// header names the package, its "version" line the version.
func ParseYarnLock(b []byte, name string) ([]inventory.Package, []string) {
	var pkgs []inventory.Package
	var warnings []string
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	cur, header, line := "", 0, 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if text == "" || text[0] == '#' {
			continue
		}
		if text[0] != ' ' {
			cur, header = "", line
			if strings.HasSuffix(text, ":") {
				cur = yarnName(strings.TrimSuffix(text, ":"))
				if cur == "" && !strings.HasPrefix(text, "__metadata") {
					warnings = append(warnings, fmt.Sprintf("%s: entry at line %d skipped: cannot tell the package name", name, line))
				}
			}
			continue
		}
		t := strings.TrimSpace(text)
		if cur == "" || !strings.HasPrefix(t, "version") {
			continue
		}
		v := strings.TrimSpace(strings.TrimPrefix(t, "version"))
		v = strings.Trim(strings.TrimSpace(strings.TrimPrefix(v, ":")), `"'`)
		if v == "" || strings.ContainsAny(v, " \t") {
			warnings = append(warnings, fmt.Sprintf("%s: entry at line %d skipped: malformed version", name, header))
		} else if !strings.HasPrefix(v, "0.0.0-use.local") {
			pkgs = append(pkgs, inventory.Package{Name: cur, Version: v, Ecosystem: inventory.NPM, Kind: inventory.KindLang})
		}
		cur = ""
	}
	return pkgs, warnings
}

// yarnName takes the package name from an entry header such as
// `"@babel/core@^7.0.0", "@babel/core@npm:^7.1.0"`; "" for workspaces and
// links.
func yarnName(h string) string {
	first, _, _ := strings.Cut(h, ",")
	first = strings.Trim(strings.TrimSpace(first), `"'`)
	i := strings.Index(first[min(1, len(first)):], "@")
	if i < 0 {
		return ""
	}
	i++
	name, spec := first[:i], first[i+1:]
	if strings.HasPrefix(spec, "workspace:") || strings.HasPrefix(spec, "link:") || strings.HasPrefix(spec, "portal:") || strings.HasPrefix(spec, "file:") {
		return ""
	}
	return name
}

// ParsePnpmLock reads pnpm-lock.yaml of lockfile versions 5 to 9: the keys
// of "packages" ("/name/1.0.0", "/name@1.0.0(peer)", "name@1.0.0").
func ParsePnpmLock(b []byte) ([]inventory.Package, error) {
	var lock struct {
		Packages map[string]struct {
			Name    string `yaml:"name"`
			Version string `yaml:"version"`
			Dev     bool   `yaml:"dev"`
		} `yaml:"packages"`
	}
	if err := yaml.Unmarshal(b, &lock); err != nil {
		return nil, fmt.Errorf("not valid YAML: %v", err)
	}
	var pkgs []inventory.Package
	for key, p := range lock.Packages {
		name, version := pnpmKey(key)
		if p.Name != "" && p.Version != "" {
			name, version = p.Name, p.Version
		}
		if name == "" || version == "" {
			continue
		}
		pkgs = append(pkgs, inventory.Package{Name: name, Version: version, Ecosystem: inventory.NPM, Kind: inventory.KindLang, Dev: p.Dev})
	}
	return pkgs, nil
}

func pnpmKey(k string) (string, string) {
	k = strings.TrimPrefix(k, "/")
	if i := strings.Index(k, "("); i > 0 {
		k = k[:i]
	}
	// Version 5: "name/1.0.0" or "@scope/name/1.0.0", peers after "_".
	parts := strings.Split(k, "/")
	if n := len(parts); parts[0] != "" && (n == 2 && parts[0][0] != '@' || n == 3 && parts[0][0] == '@') && parts[n-1] != "" && parts[n-1][0] >= '0' && parts[n-1][0] <= '9' {
		v, _, _ := strings.Cut(parts[n-1], "_")
		return strings.Join(parts[:n-1], "/"), v
	}
	// Version 6 and later: "name@1.0.0", "@scope/name@1.0.0".
	if i := strings.LastIndex(k, "@"); i > 0 {
		return k[:i], k[i+1:]
	}
	return "", ""
}
