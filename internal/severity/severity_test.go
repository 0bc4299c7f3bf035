package severity

import (
	"testing"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

func TestRate(t *testing.T) {
	tests := []struct {
		a      vulndb.Advisory
		distro *vulndb.DistroStatus
		sev    finding.Severity
		src    string
	}{
		{vulndb.Advisory{Severity: []vulndb.Severity{{Type: "CVSS_V3", Score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", Source: "ghsa"}}}, nil, finding.Critical, "ghsa CVSS 3.1"},
		{vulndb.Advisory{Severity: []vulndb.Severity{{Type: "CVSS_V2", Score: "AV:N/AC:L/Au:N/C:P/I:P/A:P", Source: "osv"}}}, nil, finding.High, "osv CVSS 2.0"},
		{vulndb.Advisory{Severity: []vulndb.Severity{{Type: "CVSS_V4", Score: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", Source: "ghsa"},
			{Type: "CVSS_V3", Score: "CVSS:3.1/AV:N/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", Source: "ghsa"}}}, nil, finding.Critical, "ghsa CVSS 4.0"},
		{vulndb.Advisory{Severity: []vulndb.Severity{{Type: "CVSS_V3", Score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L", Source: "nvd"}}}, &vulndb.DistroStatus{Urgency: "high"}, finding.High, "distribution urgency"},
		{vulndb.Advisory{Severity: []vulndb.Severity{{Type: "CVSS_V3", Score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L", Source: "nvd"}}}, &vulndb.DistroStatus{Urgency: "not yet assigned"}, finding.Medium, "nvd CVSS 3.1"},
		{vulndb.Advisory{Severity: []vulndb.Severity{{Type: "CVSS_V3", Score: "garbage", Source: "ghsa"}}}, nil, finding.Unknown, ""},
	}
	for i, tt := range tests {
		r := Rate(&tt.a, tt.distro)
		if r.Severity != tt.sev || r.Source != tt.src {
			t.Errorf("%d: Rate = %s from %q, want %s from %q", i, r.Severity, r.Source, tt.sev, tt.src)
		}
	}
}

func TestScoreVector(t *testing.T) {
	// Scores from the FIRST calculators.
	for vec, want := range map[string]float64{
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H":                    10.0,
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H":                    7.5,
		"CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N":                    5.4,
		"AV:N/AC:L/Au:N/C:P/I:P/A:P":                                      7.5,
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N": 9.3,
	} {
		s, err := ScoreVector(vec)
		if err != nil || s.Base != want {
			t.Errorf("ScoreVector(%s) = %v, %v; want %v", vec, s.Base, err, want)
		}
	}
}

func FuzzScoreVector(f *testing.F) {
	f.Add("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H")
	f.Add("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N")
	f.Add("(AV:N/AC:L/Au:N/C:P/I:P/A:P)")
	f.Fuzz(func(t *testing.T, v string) {
		s, err := ScoreVector(v)
		if err == nil && (s.Base < 0 || s.Base > 10) {
			t.Fatalf("score %v out of range for %q", s.Base, v)
		}
	})
}
