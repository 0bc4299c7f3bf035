package growth

import "testing"

func TestLabel(t *testing.T) {
	for n, want := range map[int]string{1_000: "1k", 100_000: "100k", 4_000_000: "4M", 1_500: "1500", 12: "12"} {
		if got := label(n); got != want {
			t.Errorf("label(%d) = %q, want %q", n, got, want)
		}
	}
}
