package source

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

// osvRecord is the part of an OSV record bulwark stores.
type osvRecord struct {
	ID               string         `json:"id" yaml:"id"`
	Modified         string         `json:"modified" yaml:"modified"`
	Published        string         `json:"published" yaml:"published"`
	Withdrawn        string         `json:"withdrawn" yaml:"withdrawn"`
	Aliases          []string       `json:"aliases" yaml:"aliases"`
	Summary          string         `json:"summary" yaml:"summary"`
	Details          string         `json:"details" yaml:"details"`
	Severity         []osvSeverity  `json:"severity" yaml:"severity"`
	Affected         []osvAffected  `json:"affected" yaml:"affected"`
	References       []osvReference `json:"references" yaml:"references"`
	DatabaseSpecific map[string]any `json:"database_specific" yaml:"database_specific"`
}

type osvSeverity struct {
	Type  string `json:"type" yaml:"type"`
	Score string `json:"score" yaml:"score"`
}

type osvAffected struct {
	Package struct {
		Ecosystem string `json:"ecosystem" yaml:"ecosystem"`
		Name      string `json:"name" yaml:"name"`
		PURL      string `json:"purl" yaml:"purl"`
	} `json:"package" yaml:"package"`
	Severity []osvSeverity `json:"severity" yaml:"severity"`
	Ranges   []osvRange    `json:"ranges" yaml:"ranges"`
	Versions []string      `json:"versions" yaml:"versions"`
	// EcosystemSpecific differs per ecosystem; only Go's imports[].goos is read.
	EcosystemSpecific map[string]any `json:"ecosystem_specific" yaml:"ecosystem_specific"`
}

