// Package dotnet finds NuGet packages: *.deps.json of published
// applications and, in source trees, packages.lock.json.
package dotnet

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/inventory"
)

const maxFile = 64 << 20

// Analyzer reads deps.json everywhere and packages.lock.json in trees.
type Analyzer struct{}

// Name implements inventory.Analyzer.
func (Analyzer) Name() string { return "dotnet" }

// Version implements inventory.Analyzer.
func (Analyzer) Version() int { return 1 }

// Modes implements inventory.Analyzer.
func (Analyzer) Modes() inventory.Mode { return inventory.ModeImage | inventory.ModeTree }

// Want implements inventory.Analyzer.
func (Analyzer) Want(p string, size int64, _ fs.FileMode) bool {
	return size <= maxFile && (strings.HasSuffix(p, ".deps.json") || inventory.Base(p) == "packages.lock.json")
}

// Analyze implements inventory.Analyzer.
func (Analyzer) Analyze(_ context.Context, f *inventory.File) (*inventory.Result, error) {
	b, err := inventory.ReadLimited(f.R, maxFile)
	if err != nil {
		return nil, err
	}
	var pkgs []inventory.Package
	if inventory.Base(f.Path) == "packages.lock.json" {
		pkgs, err = ParsePackagesLock(b)
	} else {
		pkgs, err = ParseDepsJSON(b)
	}
	return &inventory.Result{Packages: pkgs}, err
}

// ParseDepsJSON reads the "libraries" of a deps.json ("Name/Version" keys);
// projects and reference assemblies are left out.
func ParseDepsJSON(b []byte) ([]inventory.Package, error) {
	var doc struct {
		Libraries map[string]struct {
			Type string `json:"type"`
		} `json:"libraries"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("not valid JSON: %v", err)
	}
	var pkgs []inventory.Package
	for k, l := range doc.Libraries {
		if l.Type != "package" {
			continue
		}
		n, v, ok := strings.Cut(k, "/")
		if !ok || n == "" || v == "" {
			continue
		}
		pkgs = append(pkgs, inventory.Package{Name: n, Version: v, Ecosystem: inventory.NuGet, Kind: inventory.KindLang})
	}
	return pkgs, nil
}

// ParsePackagesLock reads packages.lock.json: per target framework, the
// resolved version of every direct and transitive package.
func ParsePackagesLock(b []byte) ([]inventory.Package, error) {
	var doc struct {
		Dependencies map[string]map[string]struct {
			Type     string `json:"type"`
			Resolved string `json:"resolved"`
		} `json:"dependencies"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("not valid JSON: %v", err)
	}
	var pkgs []inventory.Package
	for _, deps := range doc.Dependencies {
		for n, d := range deps {
			if d.Type == "Project" || n == "" || d.Resolved == "" {
				continue
			}
			pkgs = append(pkgs, inventory.Package{Name: n, Version: d.Resolved, Ecosystem: inventory.NuGet, Kind: inventory.KindLang})
		}
	}
	return pkgs, nil
}
