package php

import (
	"sort"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for name, tc := range map[string]struct{ in, want string }{
		"composer.lock":    {`{"packages":[{"name":"monolog/monolog","version":"3.5.0","license":["MIT"]}],"packages-dev":[{"name":"phpunit/phpunit","version":"10.5.0"}]}`, "monolog/monolog@3.5.0 MIT, phpunit/phpunit@10.5.0 dev"},
		"installed.json 1": {`[{"name":"psr/log","version":"v1.1.4"}]`, "psr/log@1.1.4"},
		"installed.json 2": {`{"packages":[{"name":"psr/log","version":"3.0.0","license":"MIT"}],"dev":true}`, "psr/log@3.0.0 MIT"},
	} {
		pkgs, err := Parse([]byte(tc.in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got []string
		for _, p := range pkgs {
			s := p.Name + "@" + p.Version
			if len(p.Licenses) > 0 {
				s += " " + strings.Join(p.Licenses, ",")
			}
			if p.Dev {
				s += " dev"
			}
			got = append(got, s)
		}
		sort.Strings(got)
		if strings.Join(got, ", ") != tc.want {
			t.Errorf("%s: got %v", name, got)
		}
	}
	if _, err := Parse([]byte("{")); err == nil {
		t.Error("broken JSON accepted")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"packages":[{"name":"a/b","version":"1","license":"MIT"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) { Parse(b) }) //nolint:errcheck // must not panic
}
