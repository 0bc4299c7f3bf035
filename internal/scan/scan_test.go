package scan

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/inventory"
	"github.com/bulwark-sec/bulwark/internal/lint"
	"github.com/bulwark-sec/bulwark/internal/testutil"
	"github.com/bulwark-sec/bulwark/internal/testutil/fixtures"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

// appImage is the clean fixture plus an application layer holding an old
// npm package, an AWS key and an ADD.
func appImage(t *testing.T) *image.Image {
	t.Helper()
	steps := append(fixtures.CleanSteps(t), testutil.Step{CreatedBy: "ADD app /app # buildkit", Layer: testutil.Layer(t,
		testutil.File{Path: "app/node_modules/minimist/package.json", Content: `{"name":"minimist","version":"1.2.5"}`},
		testutil.File{Path: "app/config.js", Content: "const k = \"AKIA" + "Z7Q2VN4LX3KJP5WD\";\n"},
	)})
	img, err := image.Open(context.Background(), "", image.Options{Input: testutil.WriteDockerArchive(t, testutil.Image(t, fixtures.CleanConfig(), steps...))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { img.Close() })
	return img
}

func minimistDB(t *testing.T) *vulndb.DB {
	t.Helper()
	var buf bytes.Buffer
	advs := []vulndb.Advisory{{ID: "GHSA-xvch-5gv4-984h", DatabaseSeverity: "CRITICAL", Affected: []vulndb.Affected{{
		Ecosystem: "npm", Package: "minimist",
		Ranges: []vulndb.Range{{Type: "SEMVER", Events: []vulndb.Event{{Introduced: "1.0.0"}, {Fixed: "1.2.6"}}}},
	}}}}
	if err := vulndb.Write(&buf, vulndb.Metadata{BuiltAt: time.Now()}, advs); err != nil {
		t.Fatal(err)
	}
	db, err := vulndb.OpenBytes("test.bwdb", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestRunOnePass runs the three gates in one walk and checks that each
// contributed its finding, with the layer it comes from.
func TestRunOnePass(t *testing.T) {
	img := appImage(t)
	res, err := Run(context.Background(), img, Options{Vulns: true, Lint: true, Secrets: true, DB: minimistDB(t), BaseLayers: 2,
		LintOptions: lint.Options{Env: func(string) string { return "1" }}})
	if err != nil {
		t.Fatal(err)
	}
	byGate := map[finding.Gate][]string{}
	for _, f := range res.Findings {
		byGate[f.Gate] = append(byGate[f.Gate], f.ID)
		if f.Gate == finding.GateVuln && (f.Vuln == nil || f.Vuln.FromBase || f.Location.Layer == nil || f.Location.Layer.Index != 2) {
			t.Errorf("vuln finding must come from the application's layer 2: %+v", f)
		}
	}
	if got := strings.Join(byGate[finding.GateVuln], ","); got != "GHSA-xvch-5gv4-984h" {
		t.Errorf("vuln findings %q", got)
	}
	if got := strings.Join(byGate[finding.GateLint], ","); got != "CIS-DI-0009" {
		t.Errorf("lint findings %q", got)
	}
	if got := strings.Join(byGate[finding.GateSecrets], ","); !strings.Contains(got, "aws-access-key-id") {
		t.Errorf("secret findings %q", got)
	}
	if len(res.Gates) != 3 || res.SBOM == nil || len(res.SBOM.Packages) == 0 {
		t.Errorf("gates %v, SBOM %+v", res.Gates, res.SBOM)
	}
}

func TestRunOptions(t *testing.T) {
	img := appImage(t)
	if _, err := Run(context.Background(), img, Options{Vulns: true}); err == nil {
		t.Error("vulnerability matching without a database must fail")
	}
	res, err := Run(context.Background(), img, Options{SBOM: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Gates) != 0 || len(res.Findings) != 0 || res.SBOM == nil {
		t.Errorf("SBOM only: gates %v findings %v", res.Gates, res.Findings)
	}
	// A source tree has no configuration to lint: lint is dropped.
	res, err = Run(context.Background(), img, Options{Lint: true, Mode: inventory.ModeTree})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Gates) != 0 || res.Target.Kind != "dir" {
		t.Errorf("tree mode: gates %v kind %q", res.Gates, res.Target.Kind)
	}
}

func TestBaseLayers(t *testing.T) {
	img := appImage(t)
	// The fixture's history starts with the base rootfs ADD and a CMD.
	n, warn := BaseLayers(context.Background(), img, "", image.Options{}, false)
	if n < 1 || warn != "" {
		t.Errorf("from the history: %d layers, warning %q", n, warn)
	}
	if _, warn := BaseLayers(context.Background(), img, "/nonexistent/base.tar", image.Options{}, true); !strings.Contains(warn, "could not be opened") {
		t.Errorf("a missing --base-image must be warned about, got %q", warn)
	}
	var cfg v1.Config
	bare, err := image.Open(context.Background(), "", image.Options{Input: testutil.WriteDockerArchive(t, testutil.Image(t, cfg, testutil.Step{CreatedBy: "x", Layer: testutil.Layer(t, testutil.File{Path: "a", Content: "b"})}))})
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Close()
	if n, warn := BaseLayers(context.Background(), bare, "", image.Options{}, true); n != 0 || warn == "" {
		t.Errorf("no way to tell the base: %d, %q", n, warn)
	}
}
