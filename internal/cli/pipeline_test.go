package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/sign"
)

// `pipeline validate` and `run --dry-run` run the checks a run starts with:
// a file they call valid does not then fail at once.
func TestPipelineValidateChecks(t *testing.T) {
	dir := keyPairDir(t, "pw")
	file := filepath.Join(dir, "bulwark.yaml")
	write := func(s string) {
		if err := os.WriteFile(file, []byte("version: 1\n"+s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("COSIGN_PASSWORD", "pw")
	t.Setenv("BULWARK_PASSWORD", "")
	os.Unsetenv("BULWARK_PASSWORD") // restored by t.Setenv

	write("secrets: {allowlist: .bulwark-secrets.yaml}\nbuild: {dockerfile: Dockerfile}\n")
	for _, args := range [][]string{{"pipeline", "validate", "--file", file}, {"pipeline", "run", "--dry-run", "--file", file}} {
		code, out, errOut := runCLI(t, args...)
		if code != 2 || !strings.Contains(out, "FAILED  secrets: config, allowlist and baseline load") || !strings.Contains(out, "FAILED  build.dockerfile Dockerfile exists") {
			t.Errorf("%v: exit %d, want 2 naming the allowlist and the Dockerfile\n%s%s", args, code, out, errOut)
		}
	}

	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644)
	write("build: {dockerfile: Dockerfile}\n")
	if code, out, errOut := runCLI(t, "pipeline", "validate", "--file", file); code != 0 || !strings.Contains(out, "ok      build.dockerfile") {
		t.Errorf("valid file: exit %d\n%s%s", code, out, errOut)
	}

	write("build: {image: app.tar}\npush: {repository: 127.0.0.1:1/team/app}\nsign: {key: cosign.key}\nverify: {key: missing.pub}\n")
	t.Setenv("COSIGN_PASSWORD", "wrong")
	code, out, _ := runCLI(t, "pipeline", "validate", "--file", file)
	for _, want := range []string{"FAILED  build.image app.tar exists", "FAILED  sign.key cosign.key loads", "FAILED  verify.key missing.pub loads", "FAILED  push.repository 127.0.0.1:1/team/app answers"} {
		if !strings.Contains(out, want) {
			t.Errorf("validate does not say %q:\n%s", want, out)
		}
	}
	if code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	os.Unsetenv("COSIGN_PASSWORD")
	if _, out, _ := runCLI(t, "pipeline", "validate", "--file", file); !strings.Contains(out, "no password: set BULWARK_PASSWORD (or COSIGN_PASSWORD)") {
		t.Errorf("a missing password is not named:\n%s", out)
	}
}

// --input is relative to the current directory, not to the pipeline
// file's folder.
func TestPipelineInputRelativeToCwd(t *testing.T) {
	cwd := t.TempDir()
	t.Chdir(cwd)
	img := archiveWith(t)
	if err := os.Rename(img, filepath.Join(cwd, "app.tar")); err != nil {
		t.Fatal(err)
	}
	ci := filepath.Join(cwd, "ci")
	os.MkdirAll(ci, 0o755)
	os.WriteFile(filepath.Join(ci, "bulwark.yaml"), []byte("version: 1\nscan:\n  lint: {failOn: never}\n"), 0o644)
	code, out, errOut := runCLI(t, "pipeline", "run", "--file", "ci/bulwark.yaml", "--input", "app.tar")
	if code != 0 || !strings.Contains(out, filepath.Join(cwd, "app.tar")) {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
}

// keyPairDir writes cosign.key (encrypted with password) and cosign.pub
// into a new folder and returns it.
func keyPairDir(t *testing.T, password string) string {
	t.Helper()
	dir := t.TempDir()
	priv, pub, err := sign.GenerateKeyPair([]byte(password))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cosign.key"), priv, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cosign.pub"), pub, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
