package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// trivyTemplate uses the fields and functions common Trivy templates use
// (junit.tpl-, html.tpl- and gitlab.tpl-style).
const trivyTemplate = `{{- range . }}target={{ escapeXML .Target }} class={{ .Class }} type={{ .Type | toString }}
{{- range .Vulnerabilities }}
vuln {{ .VulnerabilityID }} {{ .PkgName }} {{ .InstalledVersion }} -> {{ .FixedVersion }} [{{ .Vulnerability.Severity | toLower }}] {{ endWithPeriod .Title }} url={{ .PrimaryURL }} path={{ .PkgPath }} layer={{ .Layer.CreatedBy | escapeXML }}
{{- end }}
{{- range .Misconfigurations }}
misconf {{ .ID }} {{ .Severity }} {{ .Title }} status={{ .Status }}
{{- end }}
{{ end -}}
`

func TestTemplateFormat(t *testing.T) {
	img, db, dir := htmlImage(t), scanDB(t), t.TempDir()
	tpl := filepath.Join(dir, "report.tpl")
	os.WriteFile(tpl, []byte(trivyTemplate), 0o644)
	fifo := filepath.Join(dir, "fifo.tpl")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, "scan", "--input", img, "--db", db, "-f", "template", "--template", "@"+tpl)
	if code != 1 {
		t.Fatalf("scan -f template: exit %d, want 1: %s", code, stderr)
	}
	t.Logf("template output:\n%s", out)
	for _, want := range []string{
		"class=lang-pkgs type=jar",
		"vuln GHSA-jfh8-c2jp-5v3q org.apache.logging.log4j:log4j-core 2.14.1 -> 2.15.0 [critical] Remote code injection in Log4j. url=https://",
		"path=app/lib/log4j-core-2.14.1.jar layer=COPY lib /app/lib # &lt;script&gt;",
		"class=config type=lint", "misconf CIS-DI-0005 INFO",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("template output lacks %q", want)
		}
	}
	// The template as an argument, and errors that name the template.
	if code, out, _ := runCLI(t, "sbom", "--input", img, "--no-cache", "-f", "template", "--template", `{{range .}}{{range .Packages}}{{.Name}}@{{.Version}} {{.Identifier.PURL}}{{"\n"}}{{end}}{{end}}`); code != 0 ||
		!strings.Contains(out, "org.apache.logging.log4j:log4j-core@2.14.1 pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1") {
		t.Errorf("sbom -f template: exit %d:\n%s", code, out)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--template", "{{range .}"}, 2, "template --template:"},
		{[]string{"--template", "@" + filepath.Join(dir, "missing.tpl")}, 2, "missing.tpl"},
		{[]string{"--template", "@" + dir}, 2, "not a regular file"},
		{[]string{"--template", "@" + fifo}, 2, "not a regular file"},
		{nil, 2, "-f template needs --template"},
		{[]string{"--template", "{{range .}}{{.NoSuchField}}{{end}}"}, 2, "NoSuchField"},
	} {
		code, _, stderr := runCLI(t, append([]string{"sbom", "--input", img, "--no-cache", "-f", "template"}, tc.args...)...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("sbom -f template %q: exit %d, want %d and %q: %s", tc.args, code, tc.code, tc.want, stderr)
		}
	}
}

func TestGitHubFormat(t *testing.T) {
	img, db := htmlImage(t), scanDB(t)
	for k, v := range map[string]string{"GITHUB_REF": "refs/heads/main", "GITHUB_SHA": "0123abcd", "GITHUB_WORKFLOW": "build", "GITHUB_JOB": "scan", "GITHUB_RUN_ID": "42"} {
		t.Setenv(k, v)
	}
	for _, args := range [][]string{{"scan", "--input", img, "--db", db, "-f", "github"}, {"sbom", "--input", img, "--no-cache", "-f", "github"}} {
		code, out, stderr := runCLI(t, args...)
		if want := map[string]int{"scan": 1, "sbom": 0}[args[0]]; code != want {
			t.Fatalf("%s -f github: exit %d, want %d: %s", args[0], code, want, stderr)
		}
		var snap struct {
			Version  int
			Detector struct{ Name, Version, URL string }
			Ref, Sha string
			Job      struct{ Correlator, ID string }
			Scanned  string
			Manifest map[string]struct {
				Name string
				File struct {
					SourceLocation string `json:"source_location"`
				}
				Resolved map[string]struct {
					PackageURL   string `json:"package_url"`
					Relationship string
					Scope        string
				}
			} `json:"manifests"`
		}
		if err := json.Unmarshal([]byte(out), &snap); err != nil {
			t.Fatalf("%s -f github: %v\n%s", args[0], err, out)
		}
		m := snap.Manifest["app/lib/log4j-core-2.14.1.jar"]
		p := m.Resolved["org.apache.logging.log4j:log4j-core"]
		if snap.Detector.Name != "bulwark" || snap.Ref != "refs/heads/main" || snap.Sha != "0123abcd" || snap.Job.Correlator != "build_scan" || snap.Job.ID != "42" || snap.Scanned == "" ||
			m.Name != "jar" || m.File.SourceLocation != "app/lib/log4j-core-2.14.1.jar" ||
			p.PackageURL != "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1" || p.Relationship != "direct" || p.Scope != "runtime" {
			t.Errorf("%s -f github:\n%s", args[0], out)
		}
	}
}
