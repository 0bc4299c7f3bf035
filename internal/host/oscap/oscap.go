// Package oscap runs OpenSCAP (Debian's openscap-scanner with the SCAP
// Security Guide content of ssg-debian) on a root file system offline and
// compares its results with bulwark's host checks, through a mapping of
// bulwark check IDs to SSG rule IDs. The agreement test and bench/host use
// it; bulwark itself never needs OpenSCAP.
package oscap

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/bulwark-sec/bulwark/internal/host"
)

//go:embed mapping.yaml
var mappingFile []byte

// RulePrefix and ValuePrefix make SSG's full XCCDF IDs.
const (
	RulePrefix  = "xccdf_org.ssgproject.content_rule_"
	ValuePrefix = "xccdf_org.ssgproject.content_value_"
	profileID   = "xccdf_bulwark_profile_cis"
)

// Mapping pairs bulwark checks with SSG rules.
type Mapping struct {
	// Values set SSG variables to the thresholds bulwark's checks use.
	Values map[string]string `yaml:"values"`
	Map    []Pair            `yaml:"map"`
	// Offline lists SSG rule patterns that read the running system: not
	// compared.
	Offline []string `yaml:"offline"`
	// Known explains, per "variant/check" pattern (path.Match), a
	// disagreement the comparison finds and who is right.
	Known map[string]string `yaml:"known"`
	// Differs lists the cases where the SSG rule asks another question
	// than the CIS check, told by bulwark's finding: such a row is shown
	// but not counted, whether the two agree or not.
	Differs []Differ `yaml:"differs"`
}

// Differ is one case where an SSG rule and a CIS check ask different
// questions of the same files.
type Differ struct {
	// Checks is a path.Match pattern of check IDs.
	Checks string `yaml:"checks"`
	// Detail is a regular expression that bulwark's detail matches in
	// this case.
	Detail string `yaml:"detail"`
	// Why says what each side asks.
	Why string `yaml:"why"`
	re  *regexp.Regexp
}

// Pair is one bulwark check and the SSG rules that judge the same.
type Pair struct {
	Check string   `yaml:"check"`
	Rules []string `yaml:"rules"`
}

// LoadMapping returns the embedded mapping.
func LoadMapping() (*Mapping, error) {
	var m Mapping
	if err := yaml.Unmarshal(mappingFile, &m); err != nil {
		return nil, fmt.Errorf("oscap mapping: %w", err)
	}
	for i := range m.Differs {
		re, err := regexp.Compile(m.Differs[i].Detail)
		if err != nil {
			return nil, fmt.Errorf("oscap mapping: differs %s: %w", m.Differs[i].Checks, err)
		}
		m.Differs[i].re = re
	}
	return &m, nil
}

