package cli

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/testutil"
	"github.com/bulwark-sec/bulwark/internal/testutil/fixtures"
	"github.com/bulwark-sec/bulwark/internal/vulndb/build"
)

// scanTestdata is absolute, since the tests change directory.
var scanTestdata, _ = filepath.Abs(filepath.Join("testdata", "scan"))

// scanDB builds a database from the real advisories in testdata/scan.
func scanDB(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "vulndb.bwdb")
	_, err := build.Build(context.Background(), build.Options{
		Output: out,
		OSV:    []string{filepath.Join(scanTestdata, "govulndb")},
		GHSA:   []string{filepath.Join(scanTestdata, "ghsa")},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// log4jJar builds a log4j-core jar holding its Maven pom.properties.
func log4jJar(t *testing.T, version string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range map[string]string{
		"META-INF/MANIFEST.MF": "Manifest-Version: 1.0\r\nImplementation-Title: Apache Log4j Core\r\nImplementation-Version: " + version + "\r\n\r\n",
		"META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties": "groupId=org.apache.logging.log4j\nartifactId=log4j-core\nversion=" + version + "\n",
		"org/apache/logging/log4j/core/lookup/JndiLookup.class":             "\xca\xfe\xba\xbe",
	} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(content))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// log4jImage is the clean fixture image plus a layer with log4j-core; in
// the base image's layer when inBase.
func log4jImage(t *testing.T, version string, inBase bool) string {
	t.Helper()
	jar := testutil.File{Path: "app/lib/log4j-core-" + version + ".jar", Content: log4jJar(t, version)}
	steps := fixtures.CleanSteps(t)
	if inBase {
		steps[0].Layer = testutil.Layer(t, testutil.Dir("etc"), testutil.File{Path: "etc/passwd", Content: fixtures.Passwd},
			testutil.File{Path: "etc/group", Content: fixtures.Group}, testutil.File{Path: "etc/shadow", Content: fixtures.Shadow, Mode: 0o640}, jar)
	} else {
		steps = append(steps, testutil.Step{CreatedBy: "COPY lib /app/lib # buildkit", Layer: testutil.Layer(t, jar)})
	}
	return testutil.WriteDockerArchive(t, testutil.Image(t, fixtures.CleanConfig(), steps...))
}

func scanJSON(t *testing.T, stdout string) finding.Report {
	t.Helper()
	var r finding.Report
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, stdout)
	}
	return r
}

func findID(r finding.Report, id string) *finding.Finding {
	for i := range r.Findings {
		if r.Findings[i].ID == id {
			return &r.Findings[i]
		}
	}
	return nil
}

