package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/bulwark-sec/bulwark/internal/testutil"
	"github.com/bulwark-sec/bulwark/internal/testutil/fixtures"
)

// runCLI runs bulwark with args and returns the exit code and outputs.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Execute(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func archiveWith(t *testing.T, steps ...testutil.Step) string {
	t.Helper()
	return testutil.WriteDockerArchive(t, testutil.Image(t, fixtures.CleanConfig(), append(fixtures.CleanSteps(t), steps...)...))
}

func TestLintExitCodes(t *testing.T) {
	t.Setenv("DOCKER_CONTENT_TRUST", "1")
	t.Chdir(t.TempDir()) // no default ignore files
	clean := archiveWith(t)
	withAdd := archiveWith(t, testutil.Step{CreatedBy: "ADD app.tar /app # buildkit", Layer: testutil.Layer(t, testutil.File{Path: "app/x", Content: "x"})})
	withWarn := testutil.WriteDockerArchive(t, testutil.Image(t, v1.Config{Healthcheck: fixtures.CleanConfig().Healthcheck}, fixtures.CleanSteps(t)...))
	notImage := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(notImage, []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	ignoreFile := filepath.Join(t.TempDir(), "ignore")
	if err := os.WriteFile(ignoreFile, []byte("# accepted until the base is rebuilt\nCIS-DI-0009 exp:2999-01-01 # vendored tarball\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	expired := filepath.Join(t.TempDir(), "expired")
	if err := os.WriteFile(expired, []byte("CIS-DI-0009 exp:2001-01-01\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"clean", []string{"lint", "--input", clean}, 0, ""},
		{"fatal finding", []string{"lint", "--input", withAdd}, 1, "CIS-DI-0009"},
		{"custom exit code", []string{"lint", "--input", withAdd, "--exit-code", "7"}, 7, "gate failed"},
		{"ignored by flag", []string{"lint", "--input", withAdd, "--ignore", "CIS-DI-0009"}, 0, ""},
		{"ignored by file", []string{"lint", "--input", withAdd, "--ignore-file", ignoreFile}, 0, ""},
		{"expired ignore", []string{"lint", "--input", withAdd, "--ignore-file", expired}, 1, "CIS-DI-0009"},
		{"warn passes at the default level (fatal)", []string{"lint", "--input", withWarn}, 0, ""},
		{"warn fails at Dockle's --exit-level warn", []string{"lint", "--input", withWarn, "--exit-level", "warn"}, 1, "lint gate: 1 finding(s) at or above WARN: CIS-DI-0001"},
		{"warn fails at --fail-on warn", []string{"lint", "--input", withWarn, "--fail-on", "warn"}, 1, "CIS-DI-0001"},
		{"fatal fails at --fail-on high", []string{"lint", "--input", withAdd, "--fail-on", "high"}, 1, "at or above FATAL: CIS-DI-0009"},
		{"never reports only", []string{"lint", "--input", withAdd, "--fail-on", "never"}, 0, ""},
		{"both spellings", []string{"lint", "--input", withAdd, "--fail-on", "high", "--exit-level", "warn"}, 2, "not both"},
		{"positional archive", []string{"lint", "docker-archive:" + clean}, 0, ""},
		{"not an image", []string{"lint", "--input", notImage}, 2, notImage},
		{"missing file", []string{"lint", "--input", "/nonexistent/x.tar"}, 2, "/nonexistent/x.tar"},
		{"no image", []string{"lint"}, 2, "no image given"},
		{"bad level", []string{"lint", "--input", clean, "--exit-level", "loud"}, 2, "--exit-level"},
		{"bad format", []string{"lint", "--input", clean, "--format", "xml"}, 2, "unknown output format"},
		{"unknown flag", []string{"lint", "--bogus"}, 2, "unknown flag"},
		{"unreachable registry", []string{"lint", "127.0.0.1:1/none/x:1"}, 2, "127.0.0.1:1/none/x:1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d; stderr: %s", code, tc.code, stderr)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr, tc.stderr)
			}
		})
	}
}

func TestLintFormats(t *testing.T) {
	t.Setenv("DOCKER_CONTENT_TRUST", "1")
	t.Chdir(t.TempDir())
	img := archiveWith(t, testutil.Step{CreatedBy: "ADD app.tar /app # buildkit", Layer: testutil.Layer(t, testutil.File{Path: "app/.DS_Store", Content: "x"})})

	code, out, _ := runCLI(t, "lint", "--input", img, "--ignore", "DKL-LI-0003")
	if code != 1 || !strings.Contains(out, "FATAL - CIS-DI-0009: Use COPY instead of ADD in Dockerfile") ||
		!strings.Contains(out, "suppressed: ignore") {
		t.Errorf("table output (exit %d):\n%s", code, out)
	}

	_, out, _ = runCLI(t, "lint", "--input", img, "--format", "json", "--ignore", "DKL-LI-0003")
	var rep struct {
		Target   struct{ Name string }
		Findings []struct {
			ID         string
			Severity   string
			Suppressed *struct{ Kind string }
			Location   struct {
				Path  string
				Field string
				Layer *struct{ Index int }
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("JSON output does not parse: %v\n%s", err, out)
	}
	got := map[string]string{}
	for _, f := range rep.Findings {
		s := f.Severity
		if f.Suppressed != nil {
			s += "/suppressed"
		}
		got[f.ID] = s
	}
	if got["CIS-DI-0009"] != "CRITICAL" || got["DKL-LI-0003"] != "INFO/suppressed" {
		t.Errorf("JSON findings: %v", got)
	}

	sarifPath := filepath.Join(t.TempDir(), "out.sarif")
	if code, _, stderr := runCLI(t, "lint", "--input", img, "--format", "sarif", "-o", sarifPath); code != 1 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(sarifPath)
	if err != nil {
		t.Fatal(err)
	}
	var sarif struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string
					Rules []struct {
						ID         string `json:"id"`
						Properties map[string]any
					}
				}
			}
			Results []struct {
				RuleID    string `json:"ruleId"`
				Level     string
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
						Region           struct{ StartLine int }
					}
				}
			}
		}
	}
	if err := json.Unmarshal(b, &sarif); err != nil {
		t.Fatalf("SARIF does not parse: %v", err)
	}
	if sarif.Version != "2.1.0" || len(sarif.Runs) != 1 || sarif.Runs[0].Tool.Driver.Name != "bulwark" {
		t.Fatalf("SARIF header: %+v", sarif)
	}
	results := sarif.Runs[0].Results
	if len(results) != 2 {
		t.Fatalf("SARIF has %d results, want 2", len(results))
	}
	for _, r := range results {
		if len(r.Locations) != 1 || r.Locations[0].PhysicalLocation.ArtifactLocation.URI == "" || r.Locations[0].PhysicalLocation.Region.StartLine < 1 {
			t.Errorf("result %s lacks the physical location code scanning requires: %+v", r.RuleID, r.Locations)
		}
	}
	for _, rule := range sarif.Runs[0].Tool.Driver.Rules {
		if rule.Properties["security-severity"] == nil {
			t.Errorf("rule %s has no security-severity", rule.ID)
		}
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI(t, "version")
	if code != 0 || !strings.Contains(out, "bulwark ") || !strings.Contains(out, "commit: ") || !strings.Contains(out, "built: ") {
		t.Errorf("version output (exit %d): %q", code, out)
	}
}
