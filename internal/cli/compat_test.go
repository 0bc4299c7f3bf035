package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/bulwark-sec/bulwark/internal/testutil"
	"github.com/bulwark-sec/bulwark/internal/testutil/fixtures"
)

// TestDockleFlags runs lint under Dockle's flag names: each must do what
// the bulwark flag it stands for does, quietly, or say on stderr where
// bulwark differs.
func TestDockleFlags(t *testing.T) {
	t.Setenv("DOCKER_CONTENT_TRUST", "1")
	t.Chdir(t.TempDir())
	withAdd := archiveWith(t, testutil.Step{CreatedBy: "ADD app.tar /app", Layer: testutil.Layer(t, testutil.File{Path: "app/x", Content: "x"})})
	cfg := fixtures.CleanConfig()
	cfg.Env = append(cfg.Env, "VAULT_ROLE=deployer", "GPG_KEY=ABCD")
	withEnv := testutil.WriteDockerArchive(t, testutil.Image(t, cfg, fixtures.CleanSteps(t)...))
	withFiles := archiveWith(t, testutil.Step{CreatedBy: "COPY . /app", Layer: testutil.Layer(t,
		testutil.File{Path: "app/deploy.vault", Content: "s.token"}, testutil.File{Path: "app/creds.txt", Content: "x"})})
	cases := []struct {
		name         string
		args         []string
		code         int
		stdout, note string
	}{
		{"-c is --exit-code", []string{"--input", withAdd, "-c", "7"}, 7, "", ""},
		{"-l is --exit-level", []string{"--input", withAdd, "-c", "1", "-l", "fatal"}, 1, "", ""},
		{"-i is --ignore", []string{"--input", withAdd, "-i", "CIS-DI-0009"}, 0, "", ""},
		{"--sensitive-word", []string{"--input", withEnv, "--sensitive-word", "vault"}, 1, "VAULT_ROLE", ""},
		{"without --sensitive-word", []string{"--input", withEnv}, 0, "", ""},
		{"--ak accepts the key", []string{"--input", withEnv, "--sensitive-word", "vault", "--ak", "VAULT_ROLE"}, 0, "", ""},
		{"--sensitive-file", []string{"--input", withFiles, "--sensitive-file", "creds.txt"}, 1, "creds.txt", ""},
		{"--af accepts the file", []string{"--input", withFiles, "--sensitive-file", "creds.txt", "--af", "creds.txt"}, 0, "", ""},
		{"--sensitive-file-extension", []string{"--input", withFiles, "--sensitive-file-extension", "vault"}, 1, "deploy.vault", ""},
		{"--ae accepts the extension", []string{"--input", withFiles, "--sensitive-file-extension", "vault", "--ae", "vault"}, 0, "", ""},
		{"-f list is the table", []string{"--input", withAdd, "-f", "list", "-c", "0"}, 0, "FATAL - CIS-DI-0009", ""},
		{"-t is a limit of the run", []string{"--input", withAdd, "-t", "10m", "-c", "0"}, 0, "CIS-DI-0009", ""},
		{"--no-color is quiet", []string{"--input", withAdd, "--no-color", "-c", "0"}, 0, "", ""},
		{"-d has a note", []string{"--input", withAdd, "-d", "-c", "0"}, 0, "", "--debug: bulwark has no debug log"},
		{"--nonssl has a note", []string{"--input", withAdd, "--nonssl", "-c", "0"}, 0, "", "--nonssl: bulwark's --insecure"},
		{"--username and --password", []string{"--input", withAdd, "--username", "u", "--password", "p", "-c", "0"}, 0, "", ""},
		{"-q silences notes", []string{"--input", withAdd, "-q", "-d", "-c", "0"}, 0, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, append([]string{"lint"}, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			if !strings.Contains(stdout, tc.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdout, stdout)
			}
			notes := strings.Count(stderr, "bulwark: note:")
			switch {
			case tc.note == "" && notes > 0:
				t.Errorf("a flag with the same meaning must be quiet; stderr: %s", stderr)
			case tc.note != "" && (notes != 1 || !strings.Contains(stderr, tc.note)):
				t.Errorf("want one note %q on stderr, got: %s", tc.note, stderr)
			}
		})
	}
	// --username is --registry-username: a password alone is refused the same way.
	if code, _, stderr := runCLI(t, "lint", "--input", withAdd, "--password", "p"); code != 2 || !strings.Contains(stderr, "needs --registry-username") {
		t.Errorf("--password without --username: exit %d: %s", code, stderr)
	}
	// A run over its --timeout stops with exit 2 and says why.
	if code, _, stderr := runCLI(t, "lint", "--input", withAdd, "-t", "1ns"); code != 2 || !strings.Contains(stderr, "--timeout 1ns reached") {
		t.Errorf("-t 1ns: exit %d, want 2 naming the timeout: %s", code, stderr)
	}
}

