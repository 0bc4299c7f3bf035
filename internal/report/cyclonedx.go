package report

import (
	"fmt"
	"io"
	"sort"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/bulwark-sec/bulwark/internal/finding"
)

// CycloneDX writes the vulnerability findings of a report as a CycloneDX
// 1.5 JSON BOM: the affected packages as components and one vulnerability
// per advisory and package, with its rating, fix and, for suppressed
// ones, an analysis (VEX not_affected or resolved, or an ignore rule).
// Other gates' findings are not part of a CycloneDX BOM and are left out.
func CycloneDX(w io.Writer, r *finding.Report) error {
	bom := cdx.NewBOM()
	bom.SpecVersion = cdx.SpecVersion1_5
	bom.Metadata = &cdx.Metadata{
		Timestamp: r.CreatedAt.Format("2006-01-02T15:04:05Z"),
		Tools:     &cdx.ToolsChoice{Components: &[]cdx.Component{{Type: cdx.ComponentTypeApplication, Name: r.Tool, Version: r.Version}}},
		Component: &cdx.Component{
			BOMRef: "target", Type: cdx.ComponentTypeContainer, Name: r.Target.Name, Version: r.Target.Digest,
		},
	}
	comps := map[string]cdx.Component{}
	var vulns []cdx.Vulnerability
	for _, f := range r.Findings {
		if f.Gate != finding.GateVuln || f.Vuln == nil {
			continue
		}
		d := f.Vuln
		ref := d.PURL
		if ref == "" {
			ref = d.Ecosystem + "/" + d.Package + "@" + d.InstalledVersion
		}
		if _, ok := comps[ref]; !ok {
			comps[ref] = cdx.Component{BOMRef: ref, Type: cdx.ComponentTypeLibrary, Name: d.Package, Version: d.InstalledVersion, PackageURL: d.PURL}
		}
		v := cdx.Vulnerability{
			BOMRef:      f.ID + "/" + ref,
			ID:          f.ID,
			Description: f.Title,
			Detail:      f.Message,
			Affects:     &[]cdx.Affects{{Ref: ref}},
		}
		if len(f.References) > 0 {
			v.Source = &cdx.Source{URL: f.References[0]}
			var advs []cdx.Advisory
			for _, u := range f.References {
				advs = append(advs, cdx.Advisory{URL: u})
			}
			v.Advisories = &advs
		}
		var refs []cdx.VulnerabilityReference
		for _, a := range d.Aliases {
			refs = append(refs, cdx.VulnerabilityReference{ID: a})
		}
		if len(refs) > 0 {
			v.References = &refs
		}
		rating := cdx.VulnerabilityRating{Severity: cdx.Severity(strings.ToLower(f.Severity.String())), Justification: d.SeveritySource}
		if d.CVSSVector != "" {
			score := d.CVSSScore
			rating.Score, rating.Vector = &score, d.CVSSVector
			switch {
			case strings.HasPrefix(d.CVSSVector, "CVSS:4.0/"):
				rating.Method = cdx.ScoringMethodCVSSv4
			case strings.HasPrefix(d.CVSSVector, "CVSS:3.1/"):
				rating.Method = cdx.ScoringMethodCVSSv31
			case strings.HasPrefix(d.CVSSVector, "CVSS:3.0/"):
				rating.Method = cdx.ScoringMethodCVSSv3
			default:
				rating.Method = cdx.ScoringMethodCVSSv2
			}
		}
		v.Ratings = &[]cdx.VulnerabilityRating{rating}
		if d.FixedVersion != "" {
			v.Recommendation = fmt.Sprintf("Upgrade %s to %s", d.Package, d.FixedVersion)
		}
		if s := f.Suppressed; s != nil {
			a := &cdx.VulnerabilityAnalysis{Detail: strings.TrimSpace(s.Kind + ": " + s.Reason + " (" + s.Source + ")")}
			switch {
			case s.Kind == "vex" && s.Reason == "fixed":
				a.State = cdx.IASResolved
			case s.Kind == "vex":
				a.State = cdx.IASNotAffected
			default:
				a.State = cdx.IASFalsePositive
			}
			v.Analysis = a
		}
		props := []cdx.Property{{Name: "bulwark:status", Value: d.Status}}
		if d.FromBase {
			props = append(props, cdx.Property{Name: "bulwark:fromBase", Value: "true"})
		}
		if f.Location.Layer != nil {
			props = append(props, cdx.Property{Name: "bulwark:layer", Value: f.Location.Layer.DiffID})
		}
		v.Properties = &props
		vulns = append(vulns, v)
	}
	keys := make([]string, 0, len(comps))
	for k := range comps {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	cs := make([]cdx.Component, 0, len(keys))
	for _, k := range keys {
		cs = append(cs, comps[k])
	}
	bom.Components = &cs
	bom.Vulnerabilities = &vulns
	enc := cdx.NewBOMEncoder(w, cdx.BOMFileFormatJSON)
	enc.SetPretty(true)
	return enc.EncodeVersion(bom, cdx.SpecVersion1_5)
}
