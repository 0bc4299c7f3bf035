package cli

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

// bulwark server: a bad configuration is exit 2 naming the line; a good
// one serves until SIGTERM, then stops cleanly (exit 0) with its store
// kept.
func TestServerCommand(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("listen: 127.0.0.1:1\npolicy:\n  failOn: SEVERE\n"), 0o600)
	var stderr bytes.Buffer
	if code := Execute(t.Context(), []string{"server", "--config", bad}, &bytes.Buffer{}, &stderr); code != 2 || !strings.Contains(stderr.String(), "line 3: policy.failOn") {
		t.Errorf("bad config: exit %d, %s", code, stderr.String())
	}
	// The update schedule's flags and key: exit 2 naming them.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--db-key", "db.pub"}, "give --db-update-interval"},
		{[]string{"--db-update-interval", "often"}, "--db-update-interval"},
		{[]string{"--db-update-interval", "6h", "--db-key", filepath.Join(dir, "missing.pub")}, "db.update.key: key " + filepath.Join(dir, "missing.pub")},
	} {
		stderr.Reset()
		if code := Execute(t.Context(), append([]string{"server"}, tc.args...), &bytes.Buffer{}, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%q: exit %d, %s", tc.args, code, stderr.String())
		}
	}

	dbFile := filepath.Join(dir, "vulndb.bwdb")
	var buf bytes.Buffer
	if err := vulndb.Write(&buf, vulndb.Metadata{BuiltAt: time.Unix(0, 0).UTC()}, nil); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(dbFile, buf.Bytes(), 0o644)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := filepath.Join(dir, "server.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("listen: %s\nstore: %s\ndb:\n  file: %s\n", addr, filepath.Join(dir, "store", "s.db"), dbFile)), 0o600)
	cmd := exec.Command(os.Args[0], "server", "--config", cfg)
	cmd.Env = append(os.Environ(), "BULWARK_TEST_MAIN=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not answer within 30s: %s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v; output:\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "shutting down") {
		t.Errorf("output:\n%s", out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "store", "s.db")); err != nil {
		t.Errorf("store: %v", err)
	}
}
