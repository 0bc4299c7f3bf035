package k8s_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/admission/admtest"
	"github.com/bulwark-sec/bulwark/internal/sign"
	_ "github.com/bulwark-sec/bulwark/internal/sign/kmsproviders"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// TestCosignAndKMSSignatures admits images signed by the cosign CLI with a
// file key and by bulwark with a key in the AWS KMS emulator.
func TestCosignAndKMSSignatures(t *testing.T) {
	cosign := testutil.RequireTool(t, "cosign")
	f := admtest.New(t)
	testutil.AWSEnv(t, "http://"+testutil.StartLocalKMS(t))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const kmsKey = "awskms:///alias/admission"
	if _, err := sign.CreateKMSKey(ctx, kmsKey); err != nil {
		t.Fatal(err)
	}
	byCosign := admtest.Push(t, f.Host+"/team/by-cosign:v1")
	byKMS := admtest.Push(t, f.Host+"/team/by-kms:v1")
	cmd := exec.CommandContext(ctx, cosign, "sign", "--key", f.Key, "--tlog-upload=false", byCosign)
	cmd.Env = append(os.Environ(), "COSIGN_PASSWORD="+admtest.Password, "COSIGN_YES=true", "TUF_ROOT="+t.TempDir(), "HOME="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cosign sign: %v\n%s", err, out)
	}
	reg, err := sign.NewRegistry(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sign.LoadSigner(ctx, kmsKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.SignImage(ctx, reg, byKMS, s, sign.SignOptions{}); err != nil {
		t.Fatal(err)
	}

	both := startWebhook(t, fmt.Sprintf("keys: [%s, %q]\n", f.Pub, kmsKey))
	kmsOnly := startWebhook(t, fmt.Sprintf("keys: [%q]\n", kmsKey))
	for _, tc := range []struct {
		w       *webhook
		img     string
		allowed bool
		want    string
	}{
		{both, byCosign, true, "signed by " + f.Pub},
		{both, byKMS, true, "signed by " + kmsKey},
		{both, f.Unsigned, false, "no signature found"},
		{kmsOnly, byCosign, false, "none verifies with key " + kmsKey},
		{kmsOnly, byKMS, true, "signed by " + kmsKey},
	} {
		_, resp, msg := tc.w.post(t, "/validate", review("Pod", "", "CREATE", pod(tc.img)))
		if resp.Allowed != tc.allowed {
			t.Errorf("%s: allowed=%v: %s", tc.img, resp.Allowed, msg)
		}
		if !tc.allowed && !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %q does not say %q", tc.img, msg, tc.want)
		}
	}
}
