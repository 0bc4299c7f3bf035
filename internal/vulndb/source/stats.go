package source

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

// Reasons a record or file is skipped.
const (
	SkipBroken         = "broken JSON/YAML"
	SkipUnknownEco     = "unknown ecosystem"
	SkipMalformedRange = "malformed range"
	SkipWithdrawn      = "withdrawn"
	SkipNoPackage      = "no affected package"
	SkipBadRow         = "malformed row"
	SkipRejected       = "rejected"
)

// maxExamples is how many file names a summary lists per skip reason.
const maxExamples = 3

// Stats counts what a loader read and skipped from one source.
type Stats struct {
	// Kind is the source kind (osv, ghsa, nvd, ...), Location its path.
	Kind, Location string
	// Files is the number of files read, Records the records kept.
	Files, Records int
	// Date is the newest date found in the source.
	Date time.Time
	// Skipped counts skipped records (or entries) by reason.
	Skipped map[string]int
	// Examples holds the first few file names per reason.
	Examples map[string][]string
}

// NewStats returns empty stats for a source.
func NewStats(kind, location string) *Stats {
	return &Stats{Kind: kind, Location: location, Skipped: map[string]int{}, Examples: map[string][]string{}}
}

// Skip counts one skipped record or entry.
func (s *Stats) Skip(reason, file string) {
	s.Skipped[reason]++
	ex := s.Examples[reason]
	if len(ex) < maxExamples && (len(ex) == 0 || ex[len(ex)-1] != file) {
		s.Examples[reason] = append(ex, file)
	}
}

// SkippedTotal is the number of skipped records and entries.
func (s *Stats) SkippedTotal() int {
	n := 0
	for _, c := range s.Skipped {
		n += c
	}
	return n
}

// Seen records a date found in the source.
func (s *Stats) Seen(t time.Time) {
	if t.After(s.Date) {
		s.Date = t
	}
}

// Info returns the source's entry for the database metadata.
func (s *Stats) Info() vulndb.SourceInfo {
	return vulndb.SourceInfo{Kind: s.Kind, Location: s.Location, Date: s.Date, Records: s.Records, Skipped: s.SkippedTotal()}
}

// String summarizes the stats in one line plus one line per skip reason.
func (s *Stats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d records", s.Kind, s.Location, s.Records)
	if !s.Date.IsZero() {
		fmt.Fprintf(&b, " (as of %s)", s.Date.UTC().Format("2006-01-02"))
	}
	reasons := make([]string, 0, len(s.Skipped))
	for r := range s.Skipped {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		fmt.Fprintf(&b, "\n  skipped %d (%s), e.g. %s", s.Skipped[r], r, strings.Join(s.Examples[r], ", "))
	}
	return b.String()
}

// parseTime reads an RFC 3339 date, or a plain date; zero when it cannot.
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04:05.000", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Year() <= 1 {
				return time.Time{}
			}
			return t.UTC()
		}
	}
	return time.Time{}
}

// summarize returns a one-line summary: the summary, or the first line of
// the details, cut at a word near maxSummary bytes.
func summarize(summary, details string) string {
	s := strings.TrimSpace(summary)
	if s == "" {
		s = strings.TrimSpace(details)
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = strings.TrimSpace(s[:i])
		}
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxSummary {
		cut := strings.LastIndexByte(s[:maxSummary], ' ')
		if cut < maxSummary/2 {
			cut = maxSummary
		}
		s = strings.ToValidUTF8(s[:cut], "") + "..."
	}
	return s
}

// maxSummary bounds a stored summary.
const maxSummary = 240

// Merge adds the counts of o to s.
func (s *Stats) Merge(o *Stats) {
	s.Files += o.Files
	s.Records += o.Records
	s.Seen(o.Date)
	for r, n := range o.Skipped {
		s.Skipped[r] += n
		ex := append(s.Examples[r], o.Examples[r]...)
		sort.Strings(ex)
		ex = dedupe(ex)
		if len(ex) > maxExamples {
			ex = ex[:maxExamples]
		}
		s.Examples[r] = ex
	}
}

// collect returns the advisories a distribution feed built up by ID, in ID
// order, and counts them as records.
func (s *Stats) collect(byID map[string]*vulndb.Advisory) []vulndb.Advisory {
	out := make([]vulndb.Advisory, 0, len(byID))
	for _, a := range byID {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	s.Records += len(out)
	return out
}
