package finding

// HostDetail holds the details of a CIS host benchmark finding.
type HostDetail struct {
	// Profile is the benchmark profile (debian-12).
	Profile string `json:"profile"`
	// Section is the CIS section number in that benchmark.
	Section string `json:"section"`
	// Level is the CIS profile level, 1 or 2.
	Level int `json:"level"`
	// Status is "fail", or "notchecked" for a check the files cannot
	// judge (it needs a running system or a review).
	Status string `json:"status"`
}
