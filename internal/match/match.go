// Package match matches an inventory (inventory.SBOM) against the
// vulnerability database (vulndb.DB) and turns every affected package into
// a vulnerability finding. Each ecosystem orders versions with its own
// comparator (package version); OSV ranges are evaluated by Evaluate. OS packages are matched by their
// source package in the advisories of the image's own release. A version
// that does not parse gives a finding with status "could-not-compare",
// never silence; a package whose ecosystem has no comparator is listed as
// not checked.
package match

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/inventory"
	"github.com/bulwark-sec/bulwark/internal/severity"
	"github.com/bulwark-sec/bulwark/internal/version"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

// Statuses of a vulnerability finding (finding.VulnDetail.Status).
const (
	// StatusFixed: a fixed version exists.
	StatusFixed = "fixed"
	// StatusAffected: affected and no fix is available yet; TrackerStatus
	// says what the distribution's tracker decided (will-not-fix, ...).
	StatusAffected = "affected"
	// StatusCouldNotCompare: the installed version or the advisory's range
	// does not parse, so bulwark cannot tell; the finding is kept.
	StatusCouldNotCompare = "could-not-compare"
)

// Options tunes Match.
type Options struct {
	// BaseLayers is the number of layers that come from the base image;
	// packages added by them are marked FromBase. 0 means none (or unknown).
	BaseLayers int
}

// NotChecked is a package bulwark could not match, and why.
type NotChecked struct {
	Ecosystem, Name, Version string
	Reason                   string
}

// Result is what Match found.
type Result struct {
	// Findings are the vulnerability findings, one per advisory and package.
	Findings []finding.Finding
	// NotChecked lists the packages that were not matched.
	NotChecked []NotChecked
	// Packages is the number of packages matched.
	Packages int
}

// Warnings summarizes NotChecked for a report: one line per ecosystem and
// reason.
func (r *Result) Warnings() []string {
	type key struct{ eco, reason string }
	counts := map[key][]string{}
	var order []key
	for _, n := range r.NotChecked {
		k := key{n.Ecosystem, n.Reason}
		if _, ok := counts[k]; !ok {
			order = append(order, k)
		}
		counts[k] = append(counts[k], n.Name)
	}
	var out []string
	for _, k := range order {
		names := counts[k]
		list := strings.Join(names, ", ")
		if len(names) > 5 {
			list = strings.Join(names[:5], ", ") + fmt.Sprintf(" and %d more", len(names)-5)
		}
		out = append(out, fmt.Sprintf("vulnerabilities not checked for %d %s package(s) (%s): %s", len(names), k.eco, k.reason, list))
	}
	return out
}

// Match looks every package of the SBOM up in the database. An error
// means the database could not be read.
func Match(db *vulndb.DB, sb *inventory.SBOM, opts Options) (*Result, error) {
	res := &Result{}
	for i := range sb.Packages {
		p := &sb.Packages[i]
		fs, nc, err := matchPackage(db, sb.Target.OS, p, opts)
		if err != nil {
			return nil, err
		}
		if nc != nil {
			res.NotChecked = append(res.NotChecked, *nc)
			continue
		}
		res.Packages++
		res.Findings = append(res.Findings, fs...)
	}
	return res, nil
}

// Query is one package as the database keys it.
type Query struct {
	// Ecosystem is the OSV ecosystem with the release for OS packages
	// ("Debian:12").
	Ecosystem string
	// Name is the package (for OS packages, the source package).
	Name string
	// Version is the version to compare (for Debian, the source version).
	Version string
}

