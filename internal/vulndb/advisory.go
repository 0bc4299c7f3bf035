// Package vulndb is bulwark's local vulnerability database: the advisory
// model the matcher consumes, the compact on-disk file that holds it, and
// the query API (Open, Lookup). Loading advisory sources lives in
// vulndb/source, building the file in vulndb/build, and keeping it current
// in vulndb/update.
package vulndb

import (
	"strings"
	"time"
)

// Advisory is one vulnerability as the database stores it: the records of
// every source that describe it (merged by their aliases), with the affected
// packages, severities and exploit data.
type Advisory struct {
	// ID is the identifier of the highest-priority source record
	// (GO-..., PYSEC-..., GHSA-..., or a CVE for distribution data).
	ID string `json:"id"`
	// Aliases lists the other identifiers of the same vulnerability.
	Aliases []string `json:"aliases,omitempty"`
	// Summary is a one-line description.
	Summary string `json:"summary,omitempty"`
	// Published and Modified are the record's dates, zero when unknown.
	Published time.Time `json:"published,omitzero"`
	Modified  time.Time `json:"modified,omitzero"`
	// Severity lists CVSS vectors, each with the source that gave it.
	Severity []Severity `json:"severity,omitempty"`
	// DatabaseSeverity is a source's own rating (GHSA's "HIGH", ...),
	// already mapped onto bulwark's names (UNKNOWN..CRITICAL), or "".
	DatabaseSeverity string `json:"databaseSeverity,omitempty"`
	// References are links to the advisory, fixes and reports.
	References []Reference `json:"references,omitempty"`
	// Affected lists the affected packages. Lookup returns only the
	// entries of the package asked for.
	Affected []Affected `json:"affected,omitempty"`
	// Sources names the sources that contributed (osv, ghsa, nvd, ...).
	Sources []string `json:"sources,omitempty"`
	// KEV is set when a CVE of the advisory is in the CISA KEV catalogue.
	KEV *KEV `json:"kev,omitempty"`
	// EPSS is the highest EPSS score of the advisory's CVEs, if known.
	EPSS *EPSS `json:"epss,omitempty"`
}

// Severity is one severity rating as OSV writes it.
type Severity struct {
	// Type is CVSS_V2, CVSS_V3 or CVSS_V4.
	Type string `json:"type"`
	// Score is the CVSS vector string.
	Score string `json:"score"`
	// Source is the source that gave the vector (ghsa, nvd, osv, ...).
	Source string `json:"source,omitempty"`
}

// The severity types.
const (
	CVSSv2 = "CVSS_V2"
	CVSSv3 = "CVSS_V3"
	CVSSv4 = "CVSS_V4"
)

// Reference is a link about the vulnerability.
type Reference struct {
	Type string `json:"type,omitempty"`
	URL  string `json:"url"`
}

// Affected says which versions of one package are affected.
type Affected struct {
	// Ecosystem is the OSV ecosystem name ("Go", "PyPI", "Debian:12", ...).
	Ecosystem string `json:"ecosystem"`
	// Package is the package name, normalized for its ecosystem (see
	// NormalizeName); for Debian and Alpine it is the source package.
	Package string `json:"package"`
	// PURL is the package URL the source gave, if any.
	PURL string `json:"purl,omitempty"`
	// Ranges are the OSV affected ranges.
	Ranges []Range `json:"ranges,omitempty"`
	// Versions lists affected versions explicitly.
	Versions []string `json:"versions,omitempty"`
	// Distro is set for distribution data (Debian tracker, Alpine secdb).
	Distro *DistroStatus `json:"distro,omitempty"`
	// Platforms, when set, are the only operating systems (GOOS values)
	// the vulnerable code is built for, as the Go vulnerability database
	// records in ecosystem_specific.imports[].goos; empty means all.
	Platforms []string `json:"platforms,omitempty"`
	// Source names the source of this entry.
	Source string `json:"source,omitempty"`
}

// Range is an OSV affected range.
type Range struct {
	// Type is SEMVER, ECOSYSTEM or GIT.
	Type string `json:"type"`
	// Repo is the repository URL of a GIT range.
	Repo   string  `json:"repo,omitempty"`
	Events []Event `json:"events"`
}

// The range types.
const (
	RangeSemver    = "SEMVER"
	RangeEcosystem = "ECOSYSTEM"
	RangeGit       = "GIT"
)

// Event is one OSV range event; exactly one field is set.
type Event struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

// DistroStatus is what a distribution's tracker says about one source
// package in one release.
type DistroStatus struct {
	// Release is the release as the tracker names it ("bookworm", "v3.19").
	Release string `json:"release"`
	// Status is one of the Status constants.
	Status string `json:"status"`
	// FixedVersion is the first fixed version, "" when not fixed.
	FixedVersion string `json:"fixedVersion,omitempty"`
	// Urgency is the tracker's urgency ("low", "medium", "unimportant", ...).
	Urgency string `json:"urgency,omitempty"`
	// Note is the tracker's comment (the reason for <no-dsa>, ...).
	Note string `json:"note,omitempty"`
}

// Distribution statuses. Not-affected entries are not stored.
const (
	// StatusFixed: fixed in FixedVersion.
	StatusFixed = "fixed"
	// StatusOpen: affected, no fix yet (the tracker's "open" or "unfixed").
	StatusOpen = "open"
	// StatusUndetermined: the tracker has not decided yet.
	StatusUndetermined = "undetermined"
	// StatusNoDSA: affected, minor issue, no security advisory planned (<no-dsa>).
	StatusNoDSA = "no-dsa"
	// StatusIgnored: affected, will not be fixed (<ignored>).
	StatusIgnored = "ignored"
	// StatusPostponed: affected, fix postponed to a point release (<postponed>).
	StatusPostponed = "postponed"
	// StatusEndOfLife: the package is no longer supported (<end-of-life>).
	StatusEndOfLife = "end-of-life"
)

// KEV is an entry of the CISA Known Exploited Vulnerabilities catalogue.
type KEV struct {
	CVE       string `json:"cve"`
	DateAdded string `json:"dateAdded,omitempty"`
	DueDate   string `json:"dueDate,omitempty"`
	// Ransomware is true when the catalogue says "Known" ransomware use.
	Ransomware bool `json:"ransomware,omitempty"`
}

// EPSS is an Exploit Prediction Scoring System score.
type EPSS struct {
	CVE        string  `json:"cve"`
	Score      float64 `json:"score"`
	Percentile float64 `json:"percentile"`
}

// CVEs returns the CVE identifiers among the ID and aliases.
func (a *Advisory) CVEs() []string {
	var out []string
	if IsCVE(a.ID) {
		out = append(out, a.ID)
	}
	for _, x := range a.Aliases {
		if IsCVE(x) {
			out = append(out, x)
		}
	}
	return out
}

// IsCVE reports whether id looks like a CVE identifier.
func IsCVE(id string) bool { return strings.HasPrefix(id, "CVE-") }
