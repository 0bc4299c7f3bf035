package build

import (
	"sort"

	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

// Merge returns the advisories to store. Ecosystem records (OSV, GHSA)
// that share an identifier, directly or through aliases, become one
// advisory: its ID is the ID of the first record in source order, its
// aliases every other identifier, and for each package the affected
// entries of the first source that names the package. Distribution
// records (Debian, Alpine) are merged by their identifier only, never
// through aliases, so that each package and release keeps one status.
// Every advisory then gets the CVSS vectors NVD has for its CVEs (after
// the sources' own), a summary from NVD when it has none, and KEV and EPSS
// data for its CVEs.
func (in *Input) Merge() []vulndb.Advisory {
	out := mergeEcosystem(in.Ecosystem)
	out = append(out, mergeByID(in.Distro)...)
	for i := range out {
		in.enrich(&out[i])
		out[i].References = trimReferences(out[i].References)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// unionFind groups identifiers.
type unionFind map[string]string

func (u unionFind) find(x string) string {
	for {
		p, ok := u[x]
		if !ok || p == x {
			return x
		}
		if gp := u[p]; gp != "" {
			u[x] = gp
		}
		x = p
	}
}

func (u unionFind) union(a, b string) {
	ra, rb := u.find(a), u.find(b)
	if ra != rb {
		u[rb] = ra
	}
}

func mergeEcosystem(recs []vulndb.Advisory) []vulndb.Advisory {
	u := unionFind{}
	for _, r := range recs {
		u[r.ID] = u.find(r.ID)
		for _, a := range r.Aliases {
			u.union(r.ID, a)
		}
	}
	groups := map[string][]int{}
	var roots []string
	for i, r := range recs {
		root := u.find(r.ID)
		if groups[root] == nil {
			roots = append(roots, root)
		}
		groups[root] = append(groups[root], i)
	}
	out := make([]vulndb.Advisory, 0, len(roots))
	for _, root := range roots {
		idx := groups[root]
		if len(idx) == 1 {
			out = append(out, recs[idx[0]])
			continue
		}
		group := make([]*vulndb.Advisory, len(idx))
		for i, n := range idx {
			group[i] = &recs[n]
		}
		out = append(out, combine(group, true))
	}
	return out
}

// mergeByID merges records with the same ID, keeping every affected entry.
func mergeByID(recs []vulndb.Advisory) []vulndb.Advisory {
	byID := map[string][]*vulndb.Advisory{}
	var ids []string
	for i := range recs {
		id := recs[i].ID
		if byID[id] == nil {
			ids = append(ids, id)
		}
		byID[id] = append(byID[id], &recs[i])
	}
	out := make([]vulndb.Advisory, 0, len(ids))
	for _, id := range ids {
		if g := byID[id]; len(g) == 1 {
			out = append(out, *g[0])
		} else {
			out = append(out, combine(g, false))
		}
	}
	return out
}

// combine merges a group of records given in priority order. With
// firstWins, a package's affected entries come from the first record that
// names the package; otherwise all entries are kept.
func combine(group []*vulndb.Advisory, firstWins bool) vulndb.Advisory {
	m := vulndb.Advisory{ID: group[0].ID}
	ids := map[string]bool{m.ID: true}
	refs := map[string]bool{}
	owner := map[string]int{}
	for gi, r := range group {
		for _, id := range append([]string{r.ID}, r.Aliases...) {
			if !ids[id] {
				ids[id] = true
				m.Aliases = append(m.Aliases, id)
			}
		}
		if m.Summary == "" {
			m.Summary = r.Summary
		}
		if !r.Published.IsZero() && (m.Published.IsZero() || r.Published.Before(m.Published)) {
			m.Published = r.Published
		}
		if r.Modified.After(m.Modified) {
			m.Modified = r.Modified
		}
		for _, s := range r.Severity {
			m.Severity = addSeverity(m.Severity, s)
		}
		if m.DatabaseSeverity == "" {
			m.DatabaseSeverity = r.DatabaseSeverity
		}
		for _, ref := range r.References {
			if !refs[ref.URL] {
				refs[ref.URL] = true
				m.References = append(m.References, ref)
			}
		}
		for _, af := range r.Affected {
			k := af.Ecosystem + "\x00" + af.Package
			if o, ok := owner[k]; ok && o != gi && firstWins {
				continue
			}
			owner[k] = gi
			m.Affected = append(m.Affected, af)
		}
		m.Sources = addStrings(m.Sources, r.Sources...)
	}
	sort.Strings(m.Aliases)
	return m
}

func (in *Input) enrich(a *vulndb.Advisory) {
	for _, cve := range a.CVEs() {
		if n, ok := in.NVD[cve]; ok {
			for _, s := range n.Severity {
				a.Severity = addSeverity(a.Severity, s)
			}
			if a.Summary == "" {
				a.Summary = n.Summary
			}
			if a.Published.IsZero() {
				a.Published = n.Published
			}
			if a.Modified.IsZero() {
				a.Modified = n.Modified
			}
			a.Sources = addStrings(a.Sources, "nvd")
		}
		if k, ok := in.KEV[cve]; ok && a.KEV == nil {
			k := k
			a.KEV = &k
		}
		if e, ok := in.EPSS[cve]; ok && (a.EPSS == nil || e.Score > a.EPSS.Score) {
			e := e
			a.EPSS = &e
		}
	}
}

func addSeverity(list []vulndb.Severity, s vulndb.Severity) []vulndb.Severity {
	for _, x := range list {
		if x.Type == s.Type && x.Score == s.Score {
			return list
		}
	}
	return append(list, s)
}

func addStrings(list []string, add ...string) []string {
outer:
	for _, s := range add {
		for _, x := range list {
			if x == s {
				continue outer
			}
		}
		list = append(list, s)
	}
	return list
}

// MaxReferences bounds the references stored per advisory; the most useful
// kinds (advisories, fixes, reports) are kept first.
const MaxReferences = 10

var refRank = map[string]int{"ADVISORY": 0, "FIX": 1, "REPORT": 2, "PACKAGE": 3, "ARTICLE": 4, "WEB": 5}

func trimReferences(refs []vulndb.Reference) []vulndb.Reference {
	if len(refs) <= MaxReferences {
		return refs
	}
	rank := func(r vulndb.Reference) int {
		if n, ok := refRank[r.Type]; ok {
			return n
		}
		return len(refRank)
	}
	sort.SliceStable(refs, func(i, j int) bool { return rank(refs[i]) < rank(refs[j]) })
	return refs[:MaxReferences]
}
