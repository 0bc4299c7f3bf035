// Package severity scores CVSS vectors (v2, v3.0, v3.1, v4.0) and rates an
// advisory: which of its sources' severities a finding carries.
package severity

import (
	"fmt"
	"strings"

	cvss20 "github.com/pandatix/go-cvss/20"
	cvss30 "github.com/pandatix/go-cvss/30"
	cvss31 "github.com/pandatix/go-cvss/31"
	cvss40 "github.com/pandatix/go-cvss/40"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

// Score is a scored CVSS vector.
type Score struct {
	// Version is "2.0", "3.0", "3.1" or "4.0".
	Version string
	// Vector is the vector string as the source wrote it.
	Vector string
	// Base is the base score (CVSS v4: the CVSS-B score), 0.0 to 10.0.
	Base float64
}

// ScoreVector scores a CVSS v2, v3.0, v3.1 or v4.0 vector. v2 vectors may
// carry an "(AV:N/...)" wrapping or a "CVSS:2.0/" prefix.
func ScoreVector(vector string) (Score, error) {
	v := strings.TrimSpace(vector)
	switch {
	case strings.HasPrefix(v, "CVSS:4.0/"):
		c, err := cvss40.ParseVector(v)
		if err != nil {
			return Score{}, fmt.Errorf("CVSS vector %q: %w", vector, err)
		}
		return Score{Version: "4.0", Vector: v, Base: c.Score()}, nil
	case strings.HasPrefix(v, "CVSS:3.1/"):
		c, err := cvss31.ParseVector(v)
		if err != nil {
			return Score{}, fmt.Errorf("CVSS vector %q: %w", vector, err)
		}
		return Score{Version: "3.1", Vector: v, Base: c.BaseScore()}, nil
	case strings.HasPrefix(v, "CVSS:3.0/"):
		c, err := cvss30.ParseVector(v)
		if err != nil {
			return Score{}, fmt.Errorf("CVSS vector %q: %w", vector, err)
		}
		return Score{Version: "3.0", Vector: v, Base: c.BaseScore()}, nil
	}
	v2 := strings.TrimSuffix(strings.TrimPrefix(v, "("), ")")
	v2 = strings.TrimPrefix(v2, "CVSS:2.0/")
	c, err := cvss20.ParseVector(v2)
	if err != nil {
		return Score{}, fmt.Errorf("CVSS vector %q: %w", vector, err)
	}
	return Score{Version: "2.0", Vector: v, Base: c.BaseScore()}, nil
}

// Rating maps a CVSS base score onto a severity: the v3/v4 qualitative
// scale (0.1-3.9 low, 4.0-6.9 medium, 7.0-8.9 high, 9.0-10.0 critical);
// for v2, NVD's (0-3.9 low, 4.0-6.9 medium, 7.0-10.0 high).
func (s Score) Rating() finding.Severity {
	if s.Version == "2.0" {
		switch {
		case s.Base >= 7.0:
			return finding.High
		case s.Base >= 4.0:
			return finding.Medium
		}
		return finding.Low
	}
	switch {
	case s.Base >= 9.0:
		return finding.Critical
	case s.Base >= 7.0:
		return finding.High
	case s.Base >= 4.0:
		return finding.Medium
	case s.Base > 0:
		return finding.Low
	}
	return finding.Unknown
}

// Rated is the severity chosen for an advisory and where it came from.
type Rated struct {
	Severity finding.Severity
	// Source says where the severity came from: "ghsa CVSS 3.1",
	// "ghsa", "debian urgency", "nvd CVSS 3.1", or "" when nothing rated it.
	Source string
	Score  *Score
}

// versionRank prefers the newest CVSS version a source gives.
var versionRank = map[string]int{"4.0": 4, "3.1": 3, "3.0": 2, "2.0": 1}

// Rate picks an advisory's severity: the advisory's own CVSS vector (the
// newest version any non-NVD source gives), else the advisory database's
// own rating, else the distribution's rating of the package, else NVD's
// CVSS, else UNKNOWN. Vectors that do not parse are skipped.
func Rate(a *vulndb.Advisory, distro *vulndb.DistroStatus) Rated {
	pick := func(nvd bool) *Rated {
		var best *Rated
		for _, s := range a.Severity {
			if (s.Source == "nvd") != nvd {
				continue
			}
			sc, err := ScoreVector(s.Score)
			if err != nil {
				continue
			}
			if best != nil && versionRank[sc.Version] <= versionRank[best.Score.Version] {
				continue
			}
			src := s.Source
			if src == "" {
				src = "advisory"
			}
			best = &Rated{Severity: sc.Rating(), Source: src + " CVSS " + sc.Version, Score: &sc}
		}
		return best
	}
	if r := pick(false); r != nil {
		return *r
	}
	if a.DatabaseSeverity != "" {
		if s, err := finding.ParseSeverity(a.DatabaseSeverity); err == nil && s != finding.Unknown {
			src := "advisory"
			if len(a.Sources) > 0 {
				src = a.Sources[0]
			}
			for _, x := range a.Sources {
				if x == "ghsa" {
					src = "ghsa"
				}
			}
			return Rated{Severity: s, Source: src}
		}
	}
	if distro != nil {
		if s, ok := urgency(distro.Urgency); ok {
			return Rated{Severity: s, Source: "distribution urgency"}
		}
	}
	if r := pick(true); r != nil {
		return *r
	}
	return Rated{Severity: finding.Unknown}
}

// urgency maps a Debian tracker urgency onto a severity.
func urgency(u string) (finding.Severity, bool) {
	u = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(u)), "*")
	switch u {
	case "unimportant", "low", "negligible":
		return finding.Low, true
	case "medium":
		return finding.Medium, true
	case "high":
		return finding.High, true
	case "critical":
		return finding.Critical, true
	}
	return finding.Unknown, false
}
