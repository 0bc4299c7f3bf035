// Package python finds Python packages: installed distributions from
// *.dist-info/METADATA and *.egg-info (PKG-INFO), and in source trees
// requirements*.txt (pinned lines), poetry.lock, Pipfile.lock and uv.lock.
package python

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/textproto"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/bulwark-sec/bulwark/internal/inventory"
)

const (
	maxMetadata = 8 << 20
	maxLock     = 64 << 20
)

// Installed reads the metadata of installed distributions.
type Installed struct{}

// Name implements inventory.Analyzer.
func (Installed) Name() string { return "python-installed" }

// Version implements inventory.Analyzer.
func (Installed) Version() int { return 1 }

// Modes implements inventory.Analyzer.
func (Installed) Modes() inventory.Mode { return inventory.ModeImage | inventory.ModeTree }

// Want implements inventory.Analyzer.
func (Installed) Want(p string, size int64, _ fs.FileMode) bool {
	if size > maxMetadata {
		return false
	}
	dir, base := splitDir(p)
	switch {
	case base == "METADATA":
		return strings.HasSuffix(dir, ".dist-info")
	case base == "PKG-INFO":
		return strings.HasSuffix(dir, ".egg-info") || strings.HasSuffix(dir, "/EGG-INFO") || dir == "EGG-INFO"
	case strings.HasSuffix(base, ".egg-info"):
		// The single-file form distutils wrote.
		return strings.Contains(dir, "-packages")
	}
	return false
}

func splitDir(p string) (string, string) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}

// Analyze implements inventory.Analyzer.
func (Installed) Analyze(_ context.Context, f *inventory.File) (*inventory.Result, error) {
	b, err := inventory.ReadLimited(f.R, maxMetadata)
	if err != nil {
		return nil, err
	}
	p, err := ParseMetadata(b)
	if err != nil {
		return nil, err
	}
	return &inventory.Result{Packages: []inventory.Package{*p}}, nil
}

// ParseMetadata reads the headers of a METADATA or PKG-INFO file (the
// core metadata format: RFC 822 headers, then the description).
func ParseMetadata(b []byte) (*inventory.Package, error) {
	// The headers end at the first blank line.
	if i := bytes.Index(b, []byte("\n\n")); i >= 0 {
		b = b[:i+1]
	}
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(b, '\n'))))
	h, err := tp.ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return nil, fmt.Errorf("metadata headers unreadable: %v", err)
	}
	name, version := strings.TrimSpace(h.Get("Name")), strings.TrimSpace(h.Get("Version"))
	if name == "" || version == "" {
		return nil, fmt.Errorf("metadata has no Name or Version")
	}
	p := &inventory.Package{Name: name, Version: version, Ecosystem: inventory.PyPI, Kind: inventory.KindLang}
	if l := strings.TrimSpace(h.Get("License-Expression")); l != "" {
		p.Licenses = []string{l}
	} else if l := strings.TrimSpace(h.Get("License")); l != "" && l != "UNKNOWN" && !strings.Contains(l, "\n") && len(l) < 100 {
		p.Licenses = []string{l}
	} else {
		for _, c := range h.Values("Classifier") {
			if l, ok := strings.CutPrefix(c, "License :: "); ok {
				parts := strings.Split(l, " :: ")
				p.Licenses = append(p.Licenses, strings.TrimSpace(parts[len(parts)-1]))
			}
		}
	}
	return p, nil
}

// Lockfiles reads the requirement and lock files of source trees.
type Lockfiles struct{}

// Name implements inventory.Analyzer.
func (Lockfiles) Name() string { return "python-lock" }

// Version implements inventory.Analyzer.
func (Lockfiles) Version() int { return 1 }

// Modes implements inventory.Analyzer.
func (Lockfiles) Modes() inventory.Mode { return inventory.ModeTree }

// Want implements inventory.Analyzer.
func (Lockfiles) Want(p string, size int64, _ fs.FileMode) bool {
	if size > maxLock {
		return false
	}
	base := inventory.Base(p)
	switch base {
	case "poetry.lock", "Pipfile.lock", "uv.lock":
		return true
	}
	return strings.HasPrefix(base, "requirements") && strings.HasSuffix(base, ".txt")
}

