// Package ruby finds Ruby gems: installed gemspecs
// (specifications/*.gemspec) and, in source trees, Gemfile.lock.
package ruby

import (
	"context"
	"fmt"
	"io/fs"
	"regexp"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/inventory"
)

const maxFile = 8 << 20

// Gemspecs reads installed gem specifications.
type Gemspecs struct{}

// Name implements inventory.Analyzer.
func (Gemspecs) Name() string { return "ruby-gemspec" }

// Version implements inventory.Analyzer.
func (Gemspecs) Version() int { return 1 }

// Modes implements inventory.Analyzer.
func (Gemspecs) Modes() inventory.Mode { return inventory.ModeImage | inventory.ModeTree }

// Want implements inventory.Analyzer.
func (Gemspecs) Want(p string, size int64, _ fs.FileMode) bool {
	return size <= maxFile && strings.HasSuffix(p, ".gemspec") && strings.Contains(p, "specifications/")
}

// Analyze implements inventory.Analyzer.
func (Gemspecs) Analyze(_ context.Context, f *inventory.File) (*inventory.Result, error) {
	b, err := inventory.ReadLimited(f.R, maxFile)
	if err != nil {
		return nil, err
	}
	p, err := ParseGemspec(b)
	if err != nil {
		return nil, err
	}
	return &inventory.Result{Packages: []inventory.Package{*p}}, nil
}

var (
	specName    = regexp.MustCompile(`(?m)^\s*\w+\.name\s*=\s*["']([^"']+)["']`)
	specVersion = regexp.MustCompile(`(?m)^\s*\w+\.version\s*=\s*(?:Gem::Version\.new\()?["']([^"']+)["']`)
	specLicense = regexp.MustCompile(`(?m)^\s*\w+\.licenses?\s*=\s*\[?([^\n\]]*)`)
	quoted      = regexp.MustCompile(`["']([^"']+)["']`)
)

// ParseGemspec reads the name, version and licences of a gemspec as
// RubyGems writes them on install ("s.name = \"rack\".freeze").
func ParseGemspec(b []byte) (*inventory.Package, error) {
	s := string(b)
	n, v := specName.FindStringSubmatch(s), specVersion.FindStringSubmatch(s)
	if n == nil || v == nil {
		return nil, fmt.Errorf("no name or version assignment found")
	}
	p := &inventory.Package{Name: n[1], Version: v[1], Ecosystem: inventory.RubyGems, Kind: inventory.KindLang}
	if l := specLicense.FindStringSubmatch(s); l != nil {
		for _, q := range quoted.FindAllStringSubmatch(l[1], -1) {
			p.Licenses = append(p.Licenses, q[1])
		}
	}
	return p, nil
}

// Lockfile reads Gemfile.lock in source trees.
type Lockfile struct{}

// Name implements inventory.Analyzer.
func (Lockfile) Name() string { return "ruby-lock" }

// Version implements inventory.Analyzer.
func (Lockfile) Version() int { return 1 }

// Modes implements inventory.Analyzer.
func (Lockfile) Modes() inventory.Mode { return inventory.ModeTree }

// Want implements inventory.Analyzer.
func (Lockfile) Want(p string, size int64, _ fs.FileMode) bool {
	return size <= maxFile && inventory.Base(p) == "Gemfile.lock"
}

// Analyze implements inventory.Analyzer.
func (Lockfile) Analyze(_ context.Context, f *inventory.File) (*inventory.Result, error) {
	b, err := inventory.ReadLimited(f.R, maxFile)
	if err != nil {
		return nil, err
	}
	return &inventory.Result{Packages: ParseGemfileLock(b)}, nil
}

// ParseGemfileLock reads the "specs:" of the GEM, GIT and PATH sections:
// four-space-indented "name (version)" lines (platform suffixes dropped).
func ParseGemfileLock(b []byte) []inventory.Package {
	var pkgs []inventory.Package
	inSpecs := false
	for _, line := range strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n") {
		if line == "" || line[0] != ' ' {
			inSpecs = false
			continue
		}
		if strings.TrimSpace(line) == "specs:" {
			inSpecs = true
			continue
		}
		if !inSpecs || !strings.HasPrefix(line, "    ") || strings.HasPrefix(line, "     ") {
			continue
		}
		name, rest, ok := strings.Cut(strings.TrimSpace(line), " (")
		if !ok || !strings.HasSuffix(rest, ")") {
			continue
		}
		v := strings.TrimSuffix(rest, ")")
		if i := strings.IndexByte(v, '-'); i > 0 && strings.ContainsAny(v[i:], "abcdefghijklmnopqrstuvwxyz") && strings.Contains(v[i:], "_") || strings.HasSuffix(v, "-java") {
			v = v[:i]
		}
		if name == "" || v == "" {
			continue
		}
		pkgs = append(pkgs, inventory.Package{Name: name, Version: v, Ecosystem: inventory.RubyGems, Kind: inventory.KindLang})
	}
	return pkgs
}
