package host

import (
	"context"
	"fmt"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/inventory/osrelease"
)

// Assessment is the outcome of a profile on one root file system.
type Assessment struct {
	Profile *Profile
	// OS is what os-release says, nil when it says nothing.
	OS       *finding.OS
	Results  []Result
	Warnings []string
}

// Assess picks the profile (profileID, or the one os-release names) and
// runs it on the file system. It fails when no profile applies.
func Assess(s *FS, profileID string) (*Assessment, error) {
	a := &Assessment{}
	for _, p := range []string{"etc/os-release", "usr/lib/os-release"} {
		if b, ok := s.Read(p); ok {
			if os, err := osrelease.Parse(p, string(b)); err == nil && os != nil {
				a.OS = os
				break
			}
		}
	}
	var err error
	switch {
	case profileID != "":
		a.Profile, err = Lookup(profileID)
	case a.OS == nil:
		return nil, fmt.Errorf("no /etc/os-release to choose a host benchmark profile by; name one with --host-profile (%s)", profileIDs())
	default:
		if a.Profile, err = Select(a.OS.ID, a.OS.Version); err == nil && a.Profile == nil {
			err = fmt.Errorf("no host benchmark profile for %s %s; name one with --host-profile (%s)", a.OS.ID, a.OS.Version, profileIDs())
		}
	}
	if err != nil {
		return nil, err
	}
	a.Results = Evaluate(a.Profile, s)
	a.Warnings = s.Warnings
	return a, nil
}

func profileIDs() string {
	ps, _ := Profiles()
	out := ""
	for i, p := range ps {
		if i > 0 {
			out += ", "
		}
		out += p.ID
	}
	return out
}

// Count returns how many results have each status.
func (a *Assessment) Count() map[Status]int {
	n := map[Status]int{}
	for _, r := range a.Results {
		n[r.Status]++
	}
	return n
}

// Summary says in one line how the profile went.
func (a *Assessment) Summary() string {
	n := a.Count()
	return fmt.Sprintf("host benchmark %s (%s %s): %d checks, %d passed, %d failed, %d not checked (need a running system or review), %d not applicable",
		a.Profile.ID, a.Profile.Title, a.Profile.Version, len(a.Results), n[Pass], n[Fail], n[NotChecked], n[NotApplicable])
}

// Findings turns failed and not-checked results into findings: a failure
// with its check's severity, a check the files cannot judge as INFO.
func (a *Assessment) Findings() []finding.Finding {
	var out []finding.Finding
	for _, r := range a.Results {
		if r.Status != Fail && r.Status != NotChecked {
			continue
		}
		c := r.Check
		sev := c.SeverityValue()
		if r.Status == NotChecked {
			sev = finding.Info
		}
		out = append(out, finding.Finding{
			Gate: finding.GateHost, ID: c.ID, Severity: sev,
			Title:    fmt.Sprintf("%s (CIS %s, level %d)", c.Title, c.Section, c.Level),
			Message:  r.Detail,
			Location: finding.Location{Path: r.Path, Line: r.Line},
			Host:     &finding.HostDetail{Profile: a.Profile.ID, Section: c.Section, Level: c.Level, Status: string(r.Status)},
		})
	}
	return out
}

// Run walks the image once and assesses it.
func Run(ctx context.Context, img *image.Image, profileID string) (*Assessment, error) {
	h := NewHandler()
	tree, err := image.Walk(ctx, img, []image.Handler{h}, image.WalkOptions{})
	if err != nil {
		return nil, err
	}
	return Assess(h.Finish(tree), profileID)
}
