package match

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps: matching knows nothing of reports, writers or the verdict;
// those depend on match, never the other way round.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 2 || deps[len(deps)-1] != "github.com/bulwark-sec/bulwark/internal/match" {
		t.Fatalf("go list -deps listed %q", deps)
	}
	for _, d := range deps {
		for _, banned := range []string{"/internal/report", "/internal/policy", "/internal/output", "/internal/cli", "/internal/scan"} {
			if strings.HasSuffix(d, banned) {
				t.Errorf("match depends on %s", d)
			}
		}
	}
}
