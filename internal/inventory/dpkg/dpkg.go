// Package dpkg reads Debian's package database: /var/lib/dpkg/status, the
// per-package files of distroless images under /var/lib/dpkg/status.d/, the
// file lists (/var/lib/dpkg/info/*.list, status.d/*.md5sums) that say
// which files the packages installed, and the licences that
// machine-readable /usr/share/doc/PACKAGE/copyright files name.
package dpkg

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/inventory"
)

const (
	statusFile = "var/lib/dpkg/status"
	statusDir  = "var/lib/dpkg/status.d/"
	infoDir    = "var/lib/dpkg/info/"
	docDir     = "usr/share/doc/"
	// maxCopyright bounds a copyright file read for licences.
	maxCopyright = 4 << 20
	// maxLine bounds one line of a status file (long descriptions and
	// conffile lists fit easily).
	maxLine = 1 << 20
)

// Analyzer reads dpkg databases.
type Analyzer struct{}

// Name implements inventory.Analyzer.
func (Analyzer) Name() string { return "dpkg" }

// Version implements inventory.Analyzer.
func (Analyzer) Version() int { return 2 }

// Modes implements inventory.Analyzer.
func (Analyzer) Modes() inventory.Mode { return inventory.ModeImage | inventory.ModeTree }

// Want implements inventory.Analyzer.
func (Analyzer) Want(p string, size int64, _ fs.FileMode) bool {
	if p == statusFile {
		return true
	}
	if rest, ok := strings.CutPrefix(p, statusDir); ok {
		return rest != "" && !strings.Contains(rest, "/")
	}
	if rest, ok := strings.CutPrefix(p, infoDir); ok {
		return strings.HasSuffix(rest, ".list") && !strings.Contains(rest, "/")
	}
	if rest, ok := strings.CutPrefix(p, docDir); ok {
		pkg, file, ok := strings.Cut(rest, "/")
		return ok && file == "copyright" && pkg != "" && size <= maxCopyright
	}
	return false
}

// Analyze implements inventory.Analyzer.
func (Analyzer) Analyze(_ context.Context, f *inventory.File) (*inventory.Result, error) {
	switch {
	case strings.HasPrefix(f.Path, infoDir):
		owned, err := ReadFileList(f.R, false)
		return &inventory.Result{Owned: owned}, err
	case strings.HasPrefix(f.Path, statusDir) && strings.HasSuffix(f.Path, ".md5sums"):
		owned, err := ReadFileList(f.R, true)
		return &inventory.Result{Owned: owned}, err
	case strings.HasPrefix(f.Path, docDir):
		ls, err := CopyrightLicenses(f.R)
		if err != nil || len(ls) == 0 {
			return nil, err
		}
		pkg, _, _ := strings.Cut(strings.TrimPrefix(f.Path, docDir), "/")
		return &inventory.Result{Licenses: map[string][]string{pkg: ls}}, nil
	}
	pkgs, warnings, err := ParseStatus(f.R, f.Path)
	return &inventory.Result{Packages: pkgs, Warnings: warnings}, err
}

// ReadFileList reads a dpkg .list file (one absolute path a line) or, with
// md5sums set, an md5sums file ("HASH  path"), keeping the paths a language
// analyzer could read.
func ReadFileList(r io.Reader, md5sums bool) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	var out []string
	for sc.Scan() {
		line := sc.Text()
		if md5sums {
			_, p, ok := strings.Cut(line, " ")
			if !ok {
				continue
			}
			line = strings.TrimLeft(p, " *")
		}
		p := strings.TrimPrefix(strings.TrimPrefix(line, "."), "/")
		if p != "" && inventory.LangCandidate(p) {
			out = append(out, p)
		}
	}
	return out, sc.Err()
}

// stanza is one paragraph of a control file: field name to value, with
// continuation lines joined by newlines.
type stanza map[string]string

