package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/bulwark-sec/bulwark/internal/finding"
)

// Table writes the report for a person: findings grouped by check, most
// serious first, each occurrence with its location, then a summary line.
// Each finding shows its gate's level names (Dockle's FATAL/WARN/INFO for
// lint). Warnings are not part of the table: commands print them on
// stderr.
func Table(w io.Writer, r *finding.Report) error {
	ew := &errWriter{w: w}
	ew.printf("%s (%s)\n", r.Target.Name, targetDetail(r.Target))
	var last string
	suppressed := 0
	for _, f := range r.Findings {
		if f.Suppressed != nil {
			suppressed++
		}
		key := string(f.Gate) + "\x00" + f.ID
		if key != last {
			last = key
			ew.printf("%-5s - %s: %s\n", f.Level(), f.ID, f.Title)
		}
		ew.printf("\t* %s\n", occurrence(f))
	}
	summary := "no findings"
	if active := r.Active(); len(active) > 0 {
		summary = fmt.Sprintf("%d finding(s) (%s)", len(active), countByLevel(active))
	}
	if suppressed > 0 {
		summary += fmt.Sprintf(", %d suppressed", suppressed)
	}
	ew.printf("\n%s\n", summary)
	if d := r.Database; d != nil {
		ew.printf("vulnerability database: built %s (schema %d)\n", d.BuiltAt.UTC().Format(time.RFC3339), d.SchemaVersion)
	}
	return ew.err
}

// countByLevel counts findings by the level names their gates use, most
// serious first: "CRITICAL: 2, HIGH: 1" for one gate, "vuln: CRITICAL: 2;
// lint: FATAL: 1" when several gates are in the report.
func countByLevel(fs []finding.Finding) string {
	var gates []finding.Gate
	counts := map[finding.Gate]map[finding.Severity]int{}
	for _, f := range fs {
		if counts[f.Gate] == nil {
			counts[f.Gate] = map[finding.Severity]int{}
			gates = append(gates, f.Gate)
		}
		counts[f.Gate][f.Severity]++
	}
	var per []string
	for _, g := range gates {
		var parts []string
		for s := finding.Critical; s >= finding.Unknown; s-- {
			if n := counts[g][s]; n > 0 {
				parts = append(parts, fmt.Sprintf("%s: %d", finding.LevelName(g, s), n))
			}
		}
		if len(gates) > 1 {
			per = append(per, fmt.Sprintf("%s: %s", g, strings.Join(parts, ", ")))
		} else {
			per = append(per, strings.Join(parts, ", "))
		}
	}
	return strings.Join(per, "; ")
}

func targetDetail(t finding.Target) string {
	parts := []string{t.Kind}
	if t.Digest != "" {
		parts = append(parts, t.Digest)
	}
	if t.OS != nil {
		parts = append(parts, strings.TrimSpace(t.OS.ID+" "+t.OS.Version))
	}
	if t.Kernel != nil && t.Kernel.Booted != "" {
		parts = append(parts, "boots kernel "+t.Kernel.Booted)
	}
	return strings.Join(parts, ", ")
}

// occurrence describes one finding's details and where it is.
func occurrence(f finding.Finding) string {
	var b strings.Builder
	b.WriteString(f.Message)
	if loc := f.Location.String(); loc != "" {
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		b.WriteString("(" + loc + ")")
	}
	if c := commitOf(f); c != "" {
		b.WriteString(" " + c)
	}
	if f.Suppressed != nil {
		fmt.Fprintf(&b, " [suppressed: %s", f.Suppressed.Kind)
		if f.Suppressed.Reason != "" {
			b.WriteString(": " + f.Suppressed.Reason)
		}
		b.WriteString("]")
	}
	return b.String()
}

// commitOf names the git commit a finding from history was added in, with
// its author and date: "[commit 1a2b3c4d by Ann <ann@example.com>,
// 2024-05-01T10:00:00Z]"; empty for findings outside git history.
func commitOf(f finding.Finding) string {
	if f.Secret == nil || f.Secret.Commit == "" {
		return ""
	}
	c := f.Secret.Commit
	if len(c) > 12 {
		c = c[:12]
	}
	s := "[commit " + c
	if f.Secret.Author != "" {
		s += " by " + f.Secret.Author
	}
	if f.Secret.Date != "" {
		s += ", " + f.Secret.Date
	}
	return s + "]"
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
