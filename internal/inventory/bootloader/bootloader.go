// Package bootloader is the inventory analyzer that reads the boot
// loader's files (grub.cfg, grubenv, /etc/default/grub, BLS entries, the
// /vmlinuz symlink) so that the scan can tell which installed kernel boots
// (see package boot).
package bootloader

import (
	"context"
	"fmt"
	"io"
	"io/fs"

	"github.com/bulwark-sec/bulwark/internal/boot"
	"github.com/bulwark-sec/bulwark/internal/inventory"
)

// Analyzer reads boot loader files.
type Analyzer struct{}

// Name implements inventory.Analyzer.
func (Analyzer) Name() string { return "boot" }

// Version implements inventory.Analyzer.
func (Analyzer) Version() int { return 1 }

// Modes implements inventory.Analyzer: a boot loader belongs to a system,
// not to a source tree.
func (Analyzer) Modes() inventory.Mode { return inventory.ModeImage }

// Want implements inventory.Analyzer.
func (Analyzer) Want(p string, size int64, _ fs.FileMode) bool {
	_, ok := boot.Wanted(p)
	return ok
}

// WantLink implements inventory.LinkAnalyzer.
func (Analyzer) WantLink(p string) bool { return boot.WantedLink(p) }

// Analyze implements inventory.Analyzer.
func (Analyzer) Analyze(_ context.Context, f *inventory.File) (*inventory.Result, error) {
	content := f.Link
	if f.R != nil && f.Mode.IsRegular() {
		b, err := io.ReadAll(io.LimitReader(f.R, boot.MaxFileSize+1))
		if err != nil {
			return nil, err
		}
		content = string(b)
	}
	bf, err := boot.Parse(f.Path, content)
	if err != nil {
		return nil, fmt.Errorf("boot loader configuration: %w", err)
	}
	return &inventory.Result{Boot: bf}, nil
}