// Analyze implements inventory.Analyzer.
func (Lockfiles) Analyze(_ context.Context, f *inventory.File) (*inventory.Result, error) {
	b, err := inventory.ReadLimited(f.R, maxLock)
	if err != nil {
		return nil, err
	}
	switch inventory.Base(f.Path) {
	case "poetry.lock", "uv.lock":
		pkgs, err := ParseTOMLLock(b)
		return &inventory.Result{Packages: pkgs}, err
	case "Pipfile.lock":
		pkgs, err := ParsePipfileLock(b)
		return &inventory.Result{Packages: pkgs}, err
	}
	pkgs, warnings := ParseRequirements(b, f.Path)
	return &inventory.Result{Packages: pkgs, Warnings: warnings}, nil
}

// ParseRequirements reads the pinned lines ("name==1.2.3", with extras,
// markers, hashes and comments) of a requirements file; unpinned lines
// name no version and are left out, options (-r, -e, --hash) are ignored.
func ParseRequirements(b []byte, name string) ([]inventory.Package, []string) {
	var pkgs []inventory.Package
	var warnings []string
	text := strings.ReplaceAll(string(b), "\\\n", " ")
	for i, line := range strings.Split(text, "\n") {
		if j := strings.Index(line, " #"); j >= 0 {
			line = line[:j]
		}
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == '-' {
			continue
		}
		if j := strings.IndexAny(line, ";"); j >= 0 {
			line = line[:j]
		}
		if j := strings.Index(line, " --"); j >= 0 {
			line = line[:j]
		}
		n, v, ok := strings.Cut(line, "==")
		if !ok {
			continue
		}
		v = strings.TrimSpace(strings.TrimPrefix(v, "="))
		n = strings.TrimSpace(n)
		if j := strings.IndexByte(n, '['); j >= 0 {
			n = n[:j]
		}
		if n == "" || v == "" || strings.ContainsAny(n, " ,<>=!~@/") || strings.ContainsAny(v, " ,<>=!~*") {
			warnings = append(warnings, fmt.Sprintf("%s: line %d skipped: not a \"name==version\" requirement", name, i+1))
			continue
		}
		pkgs = append(pkgs, inventory.Package{Name: n, Version: v, Ecosystem: inventory.PyPI, Kind: inventory.KindLang})
	}
	return pkgs, warnings
}

// ParseTOMLLock reads poetry.lock and uv.lock: [[package]] tables with
// name and version (uv's own project, with a virtual or editable source,
// is left out).
func ParseTOMLLock(b []byte) ([]inventory.Package, error) {
	var lock struct {
		Package []struct {
			Name     string         `toml:"name"`
			Version  string         `toml:"version"`
			Category string         `toml:"category"`
			Source   map[string]any `toml:"source"`
		} `toml:"package"`
	}
	if _, err := toml.Decode(string(b), &lock); err != nil {
		return nil, fmt.Errorf("not valid TOML: %v", err)
	}
	var pkgs []inventory.Package
	for _, p := range lock.Package {
		if p.Name == "" || p.Version == "" {
			continue
		}
		if _, ok := p.Source["virtual"]; ok {
			continue
		}
		if _, ok := p.Source["editable"]; ok {
			continue
		}
		pkgs = append(pkgs, inventory.Package{Name: p.Name, Version: p.Version, Ecosystem: inventory.PyPI, Kind: inventory.KindLang,
			Dev: p.Category == "dev"})
	}
	return pkgs, nil
}

// ParsePipfileLock reads Pipfile.lock: "default" and "develop" maps of
// name to {"version": "==1.2.3"}.
func ParsePipfileLock(b []byte) ([]inventory.Package, error) {
	type dep struct {
		Version string `json:"version"`
	}
	var lock struct {
		Default map[string]dep `json:"default"`
		Develop map[string]dep `json:"develop"`
	}
	if err := json.Unmarshal(b, &lock); err != nil {
		return nil, fmt.Errorf("not valid JSON: %v", err)
	}
	var pkgs []inventory.Package
	for i, m := range []map[string]dep{lock.Default, lock.Develop} {
		for name, d := range m {
			v := strings.TrimPrefix(d.Version, "==")
			if name == "" || v == "" {
				continue
			}
			pkgs = append(pkgs, inventory.Package{Name: name, Version: v, Ecosystem: inventory.PyPI, Kind: inventory.KindLang, Dev: i == 1})
		}
	}
	return pkgs, nil
}
