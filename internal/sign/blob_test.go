package sign_test

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/policy"
	"github.com/bulwark-sec/bulwark/internal/release"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// blobFiles writes a random blob, an altered copy and a SLSA v1
// provenance predicate made by the 'release provenance' generator.
func blobFiles(t *testing.T, dir string) (blob, altered, pred string) {
	t.Helper()
	data := make([]byte, 200<<10)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	blob, altered, pred = filepath.Join(dir, "bulwark-linux-amd64"), filepath.Join(dir, "altered"), filepath.Join(dir, "provenance.json")
	p, err := release.Provenance(release.Options{Repository: "https://github.com/bulwark-sec/bulwark", Commit: strings.Repeat("ab", 20),
		Ref: "refs/tags/v1.0.0", BuilderID: "https://github.com/bulwark-sec/bulwark/.github/workflows/release.yml@refs/tags/v1.0.0",
		Params: map[string]string{"go": "go1.26"}, StartedOn: time.Now().Add(-time.Minute), FinishedOn: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	for f, b := range map[string][]byte{blob: data, altered: append(append([]byte{}, data...), 0), pred: p} {
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return blob, altered, pred
}

// emptyTrustedRoot is the trusted root cosign needs to check a Sigstore
// bundle with a key only: no CA, no transparency log.
func emptyTrustedRoot(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(p, []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustCLI(t *testing.T, want int, args ...string) string {
	t.Helper()
	code, stdout, stderr := runCLI(t, args...)
	if code != want {
		t.Fatalf("bulwark %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, stdout, stderr)
	}
	return stdout + stderr
}

// TestBlobCosignInterop: blob signatures and attestations made by bulwark
// verify with the cosign CLI and the other way round, in the three
// formats (base64 signature or DSSE envelope, cosign's bundle JSON,
// Sigstore bundle); an altered file or another key fails in both tools.
func TestBlobCosignInterop(t *testing.T) {
	testutil.RequireTool(t, "cosign")
	dir := t.TempDir()
	t.Setenv("BULWARK_PASSWORD", testPassword)
	env := cosignEnv(t)
	blob, altered, pred := blobFiles(t, dir)
	bwKey, bwPub := keyPair(t, dir, "bw")
	cosDir := t.TempDir()
	if out, err := runCosignIn(t, env, cosDir, "generate-key-pair"); err != nil {
		t.Fatalf("cosign generate-key-pair: %v\n%s", err, out)
	}
	cosKey, cosPub := filepath.Join(cosDir, "cosign.key"), filepath.Join(cosDir, "cosign.pub")
	root := emptyTrustedRoot(t)
	f := func(name string) string { return filepath.Join(dir, name) }
	cosignOK := func(args ...string) {
		t.Helper()
		if out, err := runCosign(t, env, args...); err != nil {
			t.Fatalf("cosign %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	cosignFails := func(args ...string) {
		t.Helper()
		if out, err := runCosign(t, env, args...); err == nil {
			t.Fatalf("cosign %s passed; want a failure\n%s", strings.Join(args, " "), out)
		}
	}

	// bulwark signs; cosign verifies the signature and both bundles.
	mustCLI(t, 0, "sign-blob", blob, "--key", bwKey, "--output-signature", f("bw.sig"), "--bundle", f("bw.bundle"))
	mustCLI(t, 0, "sign-blob", blob, "--key", bwKey, "--new-bundle-format", "--bundle", f("bw.sigstore.json"), "--output-signature", f("bw2.sig"))
	for _, target := range []string{blob, altered} {
		check := cosignOK
		if target == altered {
			check = cosignFails
		}
		check("verify-blob", "--insecure-ignore-tlog", "--key", bwPub, "--signature", f("bw.sig"), target)
		check("verify-blob", "--insecure-ignore-tlog", "--key", bwPub, "--bundle", f("bw.bundle"), target)
		check("verify-blob", "--insecure-ignore-tlog", "--key", bwPub, "--new-bundle-format", "--trusted-root", root, "--bundle", f("bw.sigstore.json"), target)
	}
	cosignFails("verify-blob", "--insecure-ignore-tlog", "--key", cosPub, "--signature", f("bw.sig"), blob)

	// cosign signs; bulwark verifies.
	cosignOK("sign-blob", "--key", cosKey, "--tlog-upload=false", "--output-signature", f("cos.sig"), "--bundle", f("cos.bundle"), blob)
	cosignOK("sign-blob", "--key", cosKey, "--tlog-upload=false", "--new-bundle-format", "--bundle", f("cos.sigstore.json"), blob)
	for _, src := range [][]string{{"--signature", f("cos.sig")}, {"--bundle", f("cos.bundle")}, {"--bundle", f("cos.sigstore.json")}} {
		mustCLI(t, 0, append([]string{"verify-blob", blob, "--key", cosPub, "--insecure-ignore-tlog"}, src...)...)
		out := mustCLI(t, policy.ExitFailed, append([]string{"verify-blob", altered, "--key", cosPub}, src...)...)
		if !strings.Contains(out, "altered") {
			t.Errorf("altered file: message %q does not say so", out)
		}
		mustCLI(t, policy.ExitFailed, append([]string{"verify-blob", blob, "--key", bwPub}, src...)...)
	}

	// Attestations: bulwark attests, cosign verifies.
	mustCLI(t, 0, "attest-blob", blob, "--key", bwKey, "--type", "slsaprovenance1", "--predicate", pred,
		"--output-signature", f("bw.intoto.jsonl"), "--bundle", f("bw.att.bundle"))
	mustCLI(t, 0, "attest-blob", blob, "--key", bwKey, "--type", "slsaprovenance1", "--predicate", pred,
		"--new-bundle-format", "--bundle", f("bw.att.sigstore.json"), "--output-signature", f("bw2.intoto.jsonl"))
	for _, target := range []string{blob, altered} {
		check := cosignOK
		if target == altered {
			check = cosignFails
		}
		check("verify-blob-attestation", "--insecure-ignore-tlog", "--key", bwPub, "--type", "slsaprovenance1", "--signature", f("bw.intoto.jsonl"), target)
		check("verify-blob-attestation", "--insecure-ignore-tlog", "--key", bwPub, "--type", "slsaprovenance1", "--bundle", f("bw.att.bundle"), target)
		check("verify-blob-attestation", "--insecure-ignore-tlog", "--key", bwPub, "--type", "slsaprovenance1", "--new-bundle-format", "--trusted-root", root, "--bundle", f("bw.att.sigstore.json"), target)
	}
	cosignFails("verify-blob-attestation", "--insecure-ignore-tlog", "--key", bwPub, "--type", "cyclonedx", "--signature", f("bw.intoto.jsonl"), blob)

	// cosign attests, bulwark verifies.
	cosignOK("attest-blob", "--key", cosKey, "--tlog-upload=false", "--type", "slsaprovenance1", "--predicate", pred,
		"--output-signature", f("cos.intoto.jsonl"), "--bundle", f("cos.att.bundle"), blob)
	cosignOK("attest-blob", "--key", cosKey, "--tlog-upload=false", "--type", "slsaprovenance1", "--predicate", pred,
		"--new-bundle-format", "--bundle", f("cos.att.sigstore.json"), blob)
	for _, src := range [][]string{{"--signature", f("cos.intoto.jsonl")}, {"--bundle", f("cos.att.bundle")}, {"--bundle", f("cos.att.sigstore.json")}} {
		mustCLI(t, 0, append([]string{"verify-blob-attestation", blob, "--key", cosPub, "--type", "slsaprovenance1"}, src...)...)
		out := mustCLI(t, policy.ExitFailed, append([]string{"verify-blob-attestation", altered, "--key", cosPub, "--type", "slsaprovenance1"}, src...)...)
		if !strings.Contains(out, "altered") {
			t.Errorf("altered file: message %q does not say so", out)
		}
		mustCLI(t, policy.ExitFailed, append([]string{"verify-blob-attestation", blob, "--key", bwPub, "--type", "slsaprovenance1"}, src...)...)
		mustCLI(t, policy.ExitFailed, append([]string{"verify-blob-attestation", blob, "--key", cosPub, "--type", "cyclonedx"}, src...)...)
	}
}

// TestBlobKMS: sign-blob with an AWS KMS key (the local-kms emulator);
// cosign verifies with the same KMS reference, and bulwark verifies
// cosign's KMS blob signature.
func TestBlobKMS(t *testing.T) {
	kms := testutil.StartLocalKMS(t)
	testutil.AWSEnv(t, "http://"+kms)
	dir := t.TempDir()
	blob, altered, pred := blobFiles(t, dir)
	const ref = "awskms:///alias/blob"
	mustCLI(t, 0, "key", "generate", "--kms", ref, "--output-key-prefix", filepath.Join(dir, "kms"))
	mustCLI(t, 0, "sign-blob", blob, "--key", ref, "--output-signature", filepath.Join(dir, "b.sig"))
	mustCLI(t, 0, "attest-blob", blob, "--key", ref, "--type", "slsaprovenance1", "--predicate", pred, "--output-signature", filepath.Join(dir, "b.intoto.jsonl"))
	for _, key := range []string{ref, filepath.Join(dir, "kms.pub")} {
		mustCLI(t, 0, "verify-blob", blob, "--key", key, "--signature", filepath.Join(dir, "b.sig"))
		mustCLI(t, policy.ExitFailed, "verify-blob", altered, "--key", key, "--signature", filepath.Join(dir, "b.sig"))
		mustCLI(t, 0, "verify-blob-attestation", blob, "--key", key, "--type", "slsaprovenance1", "--signature", filepath.Join(dir, "b.intoto.jsonl"))
	}
	if !testutil.Integration() && !hasTool("cosign") {
		return
	}
	env := cosignEnv(t)
	if out, err := runCosign(t, env, "verify-blob", "--insecure-ignore-tlog", "--key", ref, "--signature", filepath.Join(dir, "b.sig"), blob); err != nil {
		t.Fatalf("cosign verify-blob of a bulwark KMS signature: %v\n%s", err, out)
	}
	if out, err := runCosign(t, env, "sign-blob", "--key", ref, "--tlog-upload=false", "--output-signature", filepath.Join(dir, "c.sig"), blob); err != nil {
		t.Fatalf("cosign sign-blob with KMS: %v\n%s", err, out)
	}
	mustCLI(t, 0, "verify-blob", blob, "--key", ref, "--signature", filepath.Join(dir, "c.sig"))
}

// TestBlobHostileInput: malformed signatures, bundles and flags are
// errors (exit 2) naming the input, never a pass or a panic.
func TestBlobHostileInput(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("BULWARK_PASSWORD", testPassword)
	blob, _, pred := blobFiles(t, dir)
	key, pub := keyPair(t, dir, "k")
	f := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	mustCLI(t, 0, "attest-blob", blob, "--key", key, "--type", "slsaprovenance1", "--predicate", pred, "--new-bundle-format", "--bundle", filepath.Join(dir, "att.json"), "--output-signature", filepath.Join(dir, "att.intoto.jsonl"))
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"verify-blob", blob, "--key", pub, "--bundle", f("html", "<html>not found</html>")}, "not a bundle"},
		{[]string{"verify-blob", blob, "--key", pub, "--bundle", f("trunc", `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","messageSig`)}, "not valid JSON"},
		{[]string{"verify-blob", blob, "--key", pub, "--bundle", f("nosig", `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`)}, "no messageSignature"},
		{[]string{"verify-blob", blob, "--key", pub, "--bundle", f("sha512", `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","messageSignature":{"messageDigest":{"algorithm":"SHA2_512","digest":"AA=="},"signature":"AA=="}}`)}, "not supported"},
		{[]string{"verify-blob", blob, "--key", pub, "--bundle", filepath.Join(dir, "att.json")}, "verify-blob-attestation"},
		{[]string{"verify-blob", blob, "--key", pub, "--bundle", f("legacy", `{"base64Signature":"!!"}`)}, "not base64"},
		{[]string{"verify-blob", blob, "--key", pub, "--signature", f("empty", "")}, "empty"},
		{[]string{"verify-blob", blob, "--key", pub}, "--signature FILE or --bundle FILE is required"},
		{[]string{"verify-blob", filepath.Join(dir, "missing"), "--key", pub, "--signature", "AAAA"}, "missing"},
		{[]string{"verify-blob", dir, "--key", pub, "--signature", "AAAA"}, "is a directory"},
		{[]string{"verify-blob-attestation", blob, "--key", pub, "--signature", f("env", `{"payloadType":"","payload":"e30=","signatures":[]}`)}, "no payloadType"},
		{[]string{"verify-blob-attestation", blob, "--key", pub, "--bundle", f("sigbundle", `{"base64Signature":"AAAA"}`)}, "base64Signature"},
		{[]string{"verify-blob-attestation", blob, "--key", pub, "--signature", f("junk", "%%%")}, "neither JSON"},
		{[]string{"verify-blob-attestation", "--key", pub, "--signature", filepath.Join(dir, "att.intoto.jsonl")}, "give FILE, or --digest"},
		{[]string{"attest-blob", blob, "--key", key, "--type", "slsaprovenance1", "--predicate", f("notjson", "{")}, "not valid JSON"},
		{[]string{"attest-blob", blob, "--key", key, "--type", "slsaprovenance1"}, "--predicate FILE or --statement FILE"},
		{[]string{"attest-blob", blob, "--key", key, "--statement", f("st", `{"_type":"https://in-toto.io/Statement/v1","subject":[]}`)}, "st: in-toto statement has no predicateType"},
		{[]string{"sign-blob", blob, "--key", key, "--tlog-upload"}, "offline"},
	}
	for _, c := range cases {
		out := mustCLI(t, policy.ExitError, c.args...)
		if !strings.Contains(out, c.want) {
			t.Errorf("bulwark %s: message %q does not contain %q", strings.Join(c.args, " "), out, c.want)
		}
	}
	// --digest instead of the file; an attestation about another digest.
	sum := mustCLI(t, 0, "verify-blob-attestation", "--key", pub, "--type", "slsaprovenance1", "--signature", filepath.Join(dir, "att.intoto.jsonl"), "--digest", strings.Repeat("0", 64), "--digestAlg", "sha256", "--check-claims=false")
	if !strings.Contains(sum, "Verified OK") {
		t.Errorf("--check-claims=false: %s", sum)
	}
	mustCLI(t, policy.ExitFailed, "verify-blob-attestation", "--key", pub, "--type", "slsaprovenance1", "--signature", filepath.Join(dir, "att.intoto.jsonl"), "--digest", strings.Repeat("0", 64), "--digestAlg", "sha256")
}
