// Package rust reads Cargo.lock in source trees. Rust binaries built with
// cargo-auditable are read by the binary analyzer.
package rust

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/BurntSushi/toml"

	"github.com/bulwark-sec/bulwark/internal/inventory"
)

const maxFile = 32 << 20

// Lockfile reads Cargo.lock.
type Lockfile struct{}

// Name implements inventory.Analyzer.
func (Lockfile) Name() string { return "cargo-lock" }

// Version implements inventory.Analyzer.
func (Lockfile) Version() int { return 1 }

// Modes implements inventory.Analyzer.
func (Lockfile) Modes() inventory.Mode { return inventory.ModeTree }

// Want implements inventory.Analyzer.
func (Lockfile) Want(p string, size int64, _ fs.FileMode) bool {
	return size <= maxFile && inventory.Base(p) == "Cargo.lock"
}

// Analyze implements inventory.Analyzer.
func (Lockfile) Analyze(_ context.Context, f *inventory.File) (*inventory.Result, error) {
	b, err := inventory.ReadLimited(f.R, maxFile)
	if err != nil {
		return nil, err
	}
	pkgs, err := ParseCargoLock(b)
	return &inventory.Result{Packages: pkgs}, err
}

// ParseCargoLock reads the [[package]] tables of Cargo.lock; the
// workspace's own crates (no source) are left out.
func ParseCargoLock(b []byte) ([]inventory.Package, error) {
	var lock struct {
		Package []struct {
			Name    string `toml:"name"`
			Version string `toml:"version"`
			Source  string `toml:"source"`
		} `toml:"package"`
	}
	if _, err := toml.Decode(string(b), &lock); err != nil {
		return nil, fmt.Errorf("not valid TOML: %v", err)
	}
	var pkgs []inventory.Package
	for _, p := range lock.Package {
		if p.Name == "" || p.Version == "" || p.Source == "" {
			continue
		}
		pkgs = append(pkgs, inventory.Package{Name: p.Name, Version: p.Version, Ecosystem: inventory.CratesIO, Kind: inventory.KindLang})
	}
	return pkgs, nil
}
