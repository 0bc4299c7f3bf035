package yamlpath

import (
	"testing"

	"gopkg.in/yaml.v3"
)

func TestLine(t *testing.T) {
	var root yaml.Node
	if err := yaml.Unmarshal([]byte("a: 1\nb:\n  - x\n  - c: 2\n"), &root); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		keys []any
		want int
	}{{[]any{"a"}, 1}, {[]any{"b", 1, "c"}, 4}, {[]any{"b", 7}, 3}, {[]any{"z"}, 1}} {
		if got := Line(&root, tc.keys...); got != tc.want {
			t.Errorf("Line(%v) = %d, want %d", tc.keys, got, tc.want)
		}
	}
}