// ParseStatus reads a status file (or a status.d file) and returns the
// installed packages. A malformed paragraph is skipped with a warning
// naming it; the rest are still returned.
func ParseStatus(r io.Reader, name string) ([]inventory.Package, []string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	var (
		pkgs     []inventory.Package
		warnings []string
		cur      = stanza{}
		last     string
		start    = 1
		line     int
		bad      string
	)
	flush := func() {
		if len(cur) > 0 || bad != "" {
			p, err := toPackage(cur)
			switch {
			case bad != "" && cur["Package"] != "":
				warnings = append(warnings, fmt.Sprintf("%s: package %s (paragraph at line %d) skipped: %s", name, cur["Package"], start, bad))
			case bad != "":
				warnings = append(warnings, fmt.Sprintf("%s: paragraph at line %d skipped: %s", name, start, bad))
			case err != nil:
				warnings = append(warnings, fmt.Sprintf("%s: paragraph at line %d skipped: %v", name, start, err))
			case p != nil:
				pkgs = append(pkgs, *p)
			}
		}
		cur, last, bad = stanza{}, "", ""
		start = line + 1
	}
	for sc.Scan() {
		line++
		text := sc.Text()
		if strings.TrimSpace(text) == "" {
			flush()
			continue
		}
		if text[0] == ' ' || text[0] == '\t' {
			if last == "" {
				if bad == "" {
					bad = fmt.Sprintf("line %d continues no field", line)
				}
				continue
			}
			cur[last] += "\n" + strings.TrimSpace(text)
			continue
		}
		k, v, ok := strings.Cut(text, ":")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			if bad == "" {
				bad = fmt.Sprintf("line %d is not a \"Field: value\" line", line)
			}
			continue
		}
		last = k
		cur[k] = strings.TrimSpace(v)
	}
	if err := sc.Err(); err != nil {
		return pkgs, warnings, err
	}
	flush()
	return pkgs, warnings, nil
}

// toPackage turns one paragraph into a package; it returns nil for a
// package that is not installed (removed, config files only).
func toPackage(s stanza) (*inventory.Package, error) {
	name, version := s["Package"], s["Version"]
	if name == "" {
		return nil, fmt.Errorf("no Package field")
	}
	if st, ok := s["Status"]; ok {
		f := strings.Fields(st)
		if len(f) != 3 {
			return nil, fmt.Errorf("package %s: malformed Status %q", name, st)
		}
		if f[2] != "installed" {
			return nil, nil
		}
	}
	if version == "" {
		return nil, fmt.Errorf("package %s: no Version field", name)
	}
	if strings.ContainsAny(name, " \t\n/") || strings.ContainsAny(version, " \t\n") {
		return nil, fmt.Errorf("package %q: malformed name or version %q", name, version)
	}
	p := &inventory.Package{
		Name: name, Version: version, Ecosystem: inventory.Debian, Kind: inventory.KindOS,
		Arch: s["Architecture"], SourceName: name, SourceVersion: version,
	}
	if src := s["Source"]; src != "" {
		n, v, hasVersion := strings.Cut(src, " ")
		p.SourceName = n
		if hasVersion {
			v = strings.TrimSpace(v)
			if !strings.HasPrefix(v, "(") || !strings.HasSuffix(v, ")") || len(v) < 3 {
				return nil, fmt.Errorf("package %s: malformed Source %q", name, src)
			}
			p.SourceVersion = v[1 : len(v)-1]
		}
	}
	if strings.HasPrefix(p.SourceName, "linux-signed") {
		// Debian's signed kernel images (linux-image-*) come from
		// linux-signed-ARCH, whose version is the binary's with "+" for
		// "-"; advisories name the unsigned source, linux, at the
		// binary's version.
		p.SourceName, p.SourceVersion = "linux", p.Version
	}
	return p, nil
}

// CopyrightLicenses returns the licence short names a machine-readable
// (DEP-5) copyright file gives in its "License:" fields, each once, in
// order; nil for a free-form file, which names no licence reliably.
func CopyrightLicenses(r io.Reader) ([]string, error) {
	sc := bufio.NewScanner(io.LimitReader(r, maxCopyright))
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	var out []string
	seen := map[string]bool{}
	first := true
	for sc.Scan() {
		line := sc.Text()
		if first {
			first = false
			if !strings.HasPrefix(line, "Format:") {
				return nil, nil
			}
			continue
		}
		v, ok := strings.CutPrefix(line, "License:")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if v != "" && len(v) < 200 && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out, sc.Err()
}
