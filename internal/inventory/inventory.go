// Package inventory lists the packages in an image or a source tree.
//
// Each ecosystem is an Analyzer in a sub-package (dpkg, apk, rpm, gobinary,
// npm, python, java, ruby, rust, php, dotnet, osrelease); the list of them
// lives in inventory/analyzers. Scan runs them all inside the single
// image.Walk, keeps only what the final image shows, removes language
// packages that an OS package manager installed, merges duplicates and
// fills in package URLs.
//
// The vulnerability matcher consumes an SBOM: SBOM.OS says which distribution
// the OS packages come from, and each Package carries its OSV ecosystem
// name, name and version (plus, for OS packages, the source package name
// and version that distribution advisories are keyed by).
package inventory

import (
	"context"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/bulwark-sec/bulwark/internal/boot"
	"github.com/bulwark-sec/bulwark/internal/finding"
)

// OSV ecosystem names, as Package.Ecosystem uses them.
const (
	Debian    = "Debian"
	Ubuntu    = "Ubuntu"
	Alpine    = "Alpine"
	RPM       = "RPM"
	Go        = "Go"
	NPM       = "npm"
	PyPI      = "PyPI"
	Maven     = "Maven"
	RubyGems  = "RubyGems"
	CratesIO  = "crates.io"
	Packagist = "Packagist"
	NuGet     = "NuGet"
)

// Kind says whether a package comes from the OS package manager or from a
// language ecosystem.
type Kind string

// The kinds of package.
const (
	KindOS   Kind = "os"
	KindLang Kind = "lang"
)

// Location is one file a package was found in.
type Location struct {
	// Path is the file, relative to the image or tree root ("var/lib/dpkg/status").
	Path string `json:"path"`
	// Layer is the layer that added the package (for an OS database that
	// several layers rewrote, the first layer whose copy lists it).
	Layer *finding.LayerRef `json:"layer,omitempty"`
}

// Package is one installed or locked package.
type Package struct {
	// Name is the package name as its ecosystem spells it: "libc6",
	// "github.com/spf13/cobra", "@babel/core", "org.slf4j:slf4j-api".
	Name string `json:"name"`
	// Version is the full version string as the ecosystem compares it
	// (for Debian "1:2.3-4", with the epoch; for RPM "VERSION-RELEASE",
	// without the epoch, which is in Epoch).
	Version string `json:"version"`
	// Ecosystem is the OSV ecosystem name (one of the constants above);
	// for OS packages the matcher adds the release from SBOM.OS.
	Ecosystem string `json:"ecosystem"`
	// Kind is os or lang.
	Kind Kind `json:"type"`
	// PURL is the package URL.
	PURL string `json:"purl"`
	// Licenses are the licence identifiers or names recorded for the package.
	Licenses []string `json:"licenses,omitempty"`
	// SourceName and SourceVersion name the source package a binary
	// package was built from (dpkg Source, apk origin, the source RPM).
	// They equal Name and Version when the metadata names no other.
	SourceName    string `json:"sourceName,omitempty"`
	SourceVersion string `json:"sourceVersion,omitempty"`
	// Epoch is the RPM epoch (0 when none).
	Epoch int `json:"epoch,omitempty"`
	// Release is the RPM release.
	Release string `json:"release,omitempty"`
	// Arch is the architecture of an OS package.
	Arch string `json:"arch,omitempty"`
	// Platform is the operating system a Go binary was built for (its
	// GOOS), so that OS-specific advisories apply only where they should.
	Platform string `json:"platform,omitempty"`
	// Dev is true for a lockfile entry marked as a development dependency.
	Dev bool `json:"dev,omitempty"`
	// BootedKernel is true for the kernel image or modules package of the
	// kernel the boot loader starts (SBOM.Target.Kernel.Booted).
	BootedKernel bool `json:"bootedKernel,omitempty"`
	// Locations lists every file the package was found in.
	Locations []Location `json:"locations"`
}

// Key identifies a package for merging: the same ecosystem, name and version
// found twice is one package.
func (p *Package) Key() string {
	return p.Ecosystem + "\x00" + p.Name + "\x00" + p.Version + "\x00" + p.Arch
}

// OS is the operating system release found in an image.
type OS = finding.OS

// File is one file offered to an analyzer.
type File struct {
	// Path is relative to the root, without a leading slash.
	Path string
	// Size is the content size in bytes.
	Size int64
	// Mode is the file mode (permission bits and type).
	Mode fs.FileMode
	// R yields the content; it is valid only during Analyze.
	R io.Reader
	// Data, when not nil, is the whole content, held in memory by the
	// walk (R reads the same bytes): read-only, valid only during
	// Analyze. An analyzer that needs all of it can take it from here
	// instead of copying it from R.
	Data []byte
	// Link is a symbolic link's target (see LinkAnalyzer).
	Link string
}

