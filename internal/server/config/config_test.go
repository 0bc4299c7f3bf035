package config

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	c, err := Parse([]byte(`
registries:
  - host: 127.0.0.1:5000
    insecure: true
db:
  file: /tmp/vulndb.bwdb
  checkInterval: 30s
policy:
  failOn: HIGH,kev
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != DefaultListen || c.CheckEvery != 30*time.Second || len(c.Registries) != 1 || !c.Registries[0].Settings().Insecure {
		t.Errorf("parsed %+v", c)
	}
	if c.FailOn.String() == "" || c.FailOn.IsNever() {
		t.Errorf("failOn %v", c.FailOn)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "empty"},
		{"listen: [", "not valid YAML"},
		{"listne: x\n", "line 1: field listne not found"},
		{"listen: nowhere\n", "line 1: listen"},
		{"listen: a:99999\n", "line 1: listen: port"},
		{"registries:\n  - host: a\n  - host: a/b\n", "line 3: registries[1].host"},
		{"registries:\n  - host: a\n  - host: a\n", "line 3: registries[1].host: a is listed twice"},
		{"registries:\n  - host: a\n    password: p\n", "line 3: registries[0]: a password needs a username"},
		{"policy:\n  failOn: SEVERE\n", "line 2: policy.failOn"},
		{"db:\n  checkInterval: -1s\n", "line 2: db.checkInterval"},
		{"registries: 3\n", "line 1"},
	} {
		_, err := Parse([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.in, err, tc.want)
		}
	}
}
