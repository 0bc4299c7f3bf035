// Package examples checks that the CI and infrastructure examples in this
// folder are what their documentation says they are.
package examples

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// cfnResource is one resource of a synthesized CloudFormation template.
type cfnResource struct {
	Type       string         `json:"Type"`
	Properties map[string]any `json:"Properties"`
}

// TestCDKStackSynthesizes installs aws-cdk-lib and the aws-cdk CLI from the
// npm registry (the versions package-lock.json pins), runs `cdk synth` on
// examples/aws-cdk and checks the template holds the reference pipeline: an
// ECR repository with immutable tags, a KMS key for SIGN_VERIFY, a build
// project that runs `bulwark pipeline run`, a deploy project that runs
// `bulwark verify` first, both verifying bulwark's release signature before
// running it, and a pipeline joining them.
func TestCDKStackSynthesizes(t *testing.T) {
	testutil.RequireTool(t, "npm")
	if testing.Short() {
		t.Skip("installs aws-cdk from the npm registry")
	}
	dir := t.TempDir()
	for _, f := range []string{"package.json", "package-lock.json", "cdk.json", "bin/app.js", "lib/bulwark-pipeline-stack.js"} {
		b, err := os.ReadFile(filepath.Join("aws-cdk", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeReleaseKey(t, filepath.Join(dir, "release.pub"))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	run(ctx, t, dir, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	run(ctx, t, dir, filepath.Join("node_modules", ".bin", "cdk"), "synth", "--quiet", "--no-notices", "-o", "out")

	b, err := os.ReadFile(filepath.Join(dir, "out", "BulwarkPipeline.template.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tmpl struct {
		Resources map[string]cfnResource `json:"Resources"`
	}
	if err := json.Unmarshal(b, &tmpl); err != nil {
		t.Fatal(err)
	}
	byType := map[string][]cfnResource{}
	for _, r := range tmpl.Resources {
		byType[r.Type] = append(byType[r.Type], r)
	}

	repos := byType["AWS::ECR::Repository"]
	if len(repos) != 1 || repos[0].Properties["ImageTagMutability"] != "IMMUTABLE" {
		t.Errorf("want one ECR repository with immutable tags, got %+v", repos)
	}
	signing := 0
	for _, k := range byType["AWS::KMS::Key"] {
		if k.Properties["KeyUsage"] == "SIGN_VERIFY" {
			signing++
		}
	}
	if signing != 1 {
		t.Errorf("want one KMS key with KeyUsage SIGN_VERIFY, got %d", signing)
	}

	projects := byType["AWS::CodeBuild::Project"]
	if len(projects) != 2 {
		t.Fatalf("want two CodeBuild projects, got %d", len(projects))
	}
	var buildSpecs []string
	for _, p := range projects {
		src, _ := p.Properties["Source"].(map[string]any)
		spec, _ := src["BuildSpec"].(string)
		if !strings.Contains(spec, "openssl dgst -sha256 -verify") {
			t.Errorf("a project runs bulwark without verifying its release signature:\n%s", spec)
		}
		buildSpecs = append(buildSpecs, spec)
	}
	all := strings.Join(buildSpecs, "\n")
	for _, want := range []string{"bulwark pipeline run --file bulwark.yaml", "bulwark verify --key", "bulwark verify-attestation --key", "aws ecs update-service"} {
		if !strings.Contains(all, want) {
			t.Errorf("no build project runs %q", want)
		}
	}

	pipes := byType["AWS::CodePipeline::Pipeline"]
	if len(pipes) != 1 {
		t.Fatalf("want one CodePipeline, got %d", len(pipes))
	}
	stages, _ := pipes[0].Properties["Stages"].([]any)
	var names []string
	for _, s := range stages {
		names = append(names, s.(map[string]any)["Name"].(string))
	}
	if got := strings.Join(names, ","); got != "Source,BuildScanSign,VerifyDeploy" {
		t.Errorf("pipeline stages = %s", got)
	}
}

// writeReleaseKey writes a fresh P-256 public key where the stack expects
// bulwark's release key.
func writeReleaseKey(t *testing.T, path string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
}

func run(ctx context.Context, t *testing.T, dir, name string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CDK_DISABLE_VERSION_CHECK=1", "CI=true")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}
