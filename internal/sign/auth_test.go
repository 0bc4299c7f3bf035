package sign_test

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/bulwark-sec/bulwark/internal/policy"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// TestTLSBasicAuthRegistry: the real registry over HTTPS with htpasswd.
func TestTLSBasicAuthRegistry(t *testing.T) {
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{TLS: true, User: "ci", Password: "pa55"})
	keyFile, pubFile := keyPair(t, t.TempDir(), "k")
	t.Setenv("BULWARK_PASSWORD", testPassword)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	tr := caTransport(t, reg.CACert)
	img := pushImage(t, reg.Host+"/secure/app:v1", remote.WithTransport(tr), remote.WithAuth(&authn.Basic{Username: "ci", Password: "pa55"}))
	auth := []string{"--registry-cacert", reg.CACert, "--registry-username", "ci", "--registry-password", "pa55"}

	if code, _, stderr := runCLI(t, append([]string{"sign", reg.Host + "/secure/app:v1", "--key", keyFile}, auth...)...); code != 0 {
		t.Fatalf("sign over TLS + basic auth: %d %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, append([]string{"verify", img.String(), "--key", pubFile}, auth...)...); code != 0 {
		t.Fatalf("verify over TLS + basic auth: %d %s", code, stderr)
	}
	// --insecure skips TLS verification instead of a CA file.
	if code, _, stderr := runCLI(t, "verify", img.String(), "--key", pubFile, "--insecure", "--registry-username", "ci", "--registry-password", "pa55"); code != 0 {
		t.Fatalf("verify with --insecure: %d %s", code, stderr)
	}
	code, _, stderr := runCLI(t, "verify", img.String(), "--key", pubFile, "--registry-cacert", reg.CACert, "--registry-username", "ci", "--registry-password", "wrong")
	if code != policy.ExitError || !strings.Contains(stderr, "UNAUTHORIZED") {
		t.Fatalf("wrong registry password: %d %s", code, stderr)
	}
	t.Setenv("SSL_CERT_FILE", "/nonexistent")
	code, _, stderr = runCLI(t, "verify", img.String(), "--key", pubFile, "--registry-username", "ci", "--registry-password", "pa55")
	if code != policy.ExitError || !strings.Contains(stderr, "--registry-cacert") {
		t.Fatalf("untrusted certificate: %d %s", code, stderr)
	}
}

// TestTokenAuthRegistry: a registry that wants a bearer token from a token
// service (the Docker token flow), in front of the in-process registry.
func TestTokenAuthRegistry(t *testing.T) {
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	var tokenURL string
	mux := http.NewServeMux()
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != "ci" || p != "pa55" {
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED"}]}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"token":"tok-123","access_token":"tok-123"}`))
	})
	mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok-123" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+tokenURL+`",service="test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"token required"}]}`, http.StatusUnauthorized)
			return
		}
		inner.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	tokenURL = srv.URL + "/token"
	host := strings.TrimPrefix(srv.URL, "http://")
	keyFile, pubFile := keyPair(t, t.TempDir(), "k")
	t.Setenv("BULWARK_PASSWORD", testPassword)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	img := pushImage(t, host+"/tok/app:v1", remote.WithAuth(&authn.Basic{Username: "ci", Password: "pa55"}))
	auth := []string{"--registry-username", "ci", "--registry-password", "pa55"}
	if code, _, stderr := runCLI(t, append([]string{"sign", img.String(), "--key", keyFile}, auth...)...); code != 0 {
		t.Fatalf("sign with token auth: %d %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, append([]string{"verify", img.String(), "--key", pubFile}, auth...)...); code != 0 {
		t.Fatalf("verify with token auth: %d %s", code, stderr)
	}
	if code, _, _ := runCLI(t, "verify", img.String(), "--key", pubFile); code != policy.ExitError {
		t.Fatalf("verify without credentials: %d, want %d", code, policy.ExitError)
	}
}