// TestTrivyFlags runs scan under Trivy's flag names.
func TestTrivyFlags(t *testing.T) {
	t.Chdir(t.TempDir())
	db := scanDB(t)
	img := log4jImage(t, "2.14.1", false)
	cache := t.TempDir()
	if err := os.MkdirAll(filepath.Join(cache, "db"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cache, "db", "vulndb.bwdb"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	ignore := filepath.Join(t.TempDir(), "trivyignore")
	if err := os.WriteFile(ignore, []byte("CVE-2021-44228\nCVE-2021-45046\nCVE-2021-44832\nCVE-2021-45105\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{"--input", img, "--scanners", "vuln", "-f", "json"}
	cases := []struct {
		name string
		args []string
		code int
		// found says whether Log4Shell is in the report, unsuppressed.
		found bool
	}{
		{"image is scan", append([]string{"image", "--db", db, "--skip-db-update"}, base...), 1, true},
		{"--cache-dir holds the database", append([]string{"scan", "--cache-dir", cache, "--skip-db-update", "--offline-scan"}, base...), 1, true},
		{"--ignorefile", append([]string{"scan", "--db", db, "--skip-db-update", "--ignorefile", ignore}, base...), 0, false},
		{"--exit-code 0", append([]string{"scan", "--db", db, "--skip-db-update", "--exit-code", "0"}, base...), 0, true},
		{"-q and --timeout", append([]string{"scan", "--db", db, "--skip-db-update", "-q", "--timeout", "5m"}, base...), 1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, stderr)
			}
			if strings.Contains(stderr, "note:") {
				t.Errorf("same meaning, yet a note: %s", stderr)
			}
			f := findID(scanJSON(t, stdout), "GHSA-jfh8-c2jp-5v3q")
			if got := f != nil && f.Suppressed == nil; got != tc.found {
				t.Errorf("Log4Shell reported unsuppressed: %v, want %v", got, tc.found)
			}
		})
	}
	// --skip-db-update really keeps off the network: with no database in
	// --cache-dir the scan fails at once instead of downloading one.
	empty := t.TempDir()
	code, _, stderr := runCLI(t, append([]string{"scan", "--cache-dir", empty, "--skip-db-update"}, base...)...)
	if code != 2 || !strings.Contains(stderr, empty) {
		t.Errorf("empty --cache-dir with --skip-db-update: exit %d, want 2 naming the folder: %s", code, stderr)
	}
}

// TestCosignFlags runs sign, verify and the key commands under cosign's
// command lines against a registry on 127.0.0.1: the flags, the output
// of 'verify -o json|text' and the exit codes of a failed verification.
func TestCosignFlags(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("COSIGN_PASSWORD", "pw")
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	signed, unsigned := reg.Host+"/team/app:1", reg.Host+"/team/unsigned:1"
	for _, ref := range []string{signed, unsigned} {
		r, err := name.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(r, fixtures.CleanImage(t)); err != nil {
			t.Fatal(err)
		}
	}
	must := func(want int, args ...string) (string, string) {
		t.Helper()
		code, stdout, stderr := runCLI(t, args...)
		if code != want {
			t.Fatalf("%v: exit %d, want %d\nstdout: %s\nstderr: %s", args, code, want, stdout, stderr)
		}
		return stdout, stderr
	}
	must(0, "generate-key-pair")
	must(0, "generate-key-pair", "--output-key-prefix", "other")
	pub, _ := must(0, "public-key", "--key", "cosign.key")
	must(0, "public-key", "--key", "cosign.key", "--outfile", "again.pub")
	if b, err := os.ReadFile("cosign.pub"); err != nil || string(b) != pub {
		t.Errorf("public-key printed %q, cosign.pub holds %q (%v)", pub, b, err)
	}
	if b, err := os.ReadFile("again.pub"); err != nil || string(b) != pub {
		t.Errorf("public-key --outfile wrote %q (%v), want %q", b, err, pub)
	}

	_, stderr := must(0, "sign", "--key", "cosign.key", "--tlog-upload=false", "-y", "--allow-insecure-registry", "-a", "env=prod", signed)
	if strings.Contains(stderr, "note:") {
		t.Errorf("sign -y --allow-insecure-registry must be quiet: %s", stderr)
	}
	_, stderr = must(0, "sign", "--key", "cosign.key", "--yes", "--allow-http-registry", signed)
	if !strings.Contains(stderr, "note: --allow-http-registry") {
		t.Errorf("--allow-http-registry must say it also skips TLS verification: %s", stderr)
	}

	out, stderr := must(0, "verify", "--key", "cosign.pub", "--insecure-ignore-tlog", "-o", "json", signed)
	var payloads []struct {
		Critical struct {
			Identity struct {
				DockerReference string `json:"docker-reference"`
			} `json:"identity"`
			Image struct {
				Digest string `json:"docker-manifest-digest"`
			} `json:"image"`
			Type string `json:"type"`
		} `json:"critical"`
		Optional map[string]any `json:"optional"`
	}
	if err := json.Unmarshal([]byte(out), &payloads); err != nil {
		t.Fatalf("verify -o json: not a JSON array: %v\n%s", err, out)
	}
	if len(payloads) != 2 || strings.Count(out, "\n") != 1 || strings.Contains(stderr, "note:") {
		t.Fatalf("verify -o json: want the 2 payloads on one line and no note, got:\n%s\nstderr: %s", out, stderr)
	}
	digest := payloads[0].Critical.Image.Digest
	if !strings.HasPrefix(digest, "sha256:") || payloads[0].Critical.Type != "cosign container image signature" ||
		payloads[0].Critical.Identity.DockerReference != reg.Host+"/team/app" || payloads[0].Optional["env"] != "prod" {
		t.Errorf("payload = %+v", payloads[0])
	}
	text, _ := must(0, "verify", "--key", "cosign.pub", "--insecure-ignore-tlog", "-o", "text", signed)
	if lines := strings.Split(strings.TrimSpace(text), "\n"); len(lines) != 2 || !strings.Contains(lines[0], digest) {
		t.Errorf("verify -o text: want one payload a line:\n%s", text)
	}

	// cosign's exit codes under cosign's command line, bulwark's otherwise.
	must(10, "verify", "--key", "cosign.pub", "--insecure-ignore-tlog", unsigned)
	must(12, "verify", "--key", "other.pub", "--insecure-ignore-tlog", signed)
	must(12, "verify", "--key", "other.pub", "-o", "json", signed)
	must(1, "verify", "--key", "other.pub", signed)
	must(1, "verify", "--key", "cosign.pub", unsigned)
	must(2, "verify", "--key", "cosign.pub", "-o", "yaml", signed)

	// The cosign CLI prints the same array for the same signatures.
	cosign := testutil.RequireTool(t, "cosign")
	c := exec.Command(cosign, "verify", "--key", "cosign.pub", "--insecure-ignore-tlog", "--allow-insecure-registry", "-o", "json", signed)
	c.Env = append(os.Environ(), "TUF_ROOT="+t.TempDir(), "SIGSTORE_NO_CACHE=true")
	theirs, err := c.Output()
	if err != nil {
		t.Fatalf("cosign verify: %v", err)
	}
	var a, b any
	if err := json.Unmarshal(theirs, &a); err != nil {
		t.Fatalf("cosign's output: %v\n%s", err, theirs)
	}
	if err := json.Unmarshal([]byte(out), &b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("verify -o json differs from cosign's:\nbulwark: %s\ncosign:  %s", out, theirs)
	}
}
