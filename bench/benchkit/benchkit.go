// Package benchkit is what the benchmark programs that compare bulwark
// with the cosign CLI share: a work folder with bulwark built into it, and
// the CNCF registry (they are not tests, so internal/testutil does not
// serve them).
package benchkit

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Setup makes a work folder, builds bulwark into it and finds cosign. The
// caller removes dir.
func Setup(name string) (dir, bulwark, cosign string, err error) {
	cosign, err = exec.LookPath("cosign")
	if err != nil {
		return "", "", "", fmt.Errorf("cosign is not installed: go install github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5")
	}
	dir, err = os.MkdirTemp("", "bulwark-bench-"+name+"-")
	if err != nil {
		return "", "", "", err
	}
	bulwark = filepath.Join(dir, "bulwark")
	if out, err := exec.Command("go", "build", "-o", bulwark, "./cmd/bulwark").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", "", "", fmt.Errorf("building bulwark: %v\n%s", err, out)
	}
	return dir, bulwark, cosign, nil
}

// StartRegistry runs Debian's docker-registry on a free loopback port with its
// storage in dir, and returns its host and a function that stops it.
func StartRegistry(ctx context.Context, dir string) (string, func(), error) {
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		return "", nil, fmt.Errorf("docker-registry is not installed: apt-get install docker-registry")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	host := l.Addr().String()
	l.Close()
	cfg := filepath.Join(dir, "reg.yml")
	body := fmt.Sprintf("version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n  secret: bench\n", filepath.Join(dir, "data"), host)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		return "", nil, err
	}
	cmd := exec.CommandContext(ctx, bin, "serve", cfg)
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.DialTimeout("tcp", host, 200*time.Millisecond); err == nil {
			c.Close()
			return host, stop, nil
		}
	}
	stop()
	return "", nil, fmt.Errorf("docker-registry did not start on %s", host)
}
