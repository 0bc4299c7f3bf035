package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/pipeline"
	"github.com/bulwark-sec/bulwark/internal/testutil"
	"github.com/bulwark-sec/bulwark/internal/testutil/fixtures"
)

// TestOneVerdict: the same image and the same --fail-on give the same
// verdict, gate by gate, through lint, secrets, scan and the pipeline. The
// image holds one finding per gate: a CRITICAL vulnerability (log4j-core
// 2.14.1), a FATAL lint finding (ADD) and a HIGH secret (a Stripe webhook secret).
func TestOneVerdict(t *testing.T) {
	t.Chdir(t.TempDir()) // no default ignore files
	db := scanDB(t)
	jar := testutil.File{Path: "app/lib/log4j-core-2.14.1.jar", Content: log4jJar(t, "2.14.1")}
	img := testutil.WriteDockerArchive(t, testutil.Image(t, fixtures.CleanConfig(), append(fixtures.CleanSteps(t),
		testutil.Step{CreatedBy: "ADD lib.tar /app/lib # buildkit", Layer: testutil.Layer(t, jar)},
		testutil.Step{CreatedBy: "COPY .env /app/ # buildkit", Layer: testutil.Layer(t, testutil.File{Path: "app/.env", Content: "STRIPE_WEBHOOK_SECRET=" + "whsec_" + "Q3EGRHAZXMPL7Q2Wk9d2LmN4pR7sT1vX" + "\n"})},
	)...))

	// What each gate decides, by the one grammar: a severity means that
	// severity or above, terms OR.
	cases := []struct {
		failOn              string
		vuln, lint, secrets bool // fails
	}{
		{"critical", true, true, false},
		{"fatal", true, true, false},
		{"HIGH", true, true, true},
		{"medium", true, true, true},
		{"warn", true, true, true},
		{"critical,kev", true, true, false},
		{"kev", false, false, false},
		{"any", true, true, true},
		{"never", false, false, false},
	}
	exit := func(fails bool) int {
		if fails {
			return 1
		}
		return 0
	}
	for _, tc := range cases {
		t.Run(tc.failOn, func(t *testing.T) {
			cmds := []struct {
				args []string
				want bool
			}{
				{[]string{"lint", "--input", img}, tc.lint},
				{[]string{"scan", "--input", img, "--scanners", "lint"}, tc.lint},
				{[]string{"secrets", "--input", img}, tc.secrets},
				{[]string{"scan", "--input", img, "--scanners", "secret"}, tc.secrets},
				{[]string{"scan", "--input", img, "--scanners", "vuln", "--db", db, "--offline"}, tc.vuln},
				{[]string{"scan", "--input", img, "--db", db, "--offline"}, tc.vuln || tc.lint || tc.secrets},
			}
			for _, c := range cmds {
				code, out, errOut := runCLI(t, append(c.args, "--fail-on", tc.failOn)...)
				if code != exit(c.want) {
					t.Errorf("%s --fail-on %s: exit %d, want %d\n%s%s", strings.Join(c.args[:1], " "), tc.failOn, code, exit(c.want), out, errOut)
				}
			}

			dir := t.TempDir()
			file := filepath.Join(dir, "bulwark.yaml")
			yaml := fmt.Sprintf(`version: 1
build:
  image: %s
scan:
  vulnerabilities: {failOn: "%[2]s"}
  lint: {failOn: "%[2]s"}
  secrets: {failOn: "%[2]s"}
  db: {path: %s, offline: true}
`, img, tc.failOn, db)
			if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := runCLI(t, "pipeline", "run", "--file", file)
			if want := exit(tc.vuln || tc.lint || tc.secrets); code != want {
				t.Errorf("pipeline: exit %d, want %d\n%s%s", code, want, out, errOut)
			}
			raw, err := os.ReadFile(filepath.Join(dir, pipeline.DefaultArtifacts, pipeline.RunJSON))
			if err != nil {
				t.Fatal(err)
			}
			var run pipeline.Run
			if err := json.Unmarshal(raw, &run); err != nil {
				t.Fatal(err)
			}
			got := map[finding.Gate]bool{}
			for _, g := range run.Gates {
				got[g.Gate] = !g.Passed
			}
			// The pipeline stops at the first failing gate of the scan
			// stage, but records every gate the stage decided.
			want := map[finding.Gate]bool{finding.GateVuln: tc.vuln, finding.GateLint: tc.lint, finding.GateSecrets: tc.secrets}
			for g, w := range want {
				if got[g] != w {
					t.Errorf("pipeline %s gate fails = %v, want %v (run gates %+v)", g, got[g], w, run.Gates)
				}
			}
		})
	}
}
