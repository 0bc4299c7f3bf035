package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/finding"
)

// Table writes the report for a person: findings grouped by check, most
// serious first, each occurrence with its location, then a summary line.
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
			ew.printf("%-5s - %s: %s\n", level(f), f.ID, f.Title)
		}
		ew.printf("\t* %s\n", occurrence(f))
	}
	active := r.Active()
	counts := map[finding.Severity]int{}
	for _, f := range active {
		counts[f.Severity]++
	}
	var parts []string
	for s := finding.Critical; s >= finding.Unknown; s-- {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%s: %d", s, counts[s]))
		}
	}
	summary := "no findings"
	if len(parts) > 0 {
		summary = fmt.Sprintf("%d finding(s) (%s)", len(active), strings.Join(parts, ", "))
	}
	if suppressed > 0 {
		summary += fmt.Sprintf(", %d suppressed", suppressed)
	}
	ew.printf("\n%s\n", summary)
	for _, warn := range r.Warnings {
		ew.printf("warning: %s\n", warn)
	}
	return ew.err
}

func targetDetail(t finding.Target) string {
	parts := []string{t.Kind}
	if t.Digest != "" {
		parts = append(parts, t.Digest)
	}
	if t.OS != nil {
		parts = append(parts, strings.TrimSpace(t.OS.ID+" "+t.OS.Version))
	}
	return strings.Join(parts, ", ")
}

// level names a finding's severity the way its gate's users know it.
func level(f finding.Finding) string {
	if f.Gate == finding.GateLint {
		return f.Severity.LintLevel()
	}
	return f.Severity.String()
}

// occurrence describes one finding's details and where it is.
func occurrence(f finding.Finding) string {
	var b strings.Builder
	b.WriteString(f.Message)
	if loc := Where(f.Location); loc != "" {
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		b.WriteString("(" + loc + ")")
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

// Where renders a location as "path:line, field, layer N (digest)".
func Where(l finding.Location) string {
	var parts []string
	if l.Path != "" {
		p := "/" + strings.TrimPrefix(l.Path, "/")
		if l.Line > 0 {
			p += fmt.Sprintf(":%d", l.Line)
		}
		if l.Deleted {
			p += " (deleted in a later layer)"
		}
		parts = append(parts, p)
	}
	if l.Field != "" {
		parts = append(parts, l.Field)
	}
	if l.Layer != nil {
		d := l.Layer.Digest
		if d == "" {
			d = l.Layer.DiffID
		}
		if len(d) > 19 {
			d = d[:19]
		}
		s := fmt.Sprintf("layer %d", l.Layer.Index)
		if d != "" {
			s += " " + d
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
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