// LinkAnalyzer is an Analyzer that also reads symbolic links: Analyze
// gets the links it wants with File.Link set and no content. Other
// analyzers see regular files only.
type LinkAnalyzer interface {
	Analyzer
	// WantLink reports whether the analyzer reads the symlink at p.
	WantLink(p string) bool
}

// Result is what an analyzer found in one file.
type Result struct {
	// Packages found in the file; Locations are filled in by the scan.
	Packages []Package
	// OS is set by the os-release analyzer.
	OS *OSRelease
	// Owned lists files that an OS package manager installed (from dpkg
	// .list files, status.d md5sums, the apk database, the rpmdb); language
	// packages found in them are not reported again.
	Owned []string
	// Licenses holds licences found apart from the package database, by
	// package name (Debian's /usr/share/doc/PACKAGE/copyright files); they
	// fill in OS packages that have none of their own.
	Licenses map[string][]string `json:"licenses,omitempty"`
	// Boot is what a boot loader file says (the boot analyzer).
	Boot *boot.File `json:"boot,omitempty"`
	// Warnings name what in the file was skipped and why.
	Warnings []string
}

// OSRelease is an OS identification with the priority of the file it came
// from (lower wins: /etc/os-release is 0, fallbacks are higher).
type OSRelease struct {
	OS
	Priority int `json:"priority"`
}

// Mode says what is being scanned, since some files mean something only in
// one of them (a requirements.txt in a source tree lists what will be
// installed; in an image it is usually a leftover).
type Mode int

// Scan modes.
const (
	ModeImage Mode = 1 << iota
	ModeTree
)

// Analyzer finds the packages of one ecosystem. Analyzers are called from
// several goroutines at once and must keep no state between calls.
type Analyzer interface {
	// Name identifies the analyzer ("dpkg", "npm").
	Name() string
	// Version changes whenever the analyzer's output for the same input
	// changes, so that cached results are not reused.
	Version() int
	// Modes says which scans the analyzer takes part in.
	Modes() Mode
	// Want reports whether the analyzer reads the file. It sees only the
	// path, size and mode, must be cheap, and is called for every file.
	Want(p string, size int64, mode fs.FileMode) bool
	// Analyze reads one wanted file. An error skips the whole file with a
	// warning naming it; problems with part of a file go in
	// Result.Warnings instead.
	Analyze(ctx context.Context, f *File) (*Result, error)
}

// SBOM is the inventory of one target.
type SBOM struct {
	// Tool and ToolVersion name the program that made the SBOM.
	Tool        string `json:"tool"`
	ToolVersion string `json:"toolVersion"`
	// CreatedAt is when the scan ran.
	CreatedAt time.Time `json:"createdAt"`
	// Target is the image or tree scanned; Target.OS is the OS found.
	Target finding.Target `json:"target"`
	// Packages are sorted by ecosystem, name and version.
	Packages []Package `json:"packages"`
	// Warnings name the files or entries that were skipped and why.
	Warnings []string `json:"warnings,omitempty"`
	// Escapes are the layer entries that leave the image root, skipped
	// (see image.Escape): the image is hostile.
	Escapes []finding.Finding `json:"escapes,omitempty"`
}

// Base returns the last element of a slash path.
func Base(p string) string { return path.Base(p) }

// HasDirPart reports whether the slash path p has dir as one of its
// directory components ("node_modules").
func HasDirPart(p, dir string) bool {
	return strings.HasPrefix(p, dir+"/") || strings.Contains(p, "/"+dir+"/")
}

// LangCandidate reports whether a file an OS package installed could be
// one a language analyzer reads; OS analyzers keep only those in
// Result.Owned, so that the list stays small.
func LangCandidate(p string) bool {
	for _, s := range langSuffixes {
		if strings.HasSuffix(p, s) {
			return true
		}
	}
	for _, s := range langParts {
		if strings.Contains(p, s) {
			return true
		}
	}
	return false
}

var (
	langSuffixes = []string{".jar", ".war", ".ear", ".gemspec", ".deps.json", "/METADATA", "/PKG-INFO", "package.json", ".egg-info"}
	langParts    = []string{"-packages/", ".dist-info/", ".egg-info/", "node_modules/", "/gems/", "bin/", "libexec/"}
)
