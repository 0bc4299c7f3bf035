// Package testutil starts the real components tests use (a CNCF
// distribution registry on 127.0.0.1) and finds the tools they drive.
//
// Integration tests skip when a tool is missing on a developer machine;
// with BULWARK_INTEGRATION=1 (as .ci/run sets it) a missing tool fails the
// test instead, so CI can never pass by skipping.
package testutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Integration reports whether missing tools must fail tests (CI).
func Integration() bool { return os.Getenv("BULWARK_INTEGRATION") == "1" }

// RequireTool returns the path of an executable, skipping the test when it
// is not installed (failing it under BULWARK_INTEGRATION=1).
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if Integration() {
			t.Fatalf("%s is not installed; .ci/run installs it", name)
		}
		t.Skipf("%s is not installed (see .ci/run for how to install it)", name)
	}
	return p
}

// RegistryOptions configures StartRegistry.
type RegistryOptions struct {
	// TLS serves HTTPS with a fresh self-signed certificate for 127.0.0.1.
	TLS bool
	// User and Password turn on htpasswd basic auth (needs TLS).
	User, Password string
	// Notify is a URL the registry sends its event notifications to
	// (with NotifyToken as a bearer token when set).
	Notify, NotifyToken string
}

// Registry is a running CNCF distribution registry.
type Registry struct {
	// Host is "127.0.0.1:PORT".
	Host string
	// CACert is the PEM file of the TLS certificate (TLS only).
	CACert string
	// Stop stops the registry before the test ends (to test an
	// unreachable registry); it is also called when the test ends.
	Stop func()
}

// StartRegistry starts Debian's docker-registry (CNCF distribution) on a
// free port of 127.0.0.1 with storage in a temporary directory, waits until
// it answers, and stops it (by its PID) when the test ends.
func StartRegistry(t testing.TB, opts RegistryOptions) *Registry {
	t.Helper()
	bin := RequireTool(t, "docker-registry")
	dir := t.TempDir()
	port := freePort(t)
	reg := &Registry{Host: fmt.Sprintf("127.0.0.1:%d", port)}
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n  secret: bulwark-test\n",
		filepath.Join(dir, "data"), reg.Host)
	if opts.TLS {
		cert, key := selfSigned(t, dir)
		reg.CACert = cert
		cfg += fmt.Sprintf("  tls:\n    certificate: %s\n    key: %s\n", cert, key)
	}
	if opts.User != "" {
		htpasswd := RequireTool(t, "htpasswd")
		out, err := exec.Command(htpasswd, "-Bbn", opts.User, opts.Password).Output()
		if err != nil {
			t.Fatalf("htpasswd: %v", err)
		}
		pw := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(pw, out, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg += fmt.Sprintf("auth:\n  htpasswd:\n    realm: bulwark-test\n    path: %s\n", pw)
	}
	if opts.Notify != "" {
		cfg += fmt.Sprintf("notifications:\n  endpoints:\n    - name: test\n      url: %s\n      timeout: 5s\n      threshold: 10\n      backoff: 200ms\n", opts.Notify)
		if opts.NotifyToken != "" {
			cfg += fmt.Sprintf("      headers:\n        Authorization: [\"Bearer %s\"]\n", opts.NotifyToken)
		}
	}
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	reg.Stop = startServer(t, "docker-registry", exec.Command(bin, "serve", cfgPath), filepath.Join(dir, "registry.log"))
	waitReady(t, reg, filepath.Join(dir, "registry.log"))
	return reg
}

// startServer starts a server process for a test with its output in
// logPath, and kills it (by its PID) when the test ends, or after ten
// minutes at the latest. It returns a function that stops it earlier.
func startServer(t testing.TB, what string, cmd *exec.Cmd, logPath string) (stop func()) {
	t.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("starting %s: %v", what, err)
	}
	limit := time.AfterFunc(10*time.Minute, func() { _ = cmd.Process.Kill() })
	var once sync.Once
	stop = func() {
		once.Do(func() {
			limit.Stop()
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			logf.Close()
		})
	}
	t.Cleanup(stop)
	return stop
}

func waitReady(t testing.TB, reg *Registry, logPath string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		conn, err := net.DialTimeout("tcp", reg.Host, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	log, _ := os.ReadFile(logPath)
	t.Fatalf("registry on %s did not start within 15s; its log:\n%s", reg.Host, log)
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// selfSigned writes a certificate and key for 127.0.0.1 and localhost.
func selfSigned(t testing.TB, dir string) (certFile, keyFile string) {
	t.Helper()
	key := newKey(t)
	tmpl := serverCert()
	tmpl.KeyUsage |= x509.KeyUsageCertSign
	tmpl.IsCA = true
	return writeCert(t, dir, "cert.pem", "key.pem", tmpl, tmpl, key, key)
}

// CASignedCert writes a CA certificate (caFile) and a server certificate
// for 127.0.0.1 and localhost signed by it, with its key (PEM files).
func CASignedCert(t testing.TB, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey := newKey(t)
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "bulwark test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caFile, _ = writeCert(t, dir, "ca.pem", "ca-key.pem", ca, ca, caKey, caKey)
	certFile, keyFile = writeCert(t, dir, "server.pem", "server-key.pem", serverCert(), ca, newKey(t), caKey)
	return caFile, certFile, keyFile
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// serverCert is the template of a day's server certificate for 127.0.0.1
// and localhost.
func serverCert() *x509.Certificate {
	return &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
}

// writeCert signs tmpl (with key's public half) by parent and parentKey
// and writes it and key as PEM files in dir.
func writeCert(t testing.TB, dir, certName, keyName string, tmpl, parent *x509.Certificate, key, parentKey *ecdsa.PrivateKey) (certFile, keyFile string) {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, certName), filepath.Join(dir, keyName)
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// HTTPGet is a small bounded GET for readiness checks and assertions.
func HTTPGet(url string) (int, string, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), err
}

// ReadFile returns a file's content, failing the test when it cannot.
func ReadFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// WaitFor polls cond every 50 ms until it holds, failing the test after d.
func WaitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
