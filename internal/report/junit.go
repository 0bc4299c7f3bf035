package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/finding"
)

// JUnitSuites is a JUnit XML document: what CI test views (GitLab, Jenkins,
// CodeBuild reports, GitHub test reporters) show.
type JUnitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     float64      `xml:"time,attr"`
	Suites   []JUnitSuite `xml:"testsuite"`
}

// JUnitSuite is one test suite: a pipeline's stages, or one gate.
type JUnitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     float64     `xml:"time,attr"`
	Cases    []JUnitCase `xml:"testcase"`
}

// JUnitCase is one test case.
type JUnitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      float64       `xml:"time,attr"`
	Failure   *JUnitProblem `xml:"failure,omitempty"`
	Error     *JUnitProblem `xml:"error,omitempty"`
	Skipped   *struct{}     `xml:"skipped,omitempty"`
}

// JUnitProblem is a test case's failure or error.
type JUnitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// GateSuite is the suite of one gate: a failure per failing finding, or
// one passing case saying that nothing fails failOn.
func GateSuite(name string, gate finding.Gate, failOn string, failing []finding.Finding) JUnitSuite {
	suite := JUnitSuite{Name: name}
	if len(failing) == 0 {
		suite.Cases = append(suite.Cases, JUnitCase{Name: fmt.Sprintf("no %s finding fails on %s", gate, failOn), Classname: "bulwark." + string(gate)})
	}
	for _, f := range failing {
		text := f.Title
		if f.Message != "" {
			text += "\n" + f.Message
		}
		if f.Fix != "" {
			text += "\nFix: " + f.Fix
		}
		suite.Cases = append(suite.Cases, JUnitCase{
			Name: strings.TrimSpace(f.ID + " " + f.Location.String()), Classname: "bulwark." + string(f.Gate),
			Failure: &JUnitProblem{Message: fmt.Sprintf("%s %s: %s", f.Level(), f.ID, f.Title), Type: f.Level(), Text: text},
		})
		suite.Failures++
	}
	suite.Tests = len(suite.Cases)
	return suite
}

// WriteJUnit totals the suites and writes the document.
func WriteJUnit(w io.Writer, doc JUnitSuites) error {
	doc.Tests, doc.Failures, doc.Errors, doc.Time = 0, 0, 0, 0
	for _, s := range doc.Suites {
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Time += s.Time
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	e := xml.NewEncoder(w)
	e.Indent("", "  ")
	if err := e.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// JUnit writes a gate command's report (lint, scan, secrets) as JUnit XML:
// one suite per gate, a failure for each finding the policy marked as
// failing it (see finding.Finding.Failing), most serious first.
func JUnit(w io.Writer, r *finding.Report) error {
	gates := slices.Clone(r.Gates)
	for _, f := range r.Findings {
		if !slices.Contains(gates, f.Gate) {
			gates = append(gates, f.Gate)
		}
	}
	doc := JUnitSuites{Name: "bulwark " + r.Target.Name}
	for _, g := range gates {
		var failing []finding.Finding
		for _, f := range r.Findings {
			if f.Gate == g && f.Failing {
				failing = append(failing, f)
			}
		}
		slices.SortStableFunc(failing, func(a, b finding.Finding) int { return int(b.Severity) - int(a.Severity) })
		doc.Suites = append(doc.Suites, GateSuite(fmt.Sprintf("bulwark %s gate", g), g, "the policy", failing))
	}
	return WriteJUnit(w, doc)
}
