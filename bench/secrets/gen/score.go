package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// hit is a finding reduced to where it starts.
type hit struct {
	path string
	line int
}

// readJSON decodes a tool's JSON report file into v.
func readJSON(file string, v any) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}

func readBulwark(file string) ([]hit, error) {
	var rep struct {
		Findings []struct {
			Location struct {
				Path string `json:"path"`
				Line int    `json:"line"`
			} `json:"location"`
		} `json:"findings"`
	}
	if err := readJSON(file, &rep); err != nil {
		return nil, err
	}
	var hs []hit
	for _, f := range rep.Findings {
		hs = append(hs, hit{f.Location.Path, f.Location.Line})
	}
	return hs, nil
}

func readGitleaks(file string) ([]hit, error) {
	var rep []struct {
		File      string
		StartLine int
	}
	if err := readJSON(file, &rep); err != nil {
		return nil, err
	}
	var hs []hit
	for _, f := range rep {
		p := filepath.ToSlash(f.File)
		if i := strings.Index(p, "/pkg"); i >= 0 && !strings.HasPrefix(p, "pkg") {
			p = p[i+1:]
		}
		hs = append(hs, hit{p, f.StartLine})
	}
	return hs, nil
}

// score is how a report compares with the planted truth.
type score struct {
	// found and planted count secret blocks by kind.
	found, planted map[string]int
	// baitHit and bait count bait blocks by kind.
	baitHit, bait map[string]int
	// tp and fp count findings: on a planted secret, or anywhere else.
	tp, fp int
	// missed and falsePos give a few examples.
	missed, falsePos []string
}

func (s *score) recall() float64 { return ratio(total(s.found), total(s.planted)) }

func (s *score) precision() float64 { return ratio(s.tp, s.tp+s.fp) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// scoreHits matches findings to planted blocks: a finding that starts on
// a line of a block belongs to it.
func scoreHits(truth []planted, hs []hit) *score {
	s := &score{found: map[string]int{}, planted: map[string]int{}, baitHit: map[string]int{}, bait: map[string]int{}}
	byPath := map[string][]int{}
	for i, t := range truth {
		byPath[t.Path] = append(byPath[t.Path], i)
		if t.Bait {
			s.bait[t.Kind]++
		} else {
			s.planted[t.Kind]++
		}
	}
	hitBlock := make([]bool, len(truth))
	for _, h := range hs {
		bi := -1
		for _, i := range byPath[h.path] {
			if h.line >= truth[i].Line && h.line <= truth[i].End {
				bi = i
				break
			}
		}
		switch {
		case bi >= 0 && !truth[bi].Bait:
			s.tp++
		case bi >= 0:
			s.fp++
			s.falsePos = append(s.falsePos, fmt.Sprintf("%s:%d (bait %s)", h.path, h.line, truth[bi].Kind))
		default:
			s.fp++
			s.falsePos = append(s.falsePos, fmt.Sprintf("%s:%d (not planted)", h.path, h.line))
		}
		if bi >= 0 {
			hitBlock[bi] = true
		}
	}
	for i, t := range truth {
		switch {
		case !hitBlock[i] && !t.Bait:
			s.missed = append(s.missed, fmt.Sprintf("%s:%d (%s)", t.Path, t.Line, t.Kind))
		case hitBlock[i] && t.Bait:
			s.baitHit[t.Kind]++
		case hitBlock[i]:
			s.found[t.Kind]++
		}
	}
	return s
}

// print writes a tool's score: totals, then recall by kind and bait
// flagged by kind.
func (s *score) print(w io.Writer, tool string) {
	fmt.Fprintf(w, "%-8s recall %6.2f%% (%d/%d planted secrets)  precision %6.2f%% (%d false positives, %d bait blocks of %d flagged)\n",
		tool, 100*s.recall(), total(s.found), total(s.planted), 100*s.precision(), s.fp, total(s.baitHit), total(s.bait))
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(s.planted)) {
		if s.found[k] < s.planted[k] {
			parts = append(parts, fmt.Sprintf("%s %d/%d", k, s.found[k], s.planted[k]))
		}
	}
	if len(parts) > 0 {
		fmt.Fprintf(w, "         kinds not all found: %s\n", strings.Join(parts, ", "))
	}
	parts = nil
	for _, k := range slices.Sorted(maps.Keys(s.baitHit)) {
		parts = append(parts, fmt.Sprintf("%s %d/%d", k, s.baitHit[k], s.bait[k]))
	}
	if len(parts) > 0 {
		fmt.Fprintf(w, "         bait flagged: %s\n", strings.Join(parts, ", "))
	}
	if len(s.missed) > 0 {
		fmt.Fprintf(w, "         missed, e.g.: %s\n", strings.Join(s.missed[:min(8, len(s.missed))], " "))
	}
	if len(s.falsePos) > 0 {
		fmt.Fprintf(w, "         false positives, e.g.: %s\n", strings.Join(s.falsePos[:min(8, len(s.falsePos))], " "))
	}
}

func readTruth(file string) ([]planted, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var truth []planted
	if err := json.Unmarshal(b, &truth); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return truth, nil
}

func scoreReports(truthFile, bulwarkFile, gitleaksFile string) error {
	truth, err := readTruth(truthFile)
	if err != nil {
		return err
	}
	for _, tool := range []struct {
		name, file string
		read       func(string) ([]hit, error)
	}{{"bulwark", bulwarkFile, readBulwark}, {"gitleaks", gitleaksFile, readGitleaks}} {
		if tool.file == "" {
			continue
		}
		hs, err := tool.read(tool.file)
		if err != nil {
			return err
		}
		scoreHits(truth, hs).print(os.Stdout, tool.name)
	}
	return nil
}
