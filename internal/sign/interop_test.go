package sign_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/policy"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// TestCosignInteropFileKeys: bulwark signatures and attestations verify
// with the cosign CLI, and cosign's verify with bulwark, against the real
// CNCF registry.
func TestCosignInteropFileKeys(t *testing.T) {
	testutil.RequireTool(t, "cosign")
	host := realRegistry(t)
	dir := t.TempDir()
	t.Setenv("BULWARK_PASSWORD", testPassword)
	env := cosignEnv(t)

	// Keys from both tools; each tool loads the other's private key.
	if code, _, stderr := runCLI(t, "key", "generate", "--output-key-prefix", filepath.Join(dir, "bw")); code != 0 {
		t.Fatalf("key generate: %d %s", code, stderr)
	}
	cmdDir := t.TempDir()
	if out, err := runCosignIn(t, env, cmdDir, "generate-key-pair"); err != nil {
		t.Fatalf("cosign generate-key-pair: %v\n%s", err, out)
	}
	cosKey, cosPub := filepath.Join(cmdDir, "cosign.key"), filepath.Join(cmdDir, "cosign.pub")
	bwKey, bwPub := filepath.Join(dir, "bw.key"), filepath.Join(dir, "bw.pub")

	a := pushImage(t, host+"/interop/a:v1")
	b := pushImage(t, host+"/interop/b:v1")

	// bulwark signs (with cosign's key file and its own), cosign verifies.
	code, stdout, stderr := runCLI(t, "sign", host+"/interop/a:v1", "--key", bwKey, "-a", "env=prod")
	if code != 0 || strings.TrimSpace(stdout) != a.String() {
		t.Fatalf("bulwark sign: %d %q %s", code, stdout, stderr)
	}
	if code, _, stderr := runCLI(t, "sign", a.String(), "--key", cosKey); code != 0 {
		t.Fatalf("bulwark sign with cosign's key: %d %s", code, stderr)
	}
	if out, err := runCosign(t, env, "verify", "--insecure-ignore-tlog", "--key", bwPub, "-a", "env=prod", a.String()); err != nil {
		t.Fatalf("cosign verify of bulwark's signature: %v\n%s", err, out)
	}
	if out, err := runCosign(t, env, "verify", "--insecure-ignore-tlog", "--key", cosPub, a.String()); err != nil {
		t.Fatalf("cosign verify of bulwark's signature with cosign's key: %v\n%s", err, out)
	}

	// cosign signs, bulwark verifies; and fails with another key.
	if out, err := runCosign(t, env, "sign", "--key", cosKey, "--tlog-upload=false", "-a", "team=blue", b.String()); err != nil {
		t.Fatalf("cosign sign: %v\n%s", err, out)
	}
	if code, stdout, stderr := runCLI(t, "verify", b.String(), "--key", cosPub, "-a", "team=blue"); code != 0 {
		t.Fatalf("bulwark verify of cosign's signature: %d %s %s", code, stdout, stderr)
	}
	code, _, stderr = runCLI(t, "verify", b.String(), "--key", bwPub)
	if code != policy.ExitFailed || !strings.Contains(stderr, "another key") {
		t.Fatalf("verify with another key: exit %d, %s", code, stderr)
	}
	code, _, stderr = runCLI(t, "verify", b.String(), "--key", cosPub, "-a", "team=red")
	if code != policy.ExitFailed || !strings.Contains(stderr, "annotations do not match") {
		t.Fatalf("verify with a wrong annotation: exit %d, %s", code, stderr)
	}

	// Attestations both ways: a scan report bulwark attests, cosign
	// verifies; an SBOM cosign attests, bulwark verifies.
	report := filepath.Join(dir, "report.json")
	writeReport(t, report, time.Now().Add(-time.Hour), "HIGH")
	if code, _, stderr := runCLI(t, "attest", a.String(), "--key", bwKey, "--type", "vuln", "--predicate", report); code != 0 {
		t.Fatalf("bulwark attest: %d %s", code, stderr)
	}
	if out, err := runCosign(t, env, "verify-attestation", "--insecure-ignore-tlog", "--key", bwPub, "--type", "vuln", a.String()); err != nil {
		t.Fatalf("cosign verify-attestation of bulwark's: %v\n%s", err, out)
	}
	sbom := filepath.Join(dir, "sbom.json")
	if err := os.WriteFile(sbom, []byte(`{"bomFormat":"CycloneDX","specVersion":"1.5","components":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runCosign(t, env, "attest", "--key", cosKey, "--tlog-upload=false", "--type", "cyclonedx", "--predicate", sbom, b.String()); err != nil {
		t.Fatalf("cosign attest: %v\n%s", err, out)
	}
	if code, _, stderr := runCLI(t, "verify-attestation", b.String(), "--key", cosPub, "--type", "cyclonedx"); code != 0 {
		t.Fatalf("bulwark verify-attestation of cosign's: %d %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "verify-attestation", b.String(), "--key", cosPub, "--type", "spdx"); code != policy.ExitFailed {
		t.Fatalf("verify-attestation of a type not attached: %d %s", code, stderr)
	}

	// The policy: no CRITICAL, scanned less than 24 hours ago.
	pol := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(pol, []byte("maxAge: 24h\ndeny:\n  severities: [CRITICAL]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := runCLI(t, "verify-attestation", a.String(), "--key", bwPub, "--type", "vuln", "--policy", pol); code != 0 {
		t.Fatalf("policy on a fresh clean scan: %d %s %s", code, stdout, stderr)
	}
	writeReport(t, report, time.Now().Add(-30*time.Minute), "CRITICAL")
	if code, _, stderr := runCLI(t, "attest", a.String(), "--key", bwKey, "--type", "vuln", "--predicate", report); code != 0 {
		t.Fatalf("bulwark attest: %d %s", code, stderr)
	}
	code, _, stderr = runCLI(t, "verify-attestation", a.String(), "--key", bwPub, "--type", "vuln", "--policy", pol)
	if code != policy.ExitFailed || !strings.Contains(stderr, "CVE-2024-0002 (CRITICAL)") {
		t.Fatalf("policy on a newer scan with a CRITICAL: %d %s", code, stderr)
	}
}

// writeReport writes a bulwark JSON report with one vulnerability.
func writeReport(t *testing.T, path string, at time.Time, severity string) {
	t.Helper()
	rep := map[string]any{
		"tool": "bulwark", "version": "test", "createdAt": at.UTC().Format(time.RFC3339),
		"target": map[string]any{"name": "x", "kind": "image"},
		"gates":  []string{"vuln"},
		"findings": []map[string]any{
			{"gate": "vuln", "id": "CVE-2024-0001", "title": "t", "severity": "LOW", "location": map[string]any{}},
			{"gate": "vuln", "id": "CVE-2024-0002", "title": "t", "severity": severity, "location": map[string]any{}},
		},
	}
	b, _ := json.Marshal(rep)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// runCosignIn runs cosign in a working directory.
func runCosignIn(t *testing.T, env []string, dir string, args ...string) (string, error) {
	t.Helper()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd) //nolint:errcheck
	return runCosign(t, env, args...)
}

// TestCosignInteropBundles: Sigstore bundles stored through the OCI 1.1
// referrers API (cosign's --new-bundle-format) verify across the two
// tools in both directions, and fail with another key. go-containerregistry's
// registry serves the referrers API here; the CNCF registry does not.
func TestCosignInteropBundles(t *testing.T) {
	testutil.RequireTool(t, "cosign")
	host := memRegistry(t, true)
	t.Setenv("BULWARK_PASSWORD", testPassword)
	env := cosignEnv(t)
	keyDir, otherDir := t.TempDir(), t.TempDir()
	for _, d := range []string{keyDir, otherDir} {
		if out, err := runCosignIn(t, env, d, "generate-key-pair"); err != nil {
			t.Fatalf("cosign generate-key-pair: %v\n%s", err, out)
		}
	}
	key, pub, otherPub := filepath.Join(keyDir, "cosign.key"), filepath.Join(keyDir, "cosign.pub"), filepath.Join(otherDir, "cosign.pub")
	// Key-only verification of a bundle needs a trusted root; an empty one
	// says "no CA, no transparency log", as in an offline deployment.
	trustedRoot := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(trustedRoot, []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cosignVerify := func(pubKey, ref string) (string, error) {
		return runCosign(t, env, "verify", "--new-bundle-format", "--insecure-ignore-tlog", "--trusted-root", trustedRoot, "--key", pubKey, ref)
	}

	// cosign signs a bundle, bulwark verifies it.
	a := pushImage(t, host+"/bundles/a:v1")
	if out, err := runCosign(t, env, "sign", "--key", key, "--new-bundle-format", "--tlog-upload=false", a.String()); err != nil {
		t.Fatalf("cosign sign --new-bundle-format: %v\n%s", err, out)
	}
	if code, stdout, stderr := runCLI(t, "verify", a.String(), "--key", pub); code != 0 || !strings.Contains(stdout, "bundle") {
		t.Fatalf("bulwark verify of cosign's bundle: %d %s %s", code, stdout, stderr)
	}
	if code, _, _ := runCLI(t, "verify", a.String(), "--key", otherPub); code != policy.ExitFailed {
		t.Errorf("bulwark verify with another key: exit %d, want %d", code, policy.ExitFailed)
	}

	// bulwark signs a bundle, cosign verifies it.
	b := pushImage(t, host+"/bundles/b:v1")
	if code, _, stderr := runCLI(t, "sign", b.String(), "--key", key, "--new-bundle-format"); code != 0 {
		t.Fatalf("bulwark sign --new-bundle-format: %d %s", code, stderr)
	}
	if out, err := cosignVerify(pub, b.String()); err != nil {
		t.Fatalf("cosign verify of bulwark's bundle: %v\n%s", err, out)
	}
	if out, err := cosignVerify(otherPub, b.String()); err == nil {
		t.Errorf("cosign verified bulwark's bundle with another key:\n%s", out)
	}
}
