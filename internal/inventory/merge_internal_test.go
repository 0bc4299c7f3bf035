package inventory

import (
	"fmt"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/testutil/growth"
)

// nodeModulesResults is what the npm analyzer finds in a node_modules tree
// of n package.json files: packages in pairs of folders, and one small
// package (ms 2.1.3) in every tenth folder instead (so pkg-4, pkg-9, ...
// are in one folder only).
func nodeModulesResults(n int) []*fileResult {
	rs := make([]*fileResult, n)
	for i := range rs {
		name := fmt.Sprintf("pkg-%d", i/2)
		if i%10 == 9 {
			name = "ms"
		}
		p := fmt.Sprintf("app/node_modules/%d/node_modules/%s/package.json", i, name)
		rs[i] = &fileResult{Layer: 1, Path: p, Analyzer: "npm", hiddenBy: -1, Result: Result{Packages: []Package{{
			Name: name, Version: "2.1.3", Ecosystem: NPM, Kind: KindLang, Licenses: []string{"MIT"}}}}}
	}
	return rs
}

// TestMergeLocations checks that a package found in many files is one
// package listing each file once.
func TestMergeLocations(t *testing.T) {
	rs := nodeModulesResults(100)
	rs = append(rs, rs[9]) // the same file twice
	_, pkgs, _ := merge(rs, func(int) *finding.LayerRef { return nil }, nil)
	for _, p := range pkgs {
		want := 2
		var k int
		if p.Name == "ms" {
			want = 10
		} else if _, err := fmt.Sscanf(p.Name, "pkg-%d", &k); err == nil && k%5 == 4 {
			want = 1
		}
		if len(p.Locations) != want {
			t.Errorf("%s has %d locations, want %d", p.Name, len(p.Locations), want)
		}
	}
	if len(pkgs) != 51 {
		t.Errorf("%d packages, want 51", len(pkgs))
	}
}

// BenchmarkMerge merges the results of 1k, 10k and 100k package.json
// files (attribution, merge, purls, sort); x10@N is the growth per
// tenfold input (about 10 when linear).
func BenchmarkMerge(b *testing.B) {
	in := map[int][]*fileResult{}
	for _, n := range growth.Sizes {
		in[n] = nodeModulesResults(n)
	}
	layer := &finding.LayerRef{Index: 1}
	growth.Report(b, growth.Sizes, func(n int) {
		attribute(in[n])
		sortResults(in[n])
		merge(in[n], func(int) *finding.LayerRef { return layer }, nil)
	})
}
