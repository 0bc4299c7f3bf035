package testutil

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// StartLocalKMS runs the local-kms AWS KMS emulator on a free port of
// 127.0.0.1 with its data in a temp dir, returns "127.0.0.1:PORT", and
// stops it (by PID) when the test ends. local-kms listens on every
// interface (it takes a port only); tests send it loopback traffic only.
func StartLocalKMS(t testing.TB) string {
	t.Helper()
	bin := RequireTool(t, "local-kms")
	port := freePort(t)
	dir := t.TempDir()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", port), "KMS_REGION=us-east-1", "KMS_ACCOUNT_ID=111122223333",
		"KMS_DATA_PATH="+filepath.Join(dir, "data"), "KMS_SEED_PATH="+filepath.Join(dir, "none.yaml"))
	startServer(t, "local-kms", cmd, filepath.Join(dir, "kms.log"))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return addr
		}
		time.Sleep(50 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "kms.log"))
	t.Fatalf("local-kms did not start on %s:\n%s", addr, log)
	return ""
}

// AWSEnv points the AWS SDK (in this process and in the commands it
// starts) at a KMS endpoint with dummy credentials, and clears the
// machine's AWS_CA_BUNDLE.
func AWSEnv(t testing.TB, endpoint string) {
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CA_BUNDLE", "")
	t.Setenv("AWS_ENDPOINT_URL_KMS", endpoint)
}
