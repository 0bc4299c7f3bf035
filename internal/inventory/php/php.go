// Package php finds Composer packages: vendor/composer/installed.json
// (installed) and, in source trees, composer.lock.
package php

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/inventory"
)

const maxFile = 64 << 20

// Analyzer reads installed.json everywhere and composer.lock in trees.
type Analyzer struct{}

// Name implements inventory.Analyzer.
func (Analyzer) Name() string { return "composer" }

// Version implements inventory.Analyzer.
func (Analyzer) Version() int { return 1 }

// Modes implements inventory.Analyzer.
func (Analyzer) Modes() inventory.Mode { return inventory.ModeImage | inventory.ModeTree }

// Want implements inventory.Analyzer.
func (Analyzer) Want(p string, size int64, _ fs.FileMode) bool {
	return size <= maxFile && (strings.HasSuffix(p, "vendor/composer/installed.json") || inventory.Base(p) == "composer.lock" && !inventory.HasDirPart(p, "vendor"))
}

// Analyze implements inventory.Analyzer.
func (Analyzer) Analyze(_ context.Context, f *inventory.File) (*inventory.Result, error) {
	b, err := inventory.ReadLimited(f.R, maxFile)
	if err != nil {
		return nil, err
	}
	pkgs, err := Parse(b)
	return &inventory.Result{Packages: pkgs}, err
}

type composerPkg struct {
	Name    string          `json:"name"`
	Version string          `json:"version"`
	License json.RawMessage `json:"license"`
}

// Parse reads composer.lock ("packages" and "packages-dev") or
// installed.json (a list in Composer 1, {"packages": [...]} in 2).
func Parse(b []byte) ([]inventory.Package, error) {
	var doc struct {
		Packages    []composerPkg `json:"packages"`
		PackagesDev []composerPkg `json:"packages-dev"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		var list []composerPkg
		if err2 := json.Unmarshal(b, &list); err2 != nil {
			return nil, fmt.Errorf("not valid JSON: %v", err)
		}
		doc.Packages = list
	}
	var pkgs []inventory.Package
	for i, list := range [][]composerPkg{doc.Packages, doc.PackagesDev} {
		for _, c := range list {
			if c.Name == "" || c.Version == "" {
				continue
			}
			p := inventory.Package{Name: c.Name, Version: strings.TrimPrefix(c.Version, "v"), Ecosystem: inventory.Packagist, Kind: inventory.KindLang, Dev: i == 1}
			var ls []string
			if json.Unmarshal(c.License, &ls) == nil {
				p.Licenses = ls
			} else {
				var l string
				if json.Unmarshal(c.License, &l) == nil && l != "" {
					p.Licenses = []string{l}
				}
			}
			pkgs = append(pkgs, p)
		}
	}
	return pkgs, nil
}
