package source

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

// nvdFeed is a page of the NVD CVE API 2.0 (or a file of such pages' shape).
type nvdFeed struct {
	Format          string `json:"format"`
	Timestamp       string `json:"timestamp"`
	TotalResults    int    `json:"totalResults"`
	ResultsPerPage  int    `json:"resultsPerPage"`
	StartIndex      int    `json:"startIndex"`
	Vulnerabilities []struct {
		CVE nvdCVE `json:"cve"`
	} `json:"vulnerabilities"`
}

type nvdCVE struct {
	ID           string `json:"id"`
	Published    string `json:"published"`
	LastModified string `json:"lastModified"`
	VulnStatus   string `json:"vulnStatus"`
	Descriptions []struct {
		Lang  string `json:"lang"`
		Value string `json:"value"`
	} `json:"descriptions"`
	Metrics map[string][]struct {
		Source   string `json:"source"`
		Type     string `json:"type"`
		CVSSData struct {
			Version      string `json:"version"`
			VectorString string `json:"vectorString"`
		} `json:"cvssData"`
	} `json:"metrics"`
}

// NVDPage is what one NVD API response says about paging.
type NVDPage struct {
	// TotalResults, ResultsPerPage and StartIndex are the API's counters.
	TotalResults, ResultsPerPage, StartIndex int
}

// ParseNVD parses one NVD CVE API 2.0 response (format NVD_CVE). It returns
// an advisory per CVE with no affected packages: the CVSS vectors (NVD's
// own "Primary" ones first), the English description and the dates, which
// the build uses to fill in advisories that only name the CVE.
func ParseNVD(name string, data []byte, stats *Stats) ([]vulndb.Advisory, NVDPage, error) {
	var feed nvdFeed
	if err := json.Unmarshal(data, &feed); err != nil {
		return nil, NVDPage{}, fmt.Errorf("NVD data %s: %v", name, err)
	}
	if feed.Format != "" && feed.Format != "NVD_CVE" {
		return nil, NVDPage{}, fmt.Errorf("NVD data %s: format %q is not NVD_CVE (the CVE API 2.0)", name, feed.Format)
	}
	if feed.Vulnerabilities == nil && feed.Format == "" {
		return nil, NVDPage{}, fmt.Errorf("NVD data %s: no \"vulnerabilities\" list; is this a CVE API 2.0 response?", name)
	}
	stats.Seen(parseTime(feed.Timestamp))
	page := NVDPage{feed.TotalResults, feed.ResultsPerPage, feed.StartIndex}
	var out []vulndb.Advisory
	for _, v := range feed.Vulnerabilities {
		c := v.CVE
		id := strings.TrimSpace(c.ID)
		if !vulndb.IsCVE(id) {
			stats.Skip(SkipBadRow, name+": "+id)
			continue
		}
		if c.VulnStatus == "Rejected" {
			stats.Skip(SkipRejected, name+": "+id)
			continue
		}
		a := vulndb.Advisory{ID: id, Published: parseTime(c.Published), Modified: parseTime(c.LastModified), Sources: []string{"nvd"}}
		for _, d := range c.Descriptions {
			if d.Lang == "en" {
				a.Summary = summarize("", d.Value)
				break
			}
		}
		for _, m := range []struct{ key, typ string }{
			{"cvssMetricV40", vulndb.CVSSv4}, {"cvssMetricV31", vulndb.CVSSv3}, {"cvssMetricV30", vulndb.CVSSv3}, {"cvssMetricV2", vulndb.CVSSv2},
		} {
			list := c.Metrics[m.key]
			best := -1
			for i, x := range list {
				if x.CVSSData.VectorString == "" {
					continue
				}
				if best < 0 || (x.Type == "Primary" && list[best].Type != "Primary") {
					best = i
				}
			}
			if best >= 0 && !hasType(a.Severity, m.typ) {
				a.Severity = append(a.Severity, vulndb.Severity{Type: m.typ, Score: list[best].CVSSData.VectorString, Source: "nvd"})
			}
		}
		out = append(out, a)
	}
	stats.Records += len(out)
	return out, page, nil
}

func hasType(list []vulndb.Severity, t string) bool {
	for _, s := range list {
		if s.Type == t {
			return true
		}
	}
	return false
}