func TestScanLog4j(t *testing.T) {
	t.Chdir(t.TempDir()) // no default ignore files
	db := scanDB(t)
	vulnerable := log4jImage(t, "2.14.1", false)
	fixed := log4jImage(t, "2.17.1", false)
	common := []string{"--db", db, "--offline", "--scanners", "vuln"}

	code, out, errOut := runCLI(t, append([]string{"scan", "--input", vulnerable, "--severity", "CRITICAL", "-f", "json"}, common...)...)
	if code != 1 {
		t.Fatalf("2.14.1 --severity CRITICAL: exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "GHSA-jfh8-c2jp-5v3q") {
		t.Errorf("stderr does not name GHSA-jfh8-c2jp-5v3q: %s", errOut)
	}
	r := scanJSON(t, out)
	f := findID(r, "GHSA-jfh8-c2jp-5v3q")
	if f == nil {
		t.Fatalf("GHSA-jfh8-c2jp-5v3q not reported: %s", out)
	}
	d := f.Vuln
	if f.Severity != finding.Critical || d.Package != "org.apache.logging.log4j:log4j-core" || d.InstalledVersion != "2.14.1" ||
		d.FixedVersion != "2.15.0" || d.Status != "fixed" || d.SeveritySource != "ghsa CVSS 3.1" || d.CVSSScore != 10 {
		t.Errorf("finding = %+v %+v", f, d)
	}
	if f.Location.Layer == nil || f.Location.Layer.Index != 2 || d.FromBase {
		t.Errorf("layer = %+v fromBase %v, want the application's layer 2", f.Location.Layer, d.FromBase)
	}
	if len(f.References) == 0 || !strings.Contains(f.References[0], "GHSA-jfh8-c2jp-5v3q") {
		t.Errorf("references = %v", f.References)
	}
	for _, x := range r.Findings {
		if x.Severity != finding.Critical {
			t.Errorf("--severity CRITICAL shows %s %s", x.ID, x.Severity)
		}
	}

	if code, out, errOut := runCLI(t, append([]string{"scan", "--input", fixed, "--severity", "CRITICAL"}, common...)...); code != 0 {
		t.Errorf("2.17.1 --severity CRITICAL: exit %d, want 0\n%s\n%s", code, out, errOut)
	}

	// Report everything, fail only on CRITICAL: 2.17.1 still has
	// GHSA-8489-44mv-ggj8 (not in the sample) but none CRITICAL.
	code, out, _ = runCLI(t, append([]string{"scan", "--input", vulnerable, "--fail-on", "CRITICAL", "--exit-code", "7", "-f", "json"}, common...)...)
	if code != 7 {
		t.Errorf("--fail-on CRITICAL --exit-code 7: exit %d", code)
	}
	r = scanJSON(t, out)
	if findID(r, "GHSA-7rjr-3q55-vv33") == nil {
		t.Errorf("without --severity the report should show the other log4j advisories too: %s", out)
	}

	// An ignore file naming the CVE alias, with a reason; then expired.
	ign := filepath.Join(t.TempDir(), ".trivyignore")
	os.WriteFile(ign, []byte("CVE-2021-44228 exp:2999-01-01 # JNDI disabled by the runtime flag\nCVE-2021-45046\nGHSA-7rjr-3q55-vv33\n"), 0o644)
	code, out, errOut = runCLI(t, append([]string{"scan", "--input", vulnerable, "--severity", "CRITICAL", "--ignore-file", ign, "-f", "json"}, common...)...)
	if code != 0 {
		t.Errorf("ignored: exit %d, want 0\n%s", code, errOut)
	}
	if f := findID(scanJSON(t, out), "GHSA-jfh8-c2jp-5v3q"); f == nil || f.Suppressed == nil || f.Suppressed.Reason != "JNDI disabled by the runtime flag" {
		t.Errorf("ignored finding should be shown as suppressed with its reason: %+v", f)
	}
	os.WriteFile(ign, []byte("CVE-2021-44228 exp:2020-01-01\n"), 0o644)
	if code, _, _ := runCLI(t, append([]string{"scan", "--input", vulnerable, "--severity", "CRITICAL", "--ignore-file", ign}, common...)...); code != 1 {
		t.Errorf("expired ignore rule: exit %d, want 1", code)
	}

	// OpenVEX: not_affected for the package.
	vexFile := filepath.Join(t.TempDir(), "app.openvex.json")
	os.WriteFile(vexFile, []byte(`{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "statements": [
	  {"vulnerability": {"name": "CVE-2021-44228"}, "products": [{"@id": "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"}],
	   "status": "not_affected", "justification": "vulnerable_code_cannot_be_controlled_by_adversary"},
	  {"vulnerability": {"name": "GHSA-7rjr-3q55-vv33"}, "products": [{"@id": "pkg:maven/org.apache.logging.log4j/log4j-core"}], "status": "fixed"}]}`), 0o644)
	code, out, _ = runCLI(t, append([]string{"scan", "--input", vulnerable, "--vex", vexFile, "--fail-on", "CRITICAL", "-f", "json"}, common...)...)
	if code != 0 {
		t.Errorf("VEX not_affected: exit %d, want 0\n%s", code, out)
	}
	r = scanJSON(t, out)
	if f := findID(r, "GHSA-jfh8-c2jp-5v3q"); f == nil || f.Suppressed == nil || f.Suppressed.Kind != "vex" || !strings.Contains(f.Suppressed.Reason, "vulnerable_code_cannot_be_controlled_by_adversary") {
		t.Errorf("VEX: %+v", f)
	}

	// Formats.
	for _, format := range []string{"table", "sarif", "cyclonedx"} {
		code, out, errOut := runCLI(t, append([]string{"scan", "--input", vulnerable, "--severity", "CRITICAL", "-f", format}, common...)...)
		if code != 1 || !strings.Contains(out, "GHSA-jfh8-c2jp-5v3q") {
			t.Errorf("-f %s: exit %d\n%s\n%s", format, code, out, errOut)
		}
		if format == "cyclonedx" && (!strings.Contains(out, `"vulnerabilities"`) || !strings.Contains(out, "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1")) {
			t.Errorf("CycloneDX output lacks vulnerabilities or the component:\n%s", out)
		}
	}
}

func TestScanIgnoreBase(t *testing.T) {
	t.Chdir(t.TempDir())
	db := scanDB(t)
	inBase := log4jImage(t, "2.14.1", true)
	common := []string{"--db", db, "--offline", "--scanners", "vuln", "--severity", "CRITICAL"}
	code, out, _ := runCLI(t, append([]string{"scan", "--input", inBase, "-f", "json"}, common...)...)
	if code != 1 {
		t.Errorf("log4j in the base: exit %d, want 1", code)
	}
	if f := findID(scanJSON(t, out), "GHSA-jfh8-c2jp-5v3q"); f == nil || !f.Vuln.FromBase {
		t.Errorf("finding should say it comes from the base image: %+v", f)
	}
	if code, _, errOut := runCLI(t, append([]string{"scan", "--input", inBase, "--ignore-base"}, common...)...); code != 0 {
		t.Errorf("--ignore-base: exit %d, want 0\n%s", code, errOut)
	}
	inApp := log4jImage(t, "2.14.1", false)
	if code, _, _ := runCLI(t, append([]string{"scan", "--input", inApp, "--ignore-base"}, common...)...); code != 1 {
		t.Errorf("--ignore-base with log4j in the application's layer: exit %d, want 1", code)
	}
}

func TestScanAllScanners(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("DOCKER_CONTENT_TRUST", "1")
	db := scanDB(t)
	steps := append(fixtures.CleanSteps(t),
		testutil.Step{CreatedBy: "COPY . /app # buildkit", Layer: testutil.Layer(t,
			testutil.File{Path: "app/lib/log4j-core-2.14.1.jar", Content: log4jJar(t, "2.14.1")},
			testutil.File{Path: "app/.env", Content: "AWS_ACCESS_KEY_ID=AKIAZ7VRSQ5TJN2PXMQE\n"},
		)})
	cfg := fixtures.CleanConfig()
	cfg.User = "" // CIS-DI-0001, FATAL
	img := testutil.WriteDockerArchive(t, testutil.Image(t, cfg, steps...))
	code, out, errOut := runCLI(t, "scan", "--input", img, "--db", db, "--offline", "-f", "json")
	if code != 1 {
		t.Errorf("exit %d, want 1\n%s", code, errOut)
	}
	r := scanJSON(t, out)
	gates := map[finding.Gate]int{}
	for _, f := range r.Findings {
		gates[f.Gate]++
	}
	if gates[finding.GateVuln] == 0 || gates[finding.GateSecrets] == 0 || gates[finding.GateLint] == 0 {
		t.Errorf("findings per gate = %v, want all three\n%s", gates, out)
	}
	if findID(r, "CIS-DI-0001") == nil {
		t.Errorf("CIS-DI-0001 (root user) missing")
	}
	code, out, _ = runCLI(t, "scan", "--input", img, "--db", db, "--offline", "--scanners", "secret,lint", "-f", "json")
	r = scanJSON(t, out)
	for _, f := range r.Findings {
		if f.Gate == finding.GateVuln {
			t.Errorf("--scanners secret,lint reported %s", f.ID)
		}
	}
	if code != 1 {
		t.Errorf("--scanners secret,lint: exit %d, want 1", code)
	}
	if code, _, errOut := runCLI(t, "scan", "--input", img, "--db", db, "--offline", "--scanners", "bogus"); code != 2 || !strings.Contains(errOut, "bogus") {
		t.Errorf("--scanners bogus: exit %d, %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "scan", "--input", img, "--db", filepath.Join(t.TempDir(), "missing.bwdb"), "--offline"); code != 2 {
		t.Errorf("missing database: exit %d, want 2: %s", code, errOut)
	}
}

// TestScanGoBinary builds a program against golang.org/x/net at a 2021
// pseudo-version through the Go module proxy and scans it.
func TestScanGoBinary(t *testing.T) {
	goTool := testutil.RequireTool(t, "go")
	t.Chdir(t.TempDir())
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "go.mod"), []byte("module example.com/xnetapp\n\ngo 1.21\n\nrequire golang.org/x/net v0.0.0-20210428140749-89ef3d95e781\n"), 0o644)
	os.WriteFile(filepath.Join(src, "main.go"), []byte("package main\n\nimport (\n\t\"fmt\"\n\t\"strings\"\n\n\t\"golang.org/x/net/html\"\n)\n\nfunc main() {\n\tdoc, err := html.Parse(strings.NewReader(\"<p>hi</p>\"))\n\tfmt.Println(doc != nil, err)\n}\n"), 0o644)
	root := t.TempDir()
	cmd := exec.Command(goTool, "build", "-mod=mod", "-o", filepath.Join(root, "app", "xnetapp"), ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		if testutil.Integration() {
			t.Fatalf("go build through the module proxy: %v\n%s", err, out)
		}
		t.Skipf("cannot build the test program (no module proxy?): %v\n%s", err, out)
	}
	db := scanDB(t)
	code, out, errOut := runCLI(t, "scan", root, "--db", db, "--offline", "--scanners", "vuln", "--fail-on", "any", "-f", "json")
	if code != 1 {
		t.Errorf("exit %d, want 1\n%s", code, errOut)
	}
	r := scanJSON(t, out)
	if r.Target.Kind != "dir" {
		t.Errorf("target kind %q, want dir", r.Target.Kind)
	}
	want := map[string]struct {
		sev    finding.Severity
		source string
		fixed  string
	}{
		// x/net/html infinite loop; the sample has no GHSA for it.
		"GO-2021-0238": {finding.Unknown, "", "0.0.0-20210520170846-37e1c6afe023"},
		// CVE-2022-27664, GHSA-69cg-p879-7622: CVSS 3.1 7.5.
		"GO-2022-0969": {finding.High, "ghsa CVSS 3.1", "0.0.0-20220906165146-f3363e06e74c"},
		// CVE-2023-39325, GHSA-4374-p667-p6c8: 7.5.
		"GO-2023-2102": {finding.High, "ghsa CVSS 3.1", "0.17.0"},
		// CVE-2023-45288, GHSA-4v7x-pqxf-cx7m: 5.3.
		"GO-2024-2687": {finding.Medium, "ghsa CVSS 3.1", "0.23.0"},
	}
	for id, w := range want {
		f := findID(r, id)
		if f == nil {
			t.Errorf("%s not reported", id)
			continue
		}
		if f.Severity != w.sev || f.Vuln.SeveritySource != w.source || f.Vuln.FixedVersion != w.fixed ||
			f.Vuln.Package != "golang.org/x/net" || f.Vuln.InstalledVersion != "v0.0.0-20210428140749-89ef3d95e781" {
			t.Errorf("%s: severity %s, vuln %+v; want %+v", id, f.Severity, f.Vuln, w)
		}
	}
}