// platforms returns the operating systems a Go advisory's vulnerable
// packages are limited to: the union of imports[].goos when every import
// names some, else nil (no limit).
func (af *osvAffected) platforms() []string {
	imports, _ := af.EcosystemSpecific["imports"].([]any)
	seen := map[string]bool{}
	var out []string
	for _, im := range imports {
		m, _ := im.(map[string]any)
		goos, _ := m["goos"].([]any)
		if len(goos) == 0 {
			return nil // this import is vulnerable on every OS
		}
		for _, g := range goos {
			if s, ok := g.(string); ok && s != "" && !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	sort.Strings(out)
	return out
}

type osvRange struct {
	Type   string              `json:"type" yaml:"type"`
	Repo   string              `json:"repo" yaml:"repo"`
	Events []map[string]string `json:"events" yaml:"events"`
}

type osvReference struct {
	Type string `json:"type" yaml:"type"`
	URL  string `json:"url" yaml:"url"`
}

// ParseOSV parses OSV records from one file: a JSON record, a JSON array of
// records, or a YAML record (by the name's extension, or by content when
// it does not start with "{" or "["). kind names the source (osv, ghsa) in
// the advisories. Records and affected entries that cannot be used are
// counted in stats under name, not returned; the error is for a file
// that is not a record at all.
func ParseOSV(kind, name string, data []byte, stats *Stats) ([]vulndb.Advisory, error) {
	var recs []osvRecord
	trimmed := bytes.TrimSpace(data)
	ext := strings.ToLower(filepath.Ext(name))
	switch {
	case bytes.HasPrefix(trimmed, []byte("[")):
		if err := json.Unmarshal(trimmed, &recs); err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
	case bytes.HasPrefix(trimmed, []byte("{")) || ext == ".json":
		var r osvRecord
		if err := json.Unmarshal(trimmed, &r); err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		recs = append(recs, r)
	default:
		var r osvRecord
		if err := yaml.Unmarshal(trimmed, &r); err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		recs = append(recs, r)
	}
	var out []vulndb.Advisory
	for i := range recs {
		if a, ok := convertOSV(kind, name, &recs[i], stats); ok {
			out = append(out, a)
		}
	}
	return out, nil
}

// convertOSV converts one record, counting in stats what it drops; false
// when nothing of the record can be used.
func convertOSV(kind, name string, r *osvRecord, stats *Stats) (vulndb.Advisory, bool) {
	if strings.TrimSpace(r.ID) == "" {
		stats.Skip(SkipBroken, name)
		return vulndb.Advisory{}, false
	}
	if strings.TrimSpace(r.Withdrawn) != "" {
		stats.Skip(SkipWithdrawn, name)
		return vulndb.Advisory{}, false
	}
	a := vulndb.Advisory{
		ID:        strings.TrimSpace(r.ID),
		Summary:   summarize(r.Summary, r.Details),
		Published: parseTime(r.Published),
		Modified:  parseTime(r.Modified),
		Sources:   []string{kind},
	}
	stats.Seen(a.Modified)
	for _, x := range r.Aliases {
		if x = strings.TrimSpace(x); x != "" && x != a.ID {
			a.Aliases = append(a.Aliases, x)
		}
	}
	sort.Strings(a.Aliases)
	a.Aliases = dedupe(a.Aliases)
	addSeverity := func(list []osvSeverity) {
		for _, s := range list {
			t := strings.ToUpper(strings.TrimSpace(s.Type))
			if (t == vulndb.CVSSv2 || t == vulndb.CVSSv3 || t == vulndb.CVSSv4) && strings.TrimSpace(s.Score) != "" {
				a.Severity = appendSeverity(a.Severity, vulndb.Severity{Type: t, Score: strings.TrimSpace(s.Score), Source: kind})
			}
		}
	}
	addSeverity(r.Severity)
	if s, ok := r.DatabaseSpecific["severity"].(string); ok {
		if sev, err := finding.ParseSeverity(s); err == nil {
			a.DatabaseSeverity = sev.String()
		}
	}
	for _, ref := range r.References {
		if u := strings.TrimSpace(ref.URL); u != "" {
			a.References = append(a.References, vulndb.Reference{Type: strings.TrimSpace(ref.Type), URL: u})
		}
	}
	dropped := false
	for _, af := range r.Affected {
		eco, ok := vulndb.NormalizeEcosystem(af.Package.Ecosystem)
		reason := ""
		switch {
		case !ok:
			reason = SkipUnknownEco
		case strings.TrimSpace(af.Package.Name) == "":
			reason = SkipNoPackage
		}
		var ranges []vulndb.Range
		if reason == "" {
			for _, rg := range af.Ranges {
				vr, ok := convertRange(rg)
				if !ok {
					reason = SkipMalformedRange
					break
				}
				ranges = append(ranges, vr)
			}
		}
		if reason != "" {
			stats.Skip(reason, name)
			dropped = true
			continue
		}
		var versions []string
		for _, v := range af.Versions {
			if v = strings.TrimSpace(v); v != "" {
				versions = append(versions, v)
			}
		}
		addSeverity(af.Severity)
		a.Affected = append(a.Affected, vulndb.Affected{
			Ecosystem: eco,
			Package:   vulndb.NormalizeName(eco, af.Package.Name),
			PURL:      strings.TrimSpace(af.Package.PURL),
			Ranges:    ranges,
			Versions:  versions,
			Source:    kind,
			Platforms: af.platforms(),
		})
	}
	if len(a.Affected) == 0 {
		if !dropped { // dropped entries are already counted
			stats.Skip(SkipNoPackage, name)
		}
		return vulndb.Advisory{}, false
	}
	return a, true
}

// convertRange checks an OSV range: a known type, a repo for GIT, events
// with exactly one non-empty field each, and at least one "introduced".
func convertRange(r osvRange) (vulndb.Range, bool) {
	t := strings.ToUpper(strings.TrimSpace(r.Type))
	if t != vulndb.RangeSemver && t != vulndb.RangeEcosystem && t != vulndb.RangeGit {
		return vulndb.Range{}, false
	}
	if t == vulndb.RangeGit && strings.TrimSpace(r.Repo) == "" {
		return vulndb.Range{}, false
	}
	out := vulndb.Range{Type: t, Repo: strings.TrimSpace(r.Repo)}
	introduced := false
	for _, ev := range r.Events {
		if len(ev) != 1 {
			return vulndb.Range{}, false
		}
		var e vulndb.Event
		for k, v := range ev {
			v = strings.TrimSpace(v)
			if v == "" {
				return vulndb.Range{}, false
			}
			switch k {
			case "introduced":
				e.Introduced = v
				introduced = true
			case "fixed":
				e.Fixed = v
			case "last_affected":
				e.LastAffected = v
			case "limit":
				e.Limit = v
			default:
				return vulndb.Range{}, false
			}
		}
		out.Events = append(out.Events, e)
	}
	if !introduced {
		return vulndb.Range{}, false
	}
	return out, true
}

func appendSeverity(list []vulndb.Severity, s vulndb.Severity) []vulndb.Severity {
	for _, x := range list {
		if x.Type == s.Type && x.Score == s.Score {
			return list
		}
	}
	return append(list, s)
}

// dedupe removes adjacent duplicates from a sorted slice.
func dedupe(s []string) []string {
	if len(s) < 2 {
		return s
	}
	out := s[:1]
	for _, x := range s[1:] {
		if x != out[len(out)-1] {
			out = append(out, x)
		}
	}
	return out
}