// QueryFor says how a package is looked up, or why it cannot be.
func QueryFor(osr *finding.OS, p *inventory.Package) (Query, string) {
	q := Query{Ecosystem: p.Ecosystem, Name: p.Name, Version: p.Version}
	if p.Kind == inventory.KindOS {
		if osr == nil || osr.ID == "" {
			return q, "the OS release is unknown"
		}
		eco, ok := osEcosystem(osr)
		if !ok {
			return q, "no advisories for OS " + strconv.Quote(osr.ID+" "+osr.Version)
		}
		q.Ecosystem = eco
		if p.SourceName != "" {
			q.Name = p.SourceName
		}
		if p.SourceVersion != "" {
			q.Version = p.SourceVersion
		}
		if p.Ecosystem == inventory.RPM && p.Epoch > 0 && !strings.Contains(q.Version, ":") {
			q.Version = strconv.Itoa(p.Epoch) + ":" + q.Version
		}
	}
	if q.Version == "" {
		return q, "no version"
	}
	if _, ok := version.For(q.Ecosystem); !ok {
		return q, "no version comparator for the ecosystem"
	}
	return q, ""
}

// osEcosystem names the OSV ecosystem of an OS release: Debian:12,
// Ubuntu:22.04, Alpine:v3.19, Rocky Linux:9, ...
func osEcosystem(o *finding.OS) (string, bool) {
	ver := strings.TrimSpace(o.Version)
	major, _, _ := strings.Cut(ver, ".")
	switch strings.ToLower(o.ID) {
	case "debian":
		if major == "" {
			return "", false
		}
		return "Debian:" + major, true
	case "ubuntu":
		if ver == "" {
			return "", false
		}
		return "Ubuntu:" + ver, true
	case "alpine":
		parts := strings.Split(ver, ".")
		if len(parts) < 2 {
			return "", false
		}
		return "Alpine:v" + parts[0] + "." + parts[1], true
	case "wolfi":
		return "Wolfi", true
	case "chainguard":
		return "Chainguard", true
	case "rocky":
		return "Rocky Linux:" + major, major != ""
	case "almalinux":
		return "AlmaLinux:" + major, major != ""
	case "opensuse-leap", "opensuse-tumbleweed", "opensuse":
		return "openSUSE", true
	case "photon":
		return "Photon OS:" + ver, ver != ""
	case "mageia":
		return "Mageia:" + ver, ver != ""
	case "azurelinux", "mariner":
		return "Azure Linux:" + ver, ver != ""
	}
	return "", false
}

func matchPackage(db *vulndb.DB, osr *finding.OS, p *inventory.Package, opts Options) ([]finding.Finding, *NotChecked, error) {
	q, why := QueryFor(osr, p)
	if why != "" {
		eco := q.Ecosystem
		return nil, &NotChecked{Ecosystem: eco, Name: p.Name, Version: p.Version, Reason: why}, nil
	}
	cmp, _ := version.For(q.Ecosystem)
	advs, err := db.Lookup(q.Ecosystem, q.Name)
	if err != nil {
		return nil, nil, fmt.Errorf("looking up %s package %q: %w", q.Ecosystem, q.Name, err)
	}
	var out []finding.Finding
	for ai := range advs {
		a := &advs[ai]
		var hit *hit
		for fi := range a.Affected {
			af := &a.Affected[fi]
			if !onPlatform(af, p) {
				continue
			}
			h, ok := evalAffected(cmp, af, q.Version)
			if !ok {
				continue
			}
			if hit == nil || h.better(hit) {
				hit = h
			}
		}
		if hit != nil {
			out = append(out, newFinding(a, p, q, hit, opts))
		}
	}
	return out, nil, nil
}

// onPlatform reports whether an affected entry limited to some operating
// systems (a Windows-only Go advisory) applies to the package: it does
// unless the package records another platform.
func onPlatform(af *vulndb.Affected, p *inventory.Package) bool {
	if len(af.Platforms) == 0 || p.Platform == "" {
		return true
	}
	return slices.Contains(af.Platforms, p.Platform)
}

// hit is one affected entry that matched.
type hit struct {
	status  string
	tracker string
	fixed   string
	err     error
	distro  *vulndb.DistroStatus
}

// better prefers a definite answer over could-not-compare, and a fix over none.
func (h *hit) better(o *hit) bool {
	if (h.err == nil) != (o.err == nil) {
		return h.err == nil
	}
	return h.fixed != "" && o.fixed == ""
}

