package source

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

type alpineSecDB struct {
	DistroVersion string `json:"distroversion"`
	RepoName      string `json:"reponame"`
	Packages      []struct {
		Pkg struct {
			Name     string                     `json:"name"`
			SecFixes map[string]json.RawMessage `json:"secfixes"`
		} `json:"pkg"`
	} `json:"packages"`
}

// ParseAlpineSecDB parses one Alpine secdb file (such as
// https://secdb.alpinelinux.org/v3.19/main.json): per origin package, the
// version that fixes each CVE. It returns one advisory per identifier with
// an Affected entry under "Alpine:vX.Y" fixed in that version; the version
// "0" (never affected) is left out.
func ParseAlpineSecDB(name string, data []byte, stats *Stats) ([]vulndb.Advisory, error) {
	var db alpineSecDB
	if err := json.Unmarshal(data, &db); err != nil {
		return nil, fmt.Errorf("Alpine secdb %s: %v", name, err)
	}
	rel := strings.TrimSpace(db.DistroVersion)
	if rel == "" {
		return nil, fmt.Errorf("Alpine secdb %s: no \"distroversion\"; expected a file like https://secdb.alpinelinux.org/v3.19/main.json", name)
	}
	eco := "Alpine:" + rel
	byID := map[string]*vulndb.Advisory{}
	for _, p := range db.Packages {
		pkg := strings.TrimSpace(p.Pkg.Name)
		if pkg == "" {
			stats.Skip(SkipNoPackage, name)
			continue
		}
		versions := make([]string, 0, len(p.Pkg.SecFixes))
		for v := range p.Pkg.SecFixes {
			versions = append(versions, v)
		}
		sort.Strings(versions)
		for _, ver := range versions {
			var ids []string
			if err := json.Unmarshal(p.Pkg.SecFixes[ver], &ids); err != nil {
				stats.Skip(SkipBadRow, name+": "+pkg)
				continue
			}
			ver = strings.TrimSpace(ver)
			if ver == "0" || ver == "" {
				continue
			}
			for _, field := range ids {
				// Entries are "CVE-2021-1234", sometimes several separated
				// by spaces, sometimes followed by a comment.
				for _, id := range strings.Fields(field) {
					if !strings.Contains(id, "-") || strings.HasPrefix(id, "(") {
						break
					}
					a := byID[id]
					if a == nil {
						a = &vulndb.Advisory{ID: id, Sources: []string{"alpine-secdb"}}
						byID[id] = a
					}
					a.Affected = append(a.Affected, vulndb.Affected{
						Ecosystem: eco,
						Package:   pkg,
						Source:    "alpine-secdb",
						Ranges:    []vulndb.Range{{Type: vulndb.RangeEcosystem, Events: []vulndb.Event{{Introduced: "0"}, {Fixed: ver}}}},
						Distro:    &vulndb.DistroStatus{Release: rel, Status: vulndb.StatusFixed, FixedVersion: ver},
					})
				}
			}
		}
	}
	return stats.collect(byID), nil
}
