package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"gopkg.in/yaml.v3"

	"github.com/bulwark-sec/bulwark/internal/testutil"
	"github.com/bulwark-sec/bulwark/internal/testutil/fixtures"
)

// buildspec is the part of a CodeBuild buildspec the migration guide shows.
type buildspec struct {
	Phases map[string]struct {
		Commands []string `yaml:"commands"`
	} `yaml:"phases"`
}

// commands lists the buildspec's commands in the order CodeBuild runs them.
func (b buildspec) commands() []string {
	var out []string
	for _, ph := range []string{"install", "pre_build", "build", "post_build"} {
		out = append(out, b.Phases[ph].Commands...)
	}
	return out
}

// migrationBuildspecs returns the reference buildspec of docs/migrating.md
// and its translation.
func migrationBuildspecs(t *testing.T) (ref, translated buildspec) {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "migrating.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	if len(blocks) != 2 {
		t.Fatalf("docs/migrating.md: want 2 yaml blocks (reference, translated), found %d", len(blocks))
	}
	for i, b := range []*buildspec{&ref, &translated} {
		if err := yaml.Unmarshal([]byte(blocks[i][1]), b); err != nil {
			t.Fatalf("docs/migrating.md block %d: %v", i+1, err)
		}
	}
	return ref, translated
}

// TestMigrationBuildspec runs the translated buildspec of docs/migrating.md
// as written: each bulwark line in bash, against the CNCF registry on
// 127.0.0.1 and the local-kms AWS KMS emulator. The docker and aws lines,
// which need a Docker daemon and AWS, are done by the test instead (an
// archive, a push). Each bulwark line must be the reference's line with
// only the binary name changed.
func TestMigrationBuildspec(t *testing.T) {
	ref, translated := migrationBuildspecs(t)
	rename := strings.NewReplacer("trivy image ", "bulwark image ", "dockle ", "bulwark lint ", "cosign ", "bulwark ")
	refLines := map[string]bool{}
	for _, c := range ref.commands() {
		refLines[rename.Replace(c)] = true
	}
	var run []string
	for _, c := range translated.commands() {
		switch strings.Fields(c)[0] {
		case "bulwark":
			if !refLines[c] {
				t.Errorf("translated line is not a reference line with the binary renamed:\n  %s", c)
			}
			run = append(run, c)
		case "docker", "aws", "curl":
			if !refLines[c] && !strings.Contains(c, "bulwark") {
				t.Errorf("a line other than bulwark's changed in the translation:\n  %s", c)
			}
		default:
			t.Errorf("unexpected command in the translated buildspec: %s", c)
		}
	}
	if len(run) != 4 {
		t.Fatalf("want the 4 bulwark lines (image, lint, sign, verify), found %d", len(run))
	}

	bash := testutil.RequireTool(t, "bash")
	kms := testutil.StartLocalKMS(t)
	testutil.AWSEnv(t, "http://"+kms)
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	work := t.TempDir()
	t.Chdir(work)

	// What the docker lines would have done: app.tar, and the same image
	// pushed, by digest in DIGEST.
	img := fixtures.CleanImage(t)
	repo := reg.Host + "/team/app"
	r, err := name.ParseReference(repo + ":1.0")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	archive := testutil.WriteDockerArchive(t, img)
	if err := os.Rename(archive, "app.tar"); err != nil {
		b, rerr := os.ReadFile(archive)
		if rerr != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("app.tar", b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The database Trivy's cache folder held: bulwark's, built offline.
	db, err := os.ReadFile(scanDB(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(".trivycache", "db"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(".trivycache", "db", "vulndb.bwdb"), db, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(".trivyignore", []byte("# none yet\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The signing key in KMS, as the CDK stack creates it.
	const key = "awskms:///alias/bulwark-signing"
	if code, _, stderr := runCLI(t, "generate-key-pair", "--kms", key, "--output-key-prefix", filepath.Join(t.TempDir(), "k")); code != 0 {
		t.Fatalf("creating the KMS key: %s", stderr)
	}

	// bulwark on PATH: this test binary, which is bulwark with BULWARK_TEST_MAIN=1.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "bulwark"), []byte("#!/bin/sh\nBULWARK_TEST_MAIN=1 exec '"+self+"' \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "IMAGE_REPO="+repo, "TAG=1.0",
		"DIGEST="+d.String(), "SIGNING_KEY="+key, "DOCKER_CONFIG="+t.TempDir())
	for _, c := range run {
		cmd := exec.Command(bash, "-euo", "pipefail", "-c", c)
		cmd.Dir, cmd.Env = work, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s\n%v\n%s", c, err, out)
		}
		if strings.Contains(string(out), "note:") {
			t.Errorf("%s: every flag here means the same in bulwark, yet a note:\n%s", c, out)
		}
	}

	for _, f := range []string{"trivy.json", "dockle.json"} {
		var rep struct {
			Tool     string
			Findings []any
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &rep); err != nil || rep.Tool != "bulwark" {
			t.Errorf("%s is not a bulwark report (%v):\n%s", f, err, b)
		}
	}
	b, err := os.ReadFile("verify.json")
	if err != nil {
		t.Fatal(err)
	}
	var payloads []struct {
		Critical struct {
			Image struct {
				Digest string `json:"docker-manifest-digest"`
			} `json:"image"`
		} `json:"critical"`
	}
	if err := json.Unmarshal(b, &payloads); err != nil || len(payloads) != 1 || payloads[0].Critical.Image.Digest != d.String() {
		t.Errorf("verify.json: want cosign's array with one payload for %s (%v):\n%s", d, err, b)
	}
}
