package cli

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/testutil"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

// bulwark server --tls-cert --tls-key serves HTTPS: a client trusting the
// CA that signed the certificate gets /healthz and, with the token, the
// API; a client that does not trust it, and plain HTTP to the port, get
// nothing of it. A key file that is not a key is exit code 2 naming it.
func TestServerTLS(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := testutil.CASignedCert(t, dir)
	dbFile := filepath.Join(dir, "vulndb.bwdb")
	var buf bytes.Buffer
	if err := vulndb.Write(&buf, vulndb.Metadata{BuiltAt: time.Unix(0, 0).UTC()}, nil); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(dbFile, buf.Bytes(), 0o644)
	args := []string{"server", "--listen", "127.0.0.1:0", "--database", "sqlite://" + filepath.Join(dir, "s.db"), "--db", dbFile, "--token", "tls-token"}

	badKey := filepath.Join(dir, "bad-key.pem")
	os.WriteFile(badKey, []byte("-----BEGIN EC PRIVATE KEY-----\nbm90IGEga2V5\n-----END EC PRIVATE KEY-----\n"), 0o600)
	var stderr bytes.Buffer
	if code := Execute(t.Context(), append(args, "--tls-cert", cert, "--tls-key", badKey), &bytes.Buffer{}, &stderr); code != 2 || !strings.Contains(stderr.String(), badKey) {
		t.Errorf("a bad key file: exit %d, %s; want 2 naming %s", code, stderr.String(), badKey)
	}
	stderr.Reset()
	if code := Execute(t.Context(), append(args, "--tls-cert", filepath.Join(dir, "missing.pem"), "--tls-key", key), &bytes.Buffer{}, &stderr); code != 2 || !strings.Contains(stderr.String(), "missing.pem") {
		t.Errorf("a missing certificate file: exit %d, %s; want 2 naming it", code, stderr.String())
	}

	cmd, out, base := startServer(t, append(args[1:], "--tls-cert", cert, "--tls-key", key)...)
	addr, ok := strings.CutPrefix(base, "https://")
	if !ok {
		t.Fatalf("serving %s, want https://", base)
	}

	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(ca)
	if err != nil || !pool.AppendCertsFromPEM(caPEM) {
		t.Fatalf("CA %s: %v", ca, err)
	}
	trusting := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	get := func(c *http.Client, url, token string) (int, string, error) {
		req, _ := http.NewRequest("GET", url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	if code, body, err := get(trusting, "https://"+addr+"/healthz", ""); err != nil || code != 200 || strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz over TLS: %d %q %v", code, body, err)
	}
	if code, body, err := get(trusting, "https://"+addr+"/api/v1/images", "tls-token"); err != nil || code != 200 || !strings.Contains(body, `"images"`) {
		t.Errorf("/api/v1/images over TLS with the token: %d %q %v", code, body, err)
	}
	if code, _, err := get(trusting, "https://"+addr+"/api/v1/images", ""); err != nil || code != http.StatusUnauthorized {
		t.Errorf("/api/v1/images over TLS without the token: %d %v; want 401", code, err)
	}
	if _, _, err := get(&http.Client{Timeout: 10 * time.Second}, "https://"+addr+"/healthz", ""); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("a client not trusting the CA: %v; want a certificate error", err)
	}
	// Plain HTTP to the TLS port: Go's TLS server answers 400, never the page.
	if code, body, err := get(&http.Client{Timeout: 10 * time.Second}, "http://"+addr+"/healthz", ""); err == nil && (code == 200 || strings.TrimSpace(body) == "ok") {
		t.Errorf("plain HTTP to the TLS port: %d %q", code, body)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v\n%s", err, out.String())
	}
}
