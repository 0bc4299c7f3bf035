package sbom

import (
	"fmt"
	"io"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/inventory"
	"github.com/bulwark-sec/bulwark/internal/testutil/growth"
)

// syntheticSBOM is an npm-heavy SBOM of n packages shaped like a large
// node_modules tree: every package with a licence and two locations, and
// one purl in a hundred repeated (the duplicate bom-ref path).
func syntheticSBOM(n int) *inventory.SBOM {
	layer := &finding.LayerRef{Index: 1, Digest: "sha256:" + fmt.Sprintf("%064d", 1), DiffID: "sha256:" + fmt.Sprintf("%064d", 2)}
	os := &inventory.OS{ID: "debian", Name: "Debian GNU/Linux 12 (bookworm)", Version: "12", Codename: "bookworm"}
	pkgs := make([]inventory.Package, n)
	for i := range pkgs {
		name := fmt.Sprintf("pkg-%d", i)
		if i%100 == 99 {
			name = fmt.Sprintf("pkg-%d", i-1)
		}
		dir := "app/node_modules/" + name
		pkgs[i] = inventory.Package{Name: name, Version: "1.0.0", Ecosystem: inventory.NPM, Kind: inventory.KindLang, Licenses: []string{"MIT"},
			Locations: []inventory.Location{{Path: dir + "/package.json", Layer: layer}, {Path: "app/other/" + dir + "/package.json", Layer: layer}}}
		pkgs[i].PURL = inventory.PURL(&pkgs[i], os)
	}
	return &inventory.SBOM{Tool: "bulwark", ToolVersion: "bench", Target: finding.Target{Name: "bench", Kind: "image", OS: os}, Packages: pkgs}
}

// BenchmarkWriters writes SBOMs of 1k, 10k and 100k packages in every
// format; x10@N is the growth per tenfold input (about 10 when linear).
func BenchmarkWriters(b *testing.B) {
	for _, f := range []struct {
		name  string
		write func(io.Writer, *inventory.SBOM) error
	}{{"table", Table}, {"json", JSON}, {"cyclonedx", CycloneDX}, {"spdx-json", SPDX}} {
		sboms := map[int]*inventory.SBOM{}
		for _, n := range growth.Sizes {
			sboms[n] = syntheticSBOM(n)
		}
		b.Run(f.name, func(b *testing.B) {
			growth.Report(b, growth.Sizes, func(n int) {
				if err := f.write(io.Discard, sboms[n]); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}
