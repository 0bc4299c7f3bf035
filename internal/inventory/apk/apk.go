// Package apk reads Alpine's package database, /lib/apk/db/installed.
package apk

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/inventory"
)

const dbPath = "lib/apk/db/installed"

// Analyzer reads the apk database.
type Analyzer struct{}

// Name implements inventory.Analyzer.
func (Analyzer) Name() string { return "apk" }

// Version implements inventory.Analyzer.
func (Analyzer) Version() int { return 1 }

// Modes implements inventory.Analyzer.
func (Analyzer) Modes() inventory.Mode { return inventory.ModeImage | inventory.ModeTree }

// Want implements inventory.Analyzer.
func (Analyzer) Want(p string, _ int64, _ fs.FileMode) bool { return p == dbPath }

// Analyze implements inventory.Analyzer.
func (Analyzer) Analyze(_ context.Context, f *inventory.File) (*inventory.Result, error) {
	pkgs, owned, warnings, err := Parse(f.R, f.Path)
	return &inventory.Result{Packages: pkgs, Owned: owned, Warnings: warnings}, err
}

// Parse reads an apk installed database: paragraphs of "K:value" lines
// (P name, V version, A arch, o origin, L licence, F directory, R file in
// the last F). A paragraph without a name or version is skipped with a
// warning; the files of every package are returned as owned.
func Parse(r io.Reader, name string) ([]inventory.Package, []string, []string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var (
		pkgs     []inventory.Package
		owned    []string
		warnings []string
		cur      inventory.Package
		dir      string
		start    = 1
		line     int
		bad      string
		any      bool
	)
	flush := func() {
		if any {
			switch {
			case bad != "":
				warnings = append(warnings, fmt.Sprintf("%s: package at line %d skipped: %s", name, start, bad))
			case cur.Name == "" || cur.Version == "":
				warnings = append(warnings, fmt.Sprintf("%s: package at line %d skipped: no P: (name) or V: (version) line", name, start))
			default:
				cur.Ecosystem, cur.Kind = inventory.Alpine, inventory.KindOS
				if cur.SourceName == "" {
					cur.SourceName = cur.Name
				}
				cur.SourceVersion = cur.Version
				pkgs = append(pkgs, cur)
			}
		}
		cur, dir, bad, any = inventory.Package{}, "", "", false
		start = line + 1
	}
	for sc.Scan() {
		line++
		text := sc.Text()
		if text == "" {
			flush()
			continue
		}
		any = true
		if len(text) < 2 || text[1] != ':' {
			if bad == "" {
				bad = fmt.Sprintf("line %d is not a \"K:value\" line", line)
			}
			continue
		}
		v := text[2:]
		switch text[0] {
		case 'P':
			cur.Name = v
		case 'V':
			cur.Version = v
		case 'A':
			cur.Arch = v
		case 'o':
			cur.SourceName = v
		case 'L':
			if v != "" {
				cur.Licenses = splitLicense(v)
			}
		case 'F':
			dir = v
		case 'R':
			p := v
			if dir != "" {
				p = dir + "/" + v
			}
			if inventory.LangCandidate(p) {
				owned = append(owned, p)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return pkgs, owned, warnings, err
	}
	flush()
	return pkgs, owned, warnings, nil
}

// splitLicense splits an apk licence expression written with spaces
// ("MIT AND BSD-2-Clause" stays whole; "GPL-2.0-only" is one).
func splitLicense(v string) []string {
	return []string{strings.TrimSpace(v)}
}