// TestScanHost runs the CIS host benchmark on a root file system, alone
// and with the vulnerability scanner, and gates it by severity and level.
func TestScanHost(t *testing.T) {
	t.Chdir(t.TempDir())
	rootfs := "rootfs:" + testutil.GoldenRootfs(t, nil)
	code, out, errOut := runCLI(t, "scan", rootfs, "--scanners", "host", "-f", "json")
	if code != 1 || !strings.Contains(errOut, "host benchmark debian-12") {
		t.Fatalf("exit %d, want 1 (PermitRootLogin yes is HIGH)\n%s", code, errOut)
	}
	r := scanJSON(t, out)
	f := findID(r, "sshd-permit-root-login")
	if f == nil || f.Gate != finding.GateHost || f.Host == nil || f.Host.Section != "5.1.20" || f.Location.Path != "etc/ssh/sshd_config" || f.Location.Line != 2 {
		t.Fatalf("sshd-permit-root-login: %+v", f)
	}
	if n := findID(r, "svc-approved-only"); n == nil || n.Severity != finding.Info || n.Host.Status != "notchecked" {
		t.Errorf("a check that needs a running system must be an INFO not-checked finding: %+v", n)
	}
	if code, _, _ := runCLI(t, "scan", rootfs, "--scanners", "host", "--ignore", "sshd-permit-root-login"); code != 0 {
		t.Errorf("with the HIGH finding ignored: exit %d, want 0", code)
	}
	if code, _, _ := runCLI(t, "scan", rootfs, "--scanners", "host", "--ignore", "sshd-permit-root-login", "--fail-on", "level1"); code != 1 {
		t.Errorf("--fail-on level1: exit %d, want 1", code)
	}
	db := scanDB(t)
	code, out, _ = runCLI(t, "scan", rootfs, "--scanners", "vuln,host", "--db", db, "--offline", "-f", "json", "--fail-on", "never")
	if r = scanJSON(t, out); code != 0 || len(r.Gates) != 2 || findID(r, "sshd-permit-root-login") == nil {
		t.Errorf("vuln,host in one pass: exit %d, gates %v", code, r.Gates)
	}
	if code, _, errOut := runCLI(t, "scan", rootfs, "--scanners", "host", "--host-profile", "nope"); code != 2 || !strings.Contains(errOut, "debian-12") {
		t.Errorf("unknown profile: exit %d, %s", code, errOut)
	}
	alpine := "rootfs:" + testutil.GoldenRootfs(t, map[string]string{"etc/os-release": "ID=alpine\nVERSION_ID=3.19.1\n"})
	if code, _, errOut := runCLI(t, "scan", alpine, "--scanners", "host"); code != 2 || !strings.Contains(errOut, "--host-profile") {
		t.Errorf("no profile for alpine: exit %d, %s", code, errOut)
	}
}
