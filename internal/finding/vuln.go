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
	FromBase bool `json:"fromBase,omitempty"`
	KEV      bool `json:"kev,omitempty"`
	// BootedKernel is true when the package is the kernel the boot
	// loader starts (see Target.Kernel); other installed kernels are not
	// running.
	BootedKernel bool    `json:"bootedKernel,omitempty"`
	EPSS         float64 `json:"epss,omitempty"`
}

// Statuses of a vulnerability finding (VulnDetail.Status).
const (
	// StatusFixed: a fixed version exists.
	StatusFixed = "fixed"
	// StatusAffected: affected and no fix is available yet; TrackerStatus
	// says what the distribution's tracker decided (will-not-fix, ...).
	StatusAffected = "affected"
	// StatusCouldNotCompare: the installed version or the advisory's range
	// does not parse, so bulwark cannot tell; the finding is kept.
	StatusCouldNotCompare = "could-not-compare"
)

// FromBase reports whether a finding comes from the first baseLayers
// layers of an image, the base image's: a package the base image
// installed, or a file in one of its layers.
func FromBase(f *Finding, baseLayers int) bool {
	if f.Vuln != nil && f.Vuln.FromBase {
		return true
	}
	return f.Location.Layer != nil && f.Location.Layer.Index < baseLayers
}
