package pipeline

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"
	gocvss30 "github.com/pandatix/go-cvss/30"
	gocvss31 "github.com/pandatix/go-cvss/31"

	"github.com/bulwark-sec/bulwark/internal/buildinfo"
	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/inventory"
	"github.com/bulwark-sec/bulwark/internal/inventory/analyzers"
	"github.com/bulwark-sec/bulwark/internal/lint"
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

// VulnMatcher matches an SBOM against the database.
type VulnMatcher func(db *vulndb.DB, sb *inventory.SBOM) ([]finding.Finding, []string, error)

// ComposedScanner composes inventory, lint and secrets (two walks: the
// inventory's cached walk, and one walk for lint and secrets) with a
// matcher.
//
// TODO(scan): replace by the single-pass scan of internal/match /
// `bulwark scan` once it exports one; this type is the adapter point.
type ComposedScanner struct {
	// Match matches packages to advisories (default: MatchSimple).
	Match VulnMatcher
}

// Scan implements Scanner.
func (c ComposedScanner) Scan(ctx context.Context, img *image.Image, o ScanOptions) (*ScanResult, error) {
	res := &ScanResult{}
	sb, err := inventory.Scan(ctx, img, inventory.Options{Analyzers: analyzers.All(), Mode: inventory.ModeImage, Tool: "bulwark", ToolVersion: buildinfo.Version})
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	res.SBOM = sb
	res.Warnings = append(res.Warnings, sb.Warnings...)
	var handlers []image.Handler
	var lh *lint.Handler
	var sh *secrets.ImageHandler
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
	if len(handlers) > 0 {
		tree, err := image.Walk(ctx, img, handlers, image.WalkOptions{})
		if err != nil {
			return nil, err
		}
		res.Warnings = append(res.Warnings, tree.Warnings...)
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
	}
	if o.Vulns {
		if o.DB == nil {
			return nil, fmt.Errorf("no vulnerability database")
		}
		m := c.Match
		if m == nil {
			m = MatchSimple
		}
		fs, warns, err := m(o.DB, sb)
		if err != nil {
			return nil, err
		}
		res.Findings = append(res.Findings, fs...)
		res.Warnings = append(res.Warnings, warns...)
	}
	return res, nil
}

// MatchSimple is a small matcher for language packages: SEMVER and
// ECOSYSTEM ranges of ecosystems that use semantic versions (npm, Go,
// crates.io, ...) and explicit version lists. OS packages and other
// version schemes are reported as not checked.
//
// TODO(match): use internal/match once it is committed.
func MatchSimple(db *vulndb.DB, sb *inventory.SBOM) ([]finding.Finding, []string, error) {
	var out []finding.Finding
	notChecked := map[string]int{}
	var mu sync.Mutex
	for _, p := range sb.Packages {
		if p.Kind == inventory.KindOS {
			notChecked[p.Ecosystem]++
			continue
		}
		advs, err := db.Lookup(p.Ecosystem, p.Name)
		if err != nil {
			return nil, nil, err
		}
		for _, a := range advs {
			fixed, hit := affected(a, p)
			if !hit {
				continue
			}
			sev, vec := advisorySeverity(a)
			f := finding.Finding{
				Gate: finding.GateVuln, ID: a.ID, Title: a.Summary, Severity: sev,
				Message: fmt.Sprintf("%s %s is affected", p.Name, p.Version),
				Vuln: &finding.VulnDetail{Package: p.Name, Ecosystem: p.Ecosystem, InstalledVersion: p.Version, FixedVersion: fixed,
					PURL: p.PURL, Aliases: a.Aliases, CVSSVector: vec, SeveritySource: "advisory"},
				Fingerprint: a.ID + "|" + p.PURL,
			}
			if len(p.Locations) > 0 {
				f.Location.Path = p.Locations[0].Path
			}
			if fixed != "" {
				f.Fix = "Upgrade " + p.Name + " to " + fixed + " or later."
			}
			for _, r := range a.References {
				f.References = append(f.References, r.URL)
			}
			mu.Lock()
			out = append(out, f)
			mu.Unlock()
		}
	}
	var warns []string
	for eco, n := range notChecked {
		warns = append(warns, fmt.Sprintf("%d %s package(s) not checked for vulnerabilities by the pipeline's simple matcher", n, eco))
	}
	return out, warns, nil
}

func affected(a vulndb.Advisory, p inventory.Package) (fixed string, hit bool) {
	v, verr := semver.NewVersion(p.Version)
	for _, af := range a.Affected {
		for _, ver := range af.Versions {
			if ver == p.Version {
				return "", true
			}
		}
		if verr != nil {
			continue
		}
		for _, r := range af.Ranges {
			if r.Type == vulndb.RangeGit {
				continue
			}
			in, fix := false, ""
			for _, ev := range r.Events {
				switch {
				case ev.Introduced != "":
					if ev.Introduced == "0" || cmpVer(v, ev.Introduced) >= 0 {
						in, fix = true, ""
					}
				case ev.Fixed != "":
					if in && cmpVer(v, ev.Fixed) < 0 {
						fix = ev.Fixed
					} else if cmpVer(v, ev.Fixed) >= 0 {
						in = false
					}
				case ev.LastAffected != "":
					if cmpVer(v, ev.LastAffected) > 0 {
						in = false
					}
				}
			}
			if in {
				return fix, true
			}
		}
	}
	return "", false
}

func cmpVer(v *semver.Version, s string) int {
	o, err := semver.NewVersion(s)
	if err != nil {
		return -1
	}
	return v.Compare(o)
}

// advisorySeverity rates an advisory: the source's own rating, else the
// CVSS v3 base score's band.
func advisorySeverity(a vulndb.Advisory) (finding.Severity, string) {
	vec := ""
	for _, s := range a.Severity {
		if s.Type == vulndb.CVSSv3 || vec == "" {
			vec = s.Score
		}
	}
	if a.DatabaseSeverity != "" {
		if s, err := finding.ParseSeverity(a.DatabaseSeverity); err == nil {
			return s, vec
		}
	}
	if strings.HasPrefix(vec, "CVSS:3") {
		return cvss3Band(vec), vec
	}
	return finding.Unknown, vec
}

// cvss3Band rates a CVSS v3.x vector by its base score's band.
func cvss3Band(vec string) finding.Severity {
	var score float64
	if strings.HasPrefix(vec, "CVSS:3.0/") {
		c, err := gocvss30.ParseVector(vec)
		if err != nil {
			return finding.Unknown
		}
		score = c.BaseScore()
	} else {
		c, err := gocvss31.ParseVector(vec)
		if err != nil {
			return finding.Unknown
		}
		score = c.BaseScore()
	}
	switch {
	case score >= 9:
		return finding.Critical
	case score >= 7:
		return finding.High
	case score >= 4:
		return finding.Medium
	case score > 0:
		return finding.Low
	}
	return finding.Unknown
}
