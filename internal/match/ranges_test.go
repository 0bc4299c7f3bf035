package match

import (
	"errors"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/version"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

func rng(typ string, evs ...vulndb.Event) vulndb.Range { return vulndb.Range{Type: typ, Events: evs} }
func intro(v string) vulndb.Event                      { return vulndb.Event{Introduced: v} }
func fix(v string) vulndb.Event                        { return vulndb.Event{Fixed: v} }
func last(v string) vulndb.Event                       { return vulndb.Event{LastAffected: v} }
func limit(v string) vulndb.Event                      { return vulndb.Event{Limit: v} }

func TestEvaluate(t *testing.T) {
	twoRanges := vulndb.Affected{Ranges: []vulndb.Range{rng("ECOSYSTEM", intro("1.0"), fix("1.2"), intro("2.0"), fix("2.3"))}}
	unsorted := vulndb.Affected{Ranges: []vulndb.Range{rng("ECOSYSTEM", fix("2.3"), intro("2.0"), fix("1.2"), intro("1.0"))}}
	tests := []struct {
		name    string
		eco     string
		af      vulndb.Affected
		version string
		want    Verdict
		wantErr bool
	}{
		{"go pseudo-version below fix", "Go", vulndb.Affected{Ranges: []vulndb.Range{rng("SEMVER", intro("0"), fix("0.0.0-20210520170846-37e1c6afe023"))}},
			"v0.0.0-20210428140749-89ef3d95e781", Verdict{true, "0.0.0-20210520170846-37e1c6afe023"}, false},
		{"go pseudo-version at fix", "Go", vulndb.Affected{Ranges: []vulndb.Range{rng("SEMVER", intro("0"), fix("0.0.0-20210520170846-37e1c6afe023"))}},
			"v0.0.0-20210520170846-37e1c6afe023", Verdict{}, false},
		{"go stdlib", "Go", vulndb.Affected{Ranges: []vulndb.Range{rng("SEMVER", intro("0"), fix("1.21.11"), intro("1.22.0-0"), fix("1.22.4"))}},
			"v1.22.3", Verdict{true, "1.22.4"}, false},
		{"first interval", "Maven", twoRanges, "1.1", Verdict{true, "1.2"}, false},
		{"at first fix", "Maven", twoRanges, "1.2", Verdict{}, false},
		{"between intervals", "Maven", twoRanges, "1.9", Verdict{}, false},
		{"second interval", "Maven", twoRanges, "2.1", Verdict{true, "2.3"}, false},
		{"below all", "Maven", twoRanges, "0.9", Verdict{}, false},
		{"above all", "Maven", twoRanges, "3.0", Verdict{}, false},
		{"unsorted events", "Maven", unsorted, "2.1", Verdict{true, "2.3"}, false},
		{"introduced equal", "Maven", twoRanges, "2.0", Verdict{true, "2.3"}, false},
		{"last_affected at", "PyPI", vulndb.Affected{Ranges: []vulndb.Range{rng("ECOSYSTEM", intro("0"), last("1.4"))}}, "1.4", Verdict{true, ""}, false},
		{"last_affected above", "PyPI", vulndb.Affected{Ranges: []vulndb.Range{rng("ECOSYSTEM", intro("0"), last("1.4"))}}, "1.4.post1", Verdict{}, false},
		{"limit below", "npm", vulndb.Affected{Ranges: []vulndb.Range{rng("SEMVER", intro("0"), limit("2.0.0"))}}, "1.9.9", Verdict{true, ""}, false},
		{"limit at", "npm", vulndb.Affected{Ranges: []vulndb.Range{rng("SEMVER", intro("0"), limit("2.0.0"))}}, "2.0.0", Verdict{}, false},
		{"versions list", "PyPI", vulndb.Affected{Versions: []string{"1.0.1", "1.0.2"}}, "1.0.2", Verdict{true, ""}, false},
		{"versions list, equal by the scheme", "PyPI", vulndb.Affected{Versions: []string{"1.0"}}, "1.0.0", Verdict{true, ""}, false},
		{"versions list miss", "PyPI", vulndb.Affected{Versions: []string{"1.0.1"}}, "1.0.3", Verdict{}, false},
		{"debian open", "Debian:12", vulndb.Affected{Ranges: []vulndb.Range{rng("ECOSYSTEM", intro("0"))}}, "2.36-9+deb12u4", Verdict{true, ""}, false},
		{"debian fixed", "Debian:12", vulndb.Affected{Ranges: []vulndb.Range{rng("ECOSYSTEM", intro("0"), fix("2.36-9+deb12u4"))}}, "2.36-9+deb12u3", Verdict{true, "2.36-9+deb12u4"}, false},
		{"semver range on a prerelease", "npm", vulndb.Affected{Ranges: []vulndb.Range{rng("SEMVER", intro("1.0.0"), fix("1.0.1"))}}, "1.0.1-rc.1", Verdict{true, "1.0.1"}, false},
		{"bad installed version", "Maven", twoRanges, "${x}", Verdict{}, true},
		{"bad range version", "npm", vulndb.Affected{Ranges: []vulndb.Range{rng("SEMVER", intro("0"), fix("one"))}}, "1.0.0", Verdict{}, true},
		{"bad range version, another range matches", "npm", vulndb.Affected{Ranges: []vulndb.Range{rng("SEMVER", intro("0"), fix("one")), rng("SEMVER", intro("0"), fix("2.0.0"))}}, "1.0.0", Verdict{true, "2.0.0"}, false},
		{"empty entry", "npm", vulndb.Affected{}, "1.0.0", Verdict{}, false},
	}
	for _, tt := range tests {
		c, _ := version.For(tt.eco)
		got, err := Evaluate(c, &tt.af, tt.version)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: Evaluate(%s) error = %v, want error %v", tt.name, tt.version, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("%s: Evaluate(%s) = %+v, want %+v", tt.name, tt.version, got, tt.want)
		}
	}
}

func TestEvaluateGitOnly(t *testing.T) {
	af := vulndb.Affected{Ranges: []vulndb.Range{{Type: "GIT", Repo: "https://example.com/r", Events: []vulndb.Event{intro("abc")}}}}
	if _, err := Evaluate(version.Semver, &af, "1.0.0"); !errors.Is(err, ErrGitOnly) {
		t.Errorf("Evaluate on a GIT range: %v, want ErrGitOnly", err)
	}
}