func evalAffected(cmp version.Comparator, af *vulndb.Affected, installed string) (*hit, bool) {
	v, err := Evaluate(cmp, af, installed)
	if errors.Is(err, ErrGitOnly) {
		return nil, false
	}
	if err != nil {
		return &hit{status: StatusCouldNotCompare, err: err, distro: af.Distro}, true
	}
	if !v.Affected {
		return nil, false
	}
	h := &hit{status: StatusFixed, fixed: v.Fixed, distro: af.Distro}
	if af.Distro != nil && af.Distro.Status != vulndb.StatusFixed {
		h.tracker = af.Distro.Status
	}
	if h.fixed == "" {
		h.status = StatusAffected
	}
	return h, true
}

func newFinding(a *vulndb.Advisory, p *inventory.Package, q Query, h *hit, opts Options) finding.Finding {
	rated := severity.Rate(a, h.distro)
	d := &finding.VulnDetail{
		Package:          p.Name,
		Ecosystem:        q.Ecosystem,
		InstalledVersion: p.Version,
		FixedVersion:     h.fixed,
		PURL:             p.PURL,
		Status:           h.status,
		TrackerStatus:    h.tracker,
		Aliases:          a.Aliases,
		SeveritySource:   rated.Source,
	}
	if q.Name != p.Name {
		d.SourcePackage = q.Name
	}
	if q.Version != p.Version {
		d.SourceVersion = q.Version
	}
	if rated.Score != nil {
		d.CVSSVector, d.CVSSScore = rated.Score.Vector, rated.Score.Base
	}
	if a.KEV != nil {
		d.KEV = true
	}
	if a.EPSS != nil {
		d.EPSS = a.EPSS.Score
	}
	f := finding.Finding{
		Gate:     finding.GateVuln,
		ID:       a.ID,
		Title:    a.Summary,
		Severity: rated.Severity,
		Vuln:     d,
	}
	if f.Title == "" {
		f.Title = a.ID
	}
	if len(p.Locations) > 0 {
		f.Location = finding.Location{Path: p.Locations[0].Path, Layer: p.Locations[0].Layer}
		if l := p.Locations[0].Layer; l != nil && l.Index < opts.BaseLayers {
			d.FromBase = true
		}
	}
	switch h.status {
	case StatusFixed:
		f.Message = fmt.Sprintf("%s %s, fixed in %s", p.Name, p.Version, h.fixed)
		f.Fix = fmt.Sprintf("upgrade %s to %s or later", p.Name, h.fixed)
	case StatusAffected:
		f.Message = fmt.Sprintf("%s %s, no fix available", p.Name, p.Version)
		if h.tracker != "" {
			f.Message += " (" + q.Ecosystem + " tracker: " + h.tracker + ")"
		}
	case StatusCouldNotCompare:
		f.Message = fmt.Sprintf("%s %s: could not compare versions: %v", p.Name, p.Version, h.err)
	}
	if p.BootedKernel {
		d.BootedKernel = true
		f.Message += " (the kernel the boot loader starts)"
	}
	f.References = references(a)
	sum := sha256.Sum256([]byte(strings.Join([]string{a.ID, q.Ecosystem, p.Name, p.Version, f.Location.Path}, "\x00")))
	f.Fingerprint = hex.EncodeToString(sum[:16])
	return f
}

// references lists the advisory's primary page first, then its links.
func references(a *vulndb.Advisory) []string {
	var out []string
	seen := map[string]bool{}
	add := func(u string) {
		if u != "" && !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	switch {
	case vulndb.IsCVE(a.ID):
		add("https://nvd.nist.gov/vuln/detail/" + a.ID)
	default:
		add("https://osv.dev/vulnerability/" + a.ID)
	}
	for _, r := range a.References {
		if len(out) >= 12 {
			break
		}
		add(r.URL)
	}
	return out
}

// SortNotChecked orders the not-checked list for stable output.
func SortNotChecked(n []NotChecked) {
	sort.Slice(n, func(i, j int) bool {
		if n[i].Ecosystem != n[j].Ecosystem {
			return n[i].Ecosystem < n[j].Ecosystem
		}
		return n[i].Name < n[j].Name
	})
}
