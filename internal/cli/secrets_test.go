package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// Synthetic secrets, built by concatenation.
var (
	cliFakeAKID = "AKIA" + "Q3EGRHAZ" + "XMPL7Q2W"
	cliFakeGHP  = "ghp_" + "R7kx2Lm9Pq4Vt6Nb8Hc1" + "Jd3Fg5Ys7Ea9RuIo"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSecretsCommand(t *testing.T) {
	dirty := t.TempDir()
	writeFile(t, filepath.Join(dirty, "app", "settings.py"), "KEY = '"+cliFakeAKID+"'\nTOKEN = '"+cliFakeGHP+"'\n")
	clean := t.TempDir()
	writeFile(t, filepath.Join(clean, "main.go"), "package main\n")
	baseline := filepath.Join(t.TempDir(), "baseline.json")
	image := testutil.WriteDockerArchive(t, testutil.Image(t, v1.Config{},
		testutil.Step{CreatedBy: "COPY . /", Layer: testutil.Layer(t, testutil.File{Path: "etc/app.env", Content: "GITHUB_TOKEN=" + cliFakeGHP + "\n"})}))

	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"clean dir", []string{"secrets", clean}, 0, "no findings", ""},
		{"dirty dir", []string{"secrets", dirty}, 1, "AKIA*****", "gate failed"},
		{"custom exit code", []string{"secrets", dirty, "--exit-code", "9"}, 9, "", "gate failed"},
		{"fail-on critical only", []string{"secrets", dirty, "--fail-on", "critical"}, 1, "", ""},
		{"record baseline", []string{"secrets", dirty, "-f", "json", "-o", baseline, "--exit-code", "0"}, 0, "", ""},
		{"baseline passes", []string{"secrets", dirty, "--baseline", baseline}, 0, "suppressed", ""},
		{"image archive", []string{"secrets", "--input", image}, 1, "layer 0", ""},
		{"image as argument", []string{"secrets", image}, 1, "ghp_*****", ""},
		{"missing dir", []string{"secrets", filepath.Join(clean, "nope")}, 2, "", "nope"},
		{"since without git", []string{"secrets", "--since", "HEAD", dirty}, 2, "", "--since needs --git"},
		{"bad fail-on", []string{"secrets", dirty, "--fail-on", "urgent"}, 2, "", "--fail-on"},
		{"missing baseline", []string{"secrets", dirty, "--baseline", "/nonexistent/b.json"}, 2, "", "/nonexistent/b.json"},
		{"list rules", []string{"secrets", "--list-rules"}, 0, "aws-access-key-id", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			if !strings.Contains(stdout, tc.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdout, stdout)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, stderr)
			}
		})
	}
}

// TestSecretsRedactedInEveryFormat checks that no output format shows a
// whole secret unless --show-secrets.
func TestSecretsRedactedInEveryFormat(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.env"), "AWS_ACCESS_KEY_ID="+cliFakeAKID+"\nGITHUB_TOKEN="+cliFakeGHP+"\n")
	for _, format := range []string{"table", "json", "sarif"} {
		code, stdout, _ := runCLI(t, "secrets", dir, "-f", format)
		if code != 1 {
			t.Errorf("%s: exit code %d", format, code)
		}
		for _, s := range []string{cliFakeAKID, cliFakeGHP} {
			if strings.Contains(stdout, s) {
				t.Errorf("%s output shows the secret %s", format, s[:4])
			}
		}
		if !strings.Contains(stdout, "AKIA*****") {
			t.Errorf("%s output lacks the redacted key", format)
		}
	}
	_, stdout, _ := runCLI(t, "secrets", dir, "-f", "json", "--show-secrets")
	var rep struct {
		Findings []struct {
			Fingerprint string
			Secret      struct {
				Secret     string
				AWSAccount string `json:"awsAccount"`
			}
		}
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	shown := map[string]bool{}
	for _, f := range rep.Findings {
		shown[f.Secret.Secret] = true
		if f.Fingerprint == "" {
			t.Error("finding without fingerprint")
		}
	}
	if !shown[cliFakeAKID] || !shown[cliFakeGHP] {
		t.Errorf("--show-secrets: secrets shown %v", shown)
	}
}

func TestSecretsGitCommand(t *testing.T) {
	testutil.RequireTool(t, "git")
	dir := t.TempDir()
	emptyConfig := filepath.Join(t.TempDir(), "gitconfig")
	writeFile(t, emptyConfig, "")
	t.Setenv("GIT_CONFIG_GLOBAL", emptyConfig)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	for _, args := range [][]string{
		{"init", "-q"},
		{"-c", "user.name=Bo", "-c", "user.email=bo@example.com", "commit", "-q", "--allow-empty", "-m", "start"},
	} {
		if out, err := gitCmd(dir, args...); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	writeFile(t, filepath.Join(dir, "x.txt"), "GITHUB_TOKEN="+cliFakeGHP+"\n")
	for _, args := range [][]string{{"add", "."}, {"-c", "user.name=Bo", "-c", "user.email=bo@example.com", "commit", "-q", "-m", "oops"}} {
		if out, err := gitCmd(dir, args...); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	code, stdout, stderr := runCLI(t, "secrets", "--git", dir, "-f", "json")
	if code != 1 || !strings.Contains(stdout, "bo@example.com") {
		t.Errorf("exit %d, stdout %s, stderr %s", code, stdout, stderr)
	}
	code, _, _ = runCLI(t, "secrets", "--git", "--since", "HEAD", dir)
	if code != 0 {
		t.Errorf("--since HEAD: exit %d, want 0", code)
	}
}

func gitCmd(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	return cmd.CombinedOutput()
}

// TestSecretsMissingPath: a path that does not exist is reported as a
// missing path (exit 2), not as an image that could not be opened.
func TestSecretsMissingPath(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	code, _, stderr := runCLI(t, "secrets", missing)
	if code != 2 || !strings.Contains(stderr, missing+": no such file or directory") || strings.Contains(stderr, "image") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
