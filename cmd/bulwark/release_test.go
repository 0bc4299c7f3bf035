package main

import (
	"bytes"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/cli"
	"github.com/bulwark-sec/bulwark/internal/sign"
)

const pkgBuildinfo = "github.com/bulwark-sec/bulwark/internal/buildinfo"

// TestReleaseBinary builds bulwark with the release workflow's -ldflags
// (no build ID, the release key built in) twice, checks that the two
// builds are byte-identical (without -trimpath, which would recompile
// every package; bench/repro.sh checks -trimpath builds from two
// directories with two caches), signs the binary with sign-blob and checks
// that 'version --verify' passes next to its .sig or .bundle, fails on an
// altered binary or another key, and says when there is no signature.
func TestReleaseBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds bulwark twice")
	}
	dir := t.TempDir()
	const pw = "release-pw"
	privPEM, pubPEM, err := sign.GenerateKeyPair([]byte(pw))
	if err != nil {
		t.Fatal(err)
	}
	key, pub := filepath.Join(dir, "release.key"), filepath.Join(dir, "release.pub")
	_, otherPub, err := sign.GenerateKeyPair([]byte(pw))
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.pub")
	for f, b := range map[string][]byte{key: privPEM, pub: pubPEM, other: otherPub} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	blk, _ := pem.Decode(pubPEM)
	ldflags := "-s -w -buildid= -X " + pkgBuildinfo + ".Version=v0.0.0-test -X " + pkgBuildinfo + ".Commit=" + strings.Repeat("a", 40) +
		" -X " + pkgBuildinfo + ".ReleaseKey=" + base64.StdEncoding.EncodeToString(blk.Bytes)
	var bins [2]string
	for i := range bins {
		bins[i] = filepath.Join(dir, "build"+string(rune('1'+i)), "bulwark")
		cmd := exec.Command("go", "build", "-ldflags", ldflags, "-o", bins[i], ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}
	a, _ := os.ReadFile(bins[0])
	b, _ := os.ReadFile(bins[1])
	if !bytes.Equal(a, b) {
		t.Fatalf("two builds with the same flags differ (%d and %d bytes): not reproducible", len(a), len(b))
	}
	bin := bins[0]
	run := func(want int, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "BULWARK_PASSWORD="+pw)
		out, err := cmd.CombinedOutput()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != want {
			t.Fatalf("bulwark %s: exit %d, want %d\n%s", strings.Join(args, " "), code, want, out)
		}
		return string(out)
	}

	if out := run(cli.ExitUnverifiable, "version", "--verify"); !strings.Contains(out, "no signature found") {
		t.Errorf("no signature: %s", out)
	}
	run(0, "sign-blob", bin, "--key", key, "--output-signature", bin+".sig")
	if out := run(0, "version", "--verify"); !strings.Contains(out, "verified: "+bin) || !strings.Contains(out, "v0.0.0-test") {
		t.Errorf("verified binary: %s", out)
	}
	if out := run(1, "version", "--verify", "--key", other); !strings.Contains(out, "does not verify with key "+other) {
		t.Errorf("another key: %s", out)
	}

	// A Sigstore bundle next to the binary (no .sig) works too.
	run(0, "sign-blob", bin, "--key", key, "--new-bundle-format", "--bundle", bin+".bundle", "--output-signature", filepath.Join(dir, "ignored.sig"))
	if err := os.Remove(bin + ".sig"); err != nil {
		t.Fatal(err)
	}
	run(0, "version", "--verify")

	// An altered binary (a byte appended: it still runs) fails.
	if err := os.WriteFile(bins[1], append(a, 0), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bins[1]+".bundle", mustRead(t, bin+".bundle"), 0o644); err != nil {
		t.Fatal(err)
	}
	bin = bins[1]
	if out := run(1, "version", "--verify"); !strings.Contains(out, "NOT VERIFIED") || !strings.Contains(out, "altered") {
		t.Errorf("altered binary: %s", out)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