// Rules lists every SSG rule the mapping names, sorted.
func (m *Mapping) Rules() []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range m.Map {
		for _, r := range p.Rules {
			if !seen[r] {
				seen[r] = true
				out = append(out, r)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Tailoring returns an XCCDF tailoring file whose one profile selects
// exactly the mapped rules, with the mapping's variable values.
func (m *Mapping) Tailoring() []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<xccdf:Tailoring xmlns:xccdf="http://checklists.nist.gov/xccdf/1.2" id="xccdf_bulwark_tailoring_cis">
  <xccdf:version time="2026-01-01T00:00:00">1</xccdf:version>
  <xccdf:Profile id="` + profileID + `">
    <xccdf:title>bulwark host checks mapped to SSG</xccdf:title>
`)
	for _, r := range m.Rules() {
		fmt.Fprintf(&b, "    <xccdf:select idref=\"%s%s\" selected=\"true\"/>\n", RulePrefix, r)
	}
	keys := make([]string, 0, len(m.Values))
	for k := range m.Values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var v bytes.Buffer
		xml.EscapeText(&v, []byte(m.Values[k])) //nolint:errcheck // bytes.Buffer
		fmt.Fprintf(&b, "    <xccdf:set-value idref=\"%s%s\">%s</xccdf:set-value>\n", ValuePrefix, k, v.String())
	}
	b.WriteString("  </xccdf:Profile>\n</xccdf:Tailoring>\n")
	return b.Bytes()
}

// Eval runs `oscap xccdf eval` offline on rootfs (OSCAP_PROBE_ROOT) with
// the mapped rules of the datastream ds, in work, and returns each rule's
// result (pass, fail, notapplicable, error, unknown, ...).
func Eval(ctx context.Context, m *Mapping, rootfs, ds, work string) (map[string]string, error) {
	tail := filepath.Join(work, "tailoring.xml")
	res := filepath.Join(work, "results.xml")
	if err := os.WriteFile(tail, m.Tailoring(), 0o644); err != nil {
		return nil, err
	}
	// oscap's dpkginfo probe reads the image's dpkg status through
	// libapt, which also reads this machine's apt.conf.d: a container's
	// "Dir::Cache::pkgcache \"\"" (Docker's docker-clean) makes it fail
	// on a root file system without apt's own folders (TestAgreementFixture's),
	// and every package rule with it. apt.conf names an empty parts folder.
	parts := filepath.Join(work, "apt.conf.d")
	if err := os.MkdirAll(parts, 0o755); err != nil {
		return nil, err
	}
	aptConf := filepath.Join(work, "apt.conf")
	if err := os.WriteFile(aptConf, []byte("Dir::Etc::Parts \""+parts+"\";\n"), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "oscap", "xccdf", "eval", "--tailoring-file", tail, "--profile", profileID, "--results", res, ds)
	cmd.Env = append(os.Environ(), "OSCAP_PROBE_ROOT="+rootfs, "APT_CONFIG="+aptConf)
	out, err := cmd.CombinedOutput()
	// oscap exits 2 when a rule failed: that is a result, not an error.
	if ee, ok := err.(*exec.ExitError); err != nil && !(ok && ee.ExitCode() == 2) {
		return nil, fmt.Errorf("oscap: %v\n%s", err, tailOf(out))
	}
	if bytes.Contains(out, []byte("dpkginfo_init has failed")) {
		return nil, fmt.Errorf("oscap could not read %s's dpkg status (dpkginfo_init has failed)", rootfs)
	}
	b, err := os.ReadFile(res)
	if err != nil {
		return nil, err
	}
	return ParseResults(b)
}

// ParseResults reads the rule results of an XCCDF 1.2 result file.
func ParseResults(b []byte) (map[string]string, error) {
	var doc struct {
		Results []struct {
			Rules []struct {
				IDRef  string `xml:"idref,attr"`
				Result string `xml:"result"`
			} `xml:"rule-result"`
		} `xml:"TestResult"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("oscap results: %w", err)
	}
	if len(doc.Results) == 0 {
		return nil, fmt.Errorf("oscap results: no TestResult")
	}
	out := map[string]string{}
	for _, r := range doc.Results[len(doc.Results)-1].Rules {
		out[strings.TrimPrefix(r.IDRef, RulePrefix)] = r.Result
	}
	return out, nil
}

func tailOf(b []byte) []byte {
	if len(b) > 2000 {
		return b[len(b)-2000:]
	}
	return b
}

// Explain returns the known explanation of a disagreement on a check in
// a variant, and whether there is one.
func (m *Mapping) Explain(variant, check string) (string, bool) {
	keys := make([]string, 0, len(m.Known))
	for k := range m.Known {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if ok, _ := path.Match(k, variant+"/"+check); ok {
			return m.Known[k], true
		}
	}
	return "", false
}

func (m *Mapping) offline(rule string) bool {
	for _, p := range m.Offline {
		if ok, _ := path.Match(p, rule); ok {
			return true
		}
	}
	return false
}

// Row is one mapped check on one root file system.
type Row struct {
	Check   string
	Bulwark host.Status
	// SSG is pass or fail when every rule answered pass or fail, else
	// what kept it from answering ("notapplicable", "error", ...).
	SSG    string
	Rules  map[string]string
	Detail string
	// Differs says why the two sides ask different questions here
	// (Mapping.Differs); empty when they ask the same.
	Differs string
}

// Judged reports whether both sides judged the check (pass or fail).
func (r Row) Judged() bool {
	return (r.Bulwark == host.Pass || r.Bulwark == host.Fail) && (r.SSG == "pass" || r.SSG == "fail")
}

// Compared reports whether both judged the check and asked the same
// question: the rows the agreement counts.
func (r Row) Compared() bool { return r.Judged() && r.Differs == "" }

// Agree reports whether both judged it the same way.
func (r Row) Agree() bool { return r.Judged() && string(r.Bulwark) == r.SSG }

// differs returns why the SSG rules of a check ask another question than
// the check, given bulwark's detail, or "".
func (m *Mapping) differs(check, detail string) string {
	for _, d := range m.Differs {
		if ok, _ := path.Match(d.Checks, check); ok && d.re.MatchString(detail) {
			return d.Why
		}
	}
	return ""
}

// Compare pairs bulwark's results with OpenSCAP's rule results.
func Compare(m *Mapping, a *host.Assessment, ssg map[string]string) []Row {
	byID := map[string]host.Result{}
	for _, r := range a.Results {
		byID[r.Check.ID] = r
	}
	var rows []Row
	for _, p := range m.Map {
		br, ok := byID[p.Check]
		row := Row{Check: p.Check, Bulwark: br.Status, Detail: br.Detail, Rules: map[string]string{}, Differs: m.differs(p.Check, br.Detail)}
		if !ok {
			row.Bulwark = "absent"
		}
		row.SSG = "pass"
		for _, rule := range p.Rules {
			res := ssg[rule]
			if res == "" {
				res = "absent"
			}
			if m.offline(rule) {
				res = "offline(" + res + ")"
			}
			row.Rules[rule] = res
			switch {
			case res == "fail" && (row.SSG == "pass" || row.SSG == "fail"):
				row.SSG = "fail"
			case res != "pass" && res != "fail":
				row.SSG = res
			}
		}
		rows = append(rows, row)
	}
	return rows
}
