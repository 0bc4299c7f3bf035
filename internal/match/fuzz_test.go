package match

import (
	"testing"

	"github.com/bulwark-sec/bulwark/internal/version"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

// FuzzEvaluate checks that range evaluation never panics, that a verdict
// with a fixed version is affected, and that an affected verdict's fixed
// version is above the installed one.
func FuzzEvaluate(f *testing.F) {
	f.Add("Maven", "1.5", "1.0", "1.2", "2.0", "")
	f.Add("Go", "v0.0.0-20210428140749-89ef3d95e781", "0", "0.0.0-20210520170846-37e1c6afe023", "", "")
	f.Add("PyPI", "1.4", "0", "", "", "1.4")
	f.Add("npm", "1.0.0", "x", "y", "z", "w")
	f.Fuzz(func(t *testing.T, eco, installed, in, fx, in2, la string) {
		c, ok := version.For(eco)
		if !ok {
			c = version.Semver
		}
		var evs []vulndb.Event
		for _, e := range []vulndb.Event{{Introduced: in}, {Fixed: fx}, {Introduced: in2}, {LastAffected: la}} {
			if e != (vulndb.Event{}) {
				evs = append(evs, e)
			}
		}
		af := vulndb.Affected{Ranges: []vulndb.Range{{Type: "ECOSYSTEM", Events: evs}}, Versions: []string{la}}
		v, err := Evaluate(c, &af, installed)
		if err != nil {
			return
		}
		if v.Fixed != "" {
			if !v.Affected {
				t.Fatalf("fixed %q but not affected", v.Fixed)
			}
			if cmp, err := c.Compare(installed, v.Fixed); err != nil || cmp >= 0 {
				t.Fatalf("version %q affected with fix %q not above it (%d, %v)", installed, v.Fixed, cmp, err)
			}
		}
	})
}
