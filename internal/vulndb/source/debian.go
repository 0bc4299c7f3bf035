package source

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

// DebianReleases maps Debian codenames to the version OSV puts in the
// ecosystem name ("Debian:12"). Releases not listed (sid, experimental)
// are skipped: no image is built on them.
var DebianReleases = map[string]string{
	"jessie": "8", "stretch": "9", "buster": "10", "bullseye": "11",
	"bookworm": "12", "trixie": "13", "forky": "14", "duke": "15",
}

type debianCVE struct {
	Description string                   `json:"description"`
	Releases    map[string]debianRelease `json:"releases"`
}

type debianRelease struct {
	Status       string `json:"status"`
	FixedVersion string `json:"fixed_version"`
	Urgency      string `json:"urgency"`
	NoDSA        string `json:"nodsa"`
	NoDSAReason  string `json:"nodsa_reason"`
}

// ParseDebianTracker parses the Debian security tracker's JSON export
// (https://security-tracker.debian.org/tracker/data/json): source package
// -> CVE (or TEMP-...) -> release -> status. It returns one advisory per
// CVE with an Affected entry per (source package, release) that is
// affected or fixed, under the ecosystem "Debian:N". Not-affected entries
// (fixed version "0") are left out. The statuses: fixed (resolved with a
// version), open, undetermined, no-dsa, ignored, postponed, end-of-life.
func ParseDebianTracker(name string, data []byte, stats *Stats) ([]vulndb.Advisory, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("Debian tracker data %s: not a JSON object of source packages; expected the export of https://security-tracker.debian.org/tracker/data/json", name)
	}
	byID := map[string]*vulndb.Advisory{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("Debian tracker data %s: %v", name, err)
		}
		pkg, _ := t.(string)
		var cves map[string]debianCVE
		if err := dec.Decode(&cves); err != nil {
			return nil, fmt.Errorf("Debian tracker data %s: package %q: %v", name, pkg, err)
		}
		pkg = strings.TrimSpace(pkg)
		if pkg == "" {
			stats.Skip(SkipNoPackage, name)
			continue
		}
		ids := make([]string, 0, len(cves))
		for id := range cves {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			c := cves[id]
			id = strings.TrimSpace(id)
			if id == "" {
				continue
			}
			codenames := make([]string, 0, len(c.Releases))
			for r := range c.Releases {
				codenames = append(codenames, r)
			}
			sort.Strings(codenames)
			for _, rel := range codenames {
				r := c.Releases[rel]
				ver, ok := DebianReleases[rel]
				if !ok {
					continue
				}
				st, ok := debianStatus(r)
				if !ok {
					continue
				}
				eco := "Debian:" + ver
				af := vulndb.Affected{
					Ecosystem: eco,
					Package:   vulndb.NormalizeName(eco, pkg),
					Source:    "debian-tracker",
					Distro: &vulndb.DistroStatus{
						Release: rel, Status: st, Urgency: strings.TrimSpace(r.Urgency), Note: strings.TrimSpace(r.NoDSA),
					},
				}
				rg := vulndb.Range{Type: vulndb.RangeEcosystem, Events: []vulndb.Event{{Introduced: "0"}}}
				if st == vulndb.StatusFixed {
					af.Distro.FixedVersion = strings.TrimSpace(r.FixedVersion)
					rg.Events = append(rg.Events, vulndb.Event{Fixed: af.Distro.FixedVersion})
				}
				af.Ranges = []vulndb.Range{rg}
				a := byID[id]
				if a == nil {
					a = &vulndb.Advisory{ID: id, Summary: summarize("", c.Description), Sources: []string{"debian-tracker"}}
					byID[id] = a
				}
				a.Affected = append(a.Affected, af)
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("Debian tracker data %s: %v (truncated?)", name, err)
	}
	return stats.collect(byID), nil
}

// debianStatus maps a release entry to a status; false for not affected.
func debianStatus(r debianRelease) (string, bool) {
	fixed := strings.TrimSpace(r.FixedVersion)
	switch {
	case r.Status == "resolved" && fixed == "0":
		return "", false
	case r.Status == "resolved" && fixed != "":
		return vulndb.StatusFixed, true
	case r.Status == "resolved":
		return "", false
	case r.Urgency == "end-of-life":
		return vulndb.StatusEndOfLife, true
	case r.NoDSAReason == "ignored":
		return vulndb.StatusIgnored, true
	case r.NoDSAReason == "postponed":
		return vulndb.StatusPostponed, true
	case r.NoDSA != "":
		return vulndb.StatusNoDSA, true
	case r.Status == "undetermined":
		return vulndb.StatusUndetermined, true
	case r.Status == "open":
		return vulndb.StatusOpen, true
	}
	return "", false
}
