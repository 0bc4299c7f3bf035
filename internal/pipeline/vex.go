package pipeline

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/bulwark-sec/bulwark/internal/finding"
)

// VEX is the part of an OpenVEX document the gate uses: which
// vulnerabilities do not affect the product, and why.
type VEX struct {
	Source     string
	Statements []VEXStatement
}

// VEXStatement is one OpenVEX statement.
type VEXStatement struct {
	// Vulnerability is the ID (CVE, GHSA, ...) the statement is about.
	Vulnerability string
	// Status is not_affected, affected, fixed or under_investigation.
	Status string
	// Justification explains a not_affected status.
	Justification string
}

// maxVEXSize bounds a VEX file.
const maxVEXSize = 16 << 20

// ParseVEX parses an OpenVEX JSON document (v0.2.0 statements with
// vulnerability.name, and v0.0.1 with a plain string).
func ParseVEX(data []byte, source string) (*VEX, error) {
	if len(data) > maxVEXSize {
		return nil, fmt.Errorf("VEX %s: larger than %d MiB", source, maxVEXSize>>20)
	}
	var doc struct {
		Context    string `json:"@context"`
		Statements []struct {
			Vulnerability   json.RawMessage `json:"vulnerability"`
			Status          string          `json:"status"`
			Justification   string          `json:"justification"`
			ImpactStatement string          `json:"impact_statement"`
		} `json:"statements"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("VEX %s: not an OpenVEX JSON document: %w", source, err)
	}
	v := &VEX{Source: source}
	for i, s := range doc.Statements {
		var id string
		if err := json.Unmarshal(s.Vulnerability, &id); err != nil {
			var obj struct {
				Name string `json:"name"`
				ID   string `json:"@id"`
			}
			if err := json.Unmarshal(s.Vulnerability, &obj); err != nil {
				return nil, fmt.Errorf("VEX %s: statement %d: vulnerability must be a string or an object with a name", source, i+1)
			}
			id = obj.Name
			if id == "" {
				id = obj.ID
			}
		}
		if id == "" {
			return nil, fmt.Errorf("VEX %s: statement %d names no vulnerability", source, i+1)
		}
		switch s.Status {
		case "not_affected", "affected", "fixed", "under_investigation":
		default:
			return nil, fmt.Errorf("VEX %s: statement %d: status %q: want not_affected, affected, fixed or under_investigation", source, i+1, s.Status)
		}
		just := s.Justification
		if just == "" {
			just = s.ImpactStatement
		}
		v.Statements = append(v.Statements, VEXStatement{Vulnerability: id, Status: s.Status, Justification: just})
	}
	return v, nil
}

// LoadVEX reads an OpenVEX file.
func LoadVEX(path string) (*VEX, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("VEX: %w", err)
	}
	return ParseVEX(b, path)
}

// Apply suppresses the vulnerability findings that a not_affected or fixed
// statement names (by ID or alias).
func (v *VEX) Apply(r *finding.Report) {
	st := map[string]VEXStatement{}
	for _, s := range v.Statements {
		if s.Status == "not_affected" || s.Status == "fixed" {
			st[s.Vulnerability] = s
		}
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		if f.Gate != finding.GateVuln || f.Suppressed != nil {
			continue
		}
		ids := []string{f.ID}
		if f.Vuln != nil {
			ids = append(ids, f.Vuln.Aliases...)
		}
		for _, id := range ids {
			if s, ok := st[id]; ok {
				f.Suppressed = &finding.Suppression{Kind: "vex", Reason: s.Status + ": " + s.Justification, Source: v.Source}
				break
			}
		}
	}
}
