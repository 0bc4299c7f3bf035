package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/pipeline"
	"github.com/bulwark-sec/bulwark/internal/policy"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// TestGoldenImage runs the golden-image flow: a root file system as
// build.image, the CIS host benchmark as the scan gate, and publish only
// when the gate passed.
func TestGoldenImage(t *testing.T) {
	run := func(rootfs, failOn string) (*pipeline.Run, error, string, string) {
		t.Helper()
		dir := t.TempDir()
		marker := filepath.Join(dir, "published.txt")
		yaml := "version: 1\nbuild: {image: \"rootfs:" + rootfs + "\"}\nscan:\n  host: {failOn: " + failOn + "}\n" +
			"publish:\n  command: 'echo \"$BULWARK_IMAGE_PATH $BULWARK_GATES\" > " + marker + "'\n"
		f, err := pipeline.Parse(strings.NewReader(yaml), filepath.Join(dir, "bulwark.yaml"), pipeline.ValidateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		r, err := pipeline.Execute(context.Background(), pipeline.Options{File: f, Out: &out, Env: func(string) string { return "" }})
		b, _ := os.ReadFile(marker)
		return r, err, out.String(), string(b)
	}
	// PermitRootLogin yes is a HIGH failure: the gate fails, publish does
	// not run.
	bad := testutil.GoldenRootfs(t, nil)
	r, err, out, published := run(bad, "high")
	var ge *policy.GateError
	if !errors.As(err, &ge) || !strings.Contains(err.Error(), "sshd-permit-root-login") {
		t.Fatalf("want the host gate to fail on sshd-permit-root-login: %v\n%s", err, out)
	}
	if published != "" || r.Published || r.Stage("publish").Verdict != pipeline.NotRun {
		t.Fatalf("publish ran after a failed gate: %q %+v", published, r.Stage("publish"))
	}
	// Fixed: the gate passes and publish gets the image.
	good := testutil.GoldenRootfs(t, map[string]string{"etc/ssh/sshd_config": "PermitRootLogin no\n"})
	r, err, out, published = run(good, "high")
	if err != nil {
		t.Fatalf("fixed image: %v\n%s", err, out)
	}
	if strings.TrimSpace(published) != good+" passed" || !r.Published {
		t.Fatalf("publish: %q, run.Published=%v\n%s", published, r.Published, out)
	}
	if !strings.Contains(out, "debian-12:") {
		t.Errorf("the scan summary does not name the profile:\n%s", out)
	}
	// level1 fails on every failed level 1 check, whatever its severity.
	if _, err, out, _ = run(good, "level1"); !errors.As(err, &ge) {
		t.Fatalf("failOn level1: %v\n%s", err, out)
	}
}

func TestGoldenImageValidation(t *testing.T) {
	for yaml, want := range map[string]string{
		"build: {image: \"rootfs:/x\"}\nscan: {host: {}}\npush: {repository: r.example.com/a}\n": "not pushed",
		"build: {image: \"rootfs:/x\"}\npublish: {command: 'true'}\n":                            "needs a scan stage",
		"build: {image: \"rootfs:/x\"}\nscan: {host: {}}\npublish: {}\n":                         "publish.command",
		"build: {image: \"rootfs:/x\"}\nscan: {host: {failOn: level9}}\n":                        "scan.host.failOn",
		"build: {image: \"rootfs:/x\"}\nscan: {host: {ignoreUnfixed: true}}\n":                   "vulnerabilities only",
	} {
		_, err := pipeline.Parse(strings.NewReader("version: 1\n"+yaml), "bulwark.yaml", pipeline.ValidateOptions{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error with %q", yaml, err, want)
		}
	}
}

// TestGoldenExample keeps examples/golden/bulwark.yaml valid and its plan
// the golden-image flow.
func TestGoldenExample(t *testing.T) {
	path := filepath.Join("..", "..", "examples", "golden", "bulwark.yaml")
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	f, err := pipeline.Parse(fh, path, pipeline.ValidateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.Stages(), ","); got != "build,scan,publish" {
		t.Errorf("stages %s", got)
	}
	var plan bytes.Buffer
	pipeline.Plan(&plan, f, "")
	for _, want := range []string{"rootfs:rootfs", "host: findings at or above HIGH, or a failed CIS level 1 check fail", "publish"} {
		if !strings.Contains(plan.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, plan.String())
		}
	}
}
