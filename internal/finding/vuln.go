package finding

// VulnDetail holds what a vulnerability finding adds to a Finding.
type VulnDetail struct {
	Package          string `json:"package"`
	Ecosystem        string `json:"ecosystem"`
	InstalledVersion string `json:"installedVersion"`
	FixedVersion     string `json:"fixedVersion,omitempty"`
	PURL             string `json:"purl,omitempty"`
	// Status is "fixed" (a fix exists), "affected" (no fix yet) or
	// "could-not-compare" (a version did not parse).
	Status string `json:"status,omitempty"`
	// TrackerStatus is what a distribution's tracker says about an
	// unfixed vulnerability ("no-dsa", "ignored", "postponed", ...).
	TrackerStatus string `json:"trackerStatus,omitempty"`
	// SourcePackage and SourceVersion are the source package the
	// distribution's advisories name, when it differs from Package.
	SourcePackage string   `json:"sourcePackage,omitempty"`
	SourceVersion string   `json:"sourceVersion,omitempty"`
	Aliases       []string `json:"aliases,omitempty"`
	CVSSVector    string   `json:"cvssVector,omitempty"`
	CVSSScore     float64  `json:"cvssScore,omitempty"`
	// SeveritySource names where the severity came from (the advisory's
	// CVSS, the distribution, NVD).
	SeveritySource string `json:"severitySource,omitempty"`
	// FromBase is true when the package comes from the base image layers.
	FromBase bool    `json:"fromBase,omitempty"`
	KEV      bool    `json:"kev,omitempty"`
	EPSS     float64 `json:"epss,omitempty"`
}
