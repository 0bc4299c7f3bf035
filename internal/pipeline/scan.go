package pipeline

import (
	"context"
	"fmt"

	"github.com/bulwark-sec/bulwark/internal/buildinfo"
	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/inventory"
	"github.com/bulwark-sec/bulwark/internal/inventory/analyzers"
	"github.com/bulwark-sec/bulwark/internal/lint"
	"github.com/bulwark-sec/bulwark/internal/match"
	"github.com/bulwark-sec/bulwark/internal/secrets"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

// Scanner is the scan stage: vulnerabilities, lint and image secrets over
// one image, plus its SBOM. The pipeline depends only on this interface so
// that `bulwark scan`'s single-pass orchestration can be plugged in.
type Scanner interface {
	Scan(ctx context.Context, img *image.Image, o ScanOptions) (*ScanResult, error)
}

// ScanOptions says what the scan stage checks.
type ScanOptions struct {
	// Vulns, Lint and Secrets turn the three checks on.
	Vulns, Lint, Secrets bool
	// DB is the vulnerability database (needed when Vulns).
	DB *vulndb.DB
	// LintOptions tune lint.
	LintOptions lint.Options
	// SecretOptions tune the image secrets scan.
	SecretOptions secrets.Options
}

// ScanResult is what the scan stage found.
type ScanResult struct {
	Findings []finding.Finding
	Warnings []string
	// SBOM is the image's inventory.
	SBOM *inventory.SBOM
}

// SinglePassScanner is the scan stage as `bulwark scan` does it: one walk
// over the layers feeding the inventory, lint and secrets handlers, then
// the SBOM matched against the database (internal/match).
type SinglePassScanner struct{}

// Scan implements Scanner.
func (SinglePassScanner) Scan(ctx context.Context, img *image.Image, o ScanOptions) (*ScanResult, error) {
	if o.Vulns && o.DB == nil {
		return nil, fmt.Errorf("no vulnerability database")
	}
	inv := inventory.NewHandler(ctx, img, inventory.Options{Analyzers: analyzers.All(), Mode: inventory.ModeImage, Tool: "bulwark", ToolVersion: buildinfo.Version})
	handlers := []image.Handler{inv}
	var lh *lint.Handler
	var sh *secrets.ImageHandler
	var err error
	if o.Lint {
		lh = lint.NewHandler(o.LintOptions)
		handlers = append(handlers, lh)
	}
	if o.Secrets {
		if sh, err = secrets.NewImageHandler(o.SecretOptions); err != nil {
			return nil, err
		}
		handlers = append(handlers, sh)
	}
	tree, err := image.Walk(ctx, img, handlers, image.WalkOptions{})
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", img.Name, err)
	}
	res := &ScanResult{SBOM: inv.Finish(tree)}
	res.Warnings = append(append(res.Warnings, tree.Warnings...), res.SBOM.Warnings...)
	if lh != nil {
		fs, err := lh.Findings(ctx, img, tree)
		if err != nil {
			return nil, fmt.Errorf("lint: %w", err)
		}
		res.Findings = append(res.Findings, fs...)
		res.Warnings = append(res.Warnings, lh.Warnings()...)
	}
	if sh != nil {
		r := sh.Finish(tree)
		res.Findings = append(res.Findings, r.Findings...)
		res.Warnings = append(res.Warnings, r.Warnings...)
	}
	if o.Vulns {
		m, err := match.Match(o.DB, res.SBOM, match.Options{})
		if err != nil {
			return nil, err
		}
		res.Findings = append(res.Findings, m.Findings...)
		res.Warnings = append(res.Warnings, m.Warnings()...)
	}
	return res, nil
}
