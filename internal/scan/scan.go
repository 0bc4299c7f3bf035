// Package scan runs the vulnerability, lint, secret and host gates over an image
// (or a source tree) in one pass over its layers: the inventory, lint and
// secrets handlers share a single image.Walk, then the inventory is matched
// against the vulnerability database. `bulwark scan` and the pipeline's
// scan stage both run it.
package scan

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/buildinfo"
	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/host"
	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/inventory"
	"github.com/bulwark-sec/bulwark/internal/inventory/analyzers"
	"github.com/bulwark-sec/bulwark/internal/lint"
	"github.com/bulwark-sec/bulwark/internal/match"
	"github.com/bulwark-sec/bulwark/internal/secrets"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

// Options says what one scan looks for.
type Options struct {
	// Vulns, Lint and Secrets turn the three gates on.
	Vulns, Lint, Secrets bool
	// Host runs the CIS host benchmark checks (internal/host) on the
	// file system, with HostProfile or the profile os-release names.
	Host        bool
	HostProfile string
	// SBOM keeps the inventory even when Vulns is off.
	SBOM bool
	// DB is the vulnerability database; required with Vulns.
	DB *vulndb.DB
	// Mode is inventory.ModeImage, or inventory.ModeTree for a source tree
	// (which has no configuration to lint).
	Mode inventory.Mode
	// LintOptions and SecretOptions tune those gates.
	LintOptions   lint.Options
	SecretOptions secrets.Options
	// BaseLayers is how many of the image's first layers come from its
	// base image (see BaseLayers), so findings can say where they come from.
	BaseLayers int
	// Progress receives the stored bytes of the image as they are read.
	Progress io.Writer
	// GitignoreRoot, in ModeTree, is the source folder whose .gitignore
	// files exclude paths from every gate, as 'bulwark secrets DIR' does
	// ("": nothing is excluded).
	GitignoreRoot string
}

// Result is what one scan found.
type Result struct {
	Target   finding.Target
	Gates    []finding.Gate
	Findings []finding.Finding
	Warnings []string
	// SBOM is the inventory, when Vulns or SBOM was set.
	SBOM *inventory.SBOM
	// Host is the host benchmark's outcome, when Host was set.
	Host *host.Assessment
}

// Run scans the image in one walk.
func Run(ctx context.Context, img *image.Image, o Options) (*Result, error) {
	if o.Vulns && o.DB == nil {
		return nil, fmt.Errorf("no vulnerability database")
	}
	if o.Mode == 0 {
		o.Mode = inventory.ModeImage
	}
	if o.Mode == inventory.ModeTree {
		o.Lint = false
	}
	if o.Host {
		// The CIS profiles are parsed while the other handlers are made
		// and the walk runs, not after it: host.Assess needs them last.
		go host.Profiles()
	}
	var handlers []image.Handler
	var inv *inventory.Handler
	var lh *lint.Handler
	var sh *secrets.ImageHandler
	var hh *host.Handler
	if o.Vulns || o.SBOM {
		inv = inventory.NewHandler(ctx, img, inventory.Options{Analyzers: analyzers.All(), Mode: o.Mode, Tool: "bulwark", ToolVersion: buildinfo.Version})
		handlers = append(handlers, inv)
	}
	if o.Lint {
		lh = lint.NewHandler(o.LintOptions)
		handlers = append(handlers, lh)
	}
	if o.Secrets {
		var err error
		if sh, err = secrets.NewImageHandler(o.SecretOptions); err != nil {
			return nil, err
		}
		handlers = append(handlers, sh)
	}
	if o.Host {
		hh = host.NewHandler()
		handlers = append(handlers, hh)
	}
	if o.Mode == inventory.ModeTree && o.GitignoreRoot != "" {
		var err error
		if handlers, err = ignoreGitignored(o.GitignoreRoot, handlers); err != nil {
			return nil, fmt.Errorf("%s: reading .gitignore files: %w", o.GitignoreRoot, err)
		}
	}
	tree, err := image.Walk(ctx, img, handlers, image.WalkOptions{Progress: o.Progress})
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", img.Name, err)
	}
	res := &Result{Target: img.Target(), Warnings: tree.Warnings, Findings: tree.EscapeFindings()}
	if inv != nil {
		res.SBOM = inv.Finish(tree)
		res.Target = res.SBOM.Target
		res.Warnings = append(res.Warnings, res.SBOM.Warnings...)
	}
	if o.Vulns {
		m, err := match.Match(o.DB, res.SBOM, match.Options{BaseLayers: o.BaseLayers})
		if err != nil {
			return nil, err
		}
		res.Gates = append(res.Gates, finding.GateVuln)
		res.Findings = append(res.Findings, m.Findings...)
		res.Warnings = append(res.Warnings, m.Warnings()...)
	}
	if sh != nil {
		sh.ScanConfig(img)
		r := sh.Finish(tree)
		res.Gates = append(res.Gates, finding.GateSecrets)
		res.Findings = append(res.Findings, r.Findings...)
		res.Warnings = append(res.Warnings, r.Warnings...)
	}
	if lh != nil {
		fs, err := lh.Findings(ctx, img, tree)
		if err != nil {
			return nil, err
		}
		res.Gates = append(res.Gates, finding.GateLint)
		res.Findings = append(res.Findings, fs...)
		res.Warnings = append(res.Warnings, lh.Warnings()...)
	}
	if hh != nil {
		a, err := host.Assess(hh.Finish(tree), o.HostProfile)
		if err != nil {
			return nil, fmt.Errorf("image %q: %w", img.Name, err)
		}
		res.Host = a
		res.Gates = append(res.Gates, finding.GateHost)
		res.Findings = append(res.Findings, a.Findings()...)
		res.Warnings = append(res.Warnings, a.Warnings...)
		if res.Target.OS == nil {
			res.Target.OS = a.OS
		}
	}
	if o.Mode == inventory.ModeTree {
		res.Target.Kind = "dir"
	}
	res.Warnings = dedupe(res.Warnings)
	if o.Mode == inventory.ModeTree {
		// A source folder has no layers: its findings name files only.
		for i := range res.Findings {
			res.Findings[i].Location.Layer = nil
		}
	}
	return res, nil
}

// BaseLayers finds how many of the image's first layers come from its base
// image: from baseImage when given, else the org.opencontainers.image.base.*
// annotations (when that image can be opened), else the history. The
// warning says when it could not be told; required makes that a warning
// even without a --base-image (for --ignore-base).
func BaseLayers(ctx context.Context, img *image.Image, baseImage string, opts image.Options, required bool) (int, string) {
	ref := baseImage
	if ref == "" && img.Annotations[annotationBaseName] != "" {
		ref = img.Annotations[annotationBaseName]
		if d := img.Annotations[annotationBaseDigest]; d != "" && !strings.Contains(ref, "@") {
			ref += "@" + d
		}
	}
	if ref != "" {
		b, err := image.Open(ctx, ref, opts)
		if err == nil {
			defer b.Close()
			return baseLayersFrom(img, b), ""
		}
		if baseImage != "" {
			return 0, fmt.Sprintf("base image %q could not be opened (%v): every layer counts as the application's", ref, err)
		}
	}
	if n, ok := baseLayersFromHistory(img.Config); ok {
		return n, ""
	}
	if required {
		return 0, "the base image's layers could not be told from the history; name the base image"
	}
	return 0, ""
}

func dedupe(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
