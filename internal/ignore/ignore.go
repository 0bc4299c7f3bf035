// Package ignore reads ignore lists (IDs to suppress, one per line, as
// .dockleignore and .trivyignore hold them) and applies them to a report.
package ignore

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/bulwark-sec/bulwark/internal/finding"
)

// Rule suppresses one finding ID.
type Rule struct {
	ID string
	// Reason is the comment given on the rule's line, if any.
	Reason string
	// Expires, when not zero, is the day after which the rule no longer applies.
	Expires time.Time
	// Source is "FILE:LINE" or "--ignore".
	Source string
}

// List is a set of ignore rules.
type List []Rule

// maxFileSize bounds an ignore file.
const maxFileSize = 4 << 20

// ParseFile reads an ignore file. Each line holds an ID, optionally
// followed by "exp:YYYY-MM-DD" and a "# reason"; blank lines and lines
// starting with # are skipped.
func ParseFile(path string) (List, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ignore file: %w", err)
	}
	defer f.Close()
	l, err := Parse(io.LimitReader(f, maxFileSize), path)
	if err != nil {
		return nil, fmt.Errorf("ignore file %s: %w", path, err)
	}
	return l, nil
}

// Parse reads ignore rules from r; name is used in Source and errors.
func Parse(r io.Reader, name string) (List, error) {
	var l List
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		body, reason, _ := strings.Cut(line, "#")
		fields := strings.Fields(body)
		rule := Rule{ID: fields[0], Reason: strings.TrimSpace(reason), Source: fmt.Sprintf("%s:%d", name, n)}
		for _, f := range fields[1:] {
			d, ok := strings.CutPrefix(f, "exp:")
			if !ok {
				return nil, fmt.Errorf("line %d: unexpected %q (want ID [exp:YYYY-MM-DD] [# reason])", n, f)
			}
			t, err := time.Parse("2006-01-02", d)
			if err != nil {
				return nil, fmt.Errorf("line %d: expiry %q is not a date YYYY-MM-DD", n, d)
			}
			rule.Expires = t
		}
		l = append(l, rule)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return l, nil
}

// FromIDs makes rules from IDs given on the command line.
func FromIDs(ids []string, source string) List {
	var l List
	for _, id := range ids {
		for _, part := range strings.Split(id, ",") {
			if part = strings.TrimSpace(part); part != "" {
				l = append(l, Rule{ID: part, Source: source})
			}
		}
	}
	return l
}

// Apply marks the findings the list covers as suppressed; rules past their
// expiry date no longer apply. A rule naming one of a vulnerability's
// aliases (a CVE for a GHSA finding, as .trivyignore files list them)
// covers it too.
func (l List) Apply(r *finding.Report, now time.Time) {
	for i := range r.Findings {
		f := &r.Findings[i]
		if f.Suppressed != nil {
			continue
		}
		for _, rule := range l {
			if rule.ID != f.ID && !isAlias(f, rule.ID) {
				continue
			}
			if !rule.Expires.IsZero() && now.After(rule.Expires.Add(24*time.Hour)) {
				continue
			}
			f.Suppressed = &finding.Suppression{Kind: "ignore", Reason: rule.Reason, Source: rule.Source}
			break
		}
	}
}

// isAlias reports whether id is one of a vulnerability finding's aliases.
func isAlias(f *finding.Finding, id string) bool {
	if f.Vuln == nil {
		return false
	}
	for _, a := range f.Vuln.Aliases {
		if a == id {
			return true
		}
	}
	return false
}
