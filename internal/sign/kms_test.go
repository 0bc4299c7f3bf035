package sign_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/policy"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

func TestAWSKMS(t *testing.T) {
	kms := testutil.StartLocalKMS(t)
	host := realRegistry(t)
	testutil.AWSEnv(t, "http://"+kms)
	dir := t.TempDir()
	img := pushImage(t, host+"/kms/app:v1")
	other := pushImage(t, host+"/kms/other:v1")

	for _, alias := range []string{"bw", "other"} {
		code, _, stderr := runCLI(t, "key", "generate", "--kms", "awskms:///alias/"+alias, "--output-key-prefix", filepath.Join(dir, alias))
		if code != 0 {
			t.Fatalf("key generate --kms: %d %s", code, stderr)
		}
	}
	code, stdout, stderr := runCLI(t, "key", "public", "--key", "awskms:///alias/bw")
	pub, _ := os.ReadFile(filepath.Join(dir, "bw.pub"))
	if code != 0 || stdout != string(pub) {
		t.Fatalf("key public: %d %q %s (want %q)", code, stdout, stderr, pub)
	}
	if code, _, stderr := runCLI(t, "sign", img.String(), "--key", "awskms:///alias/bw"); code != 0 {
		t.Fatalf("sign with KMS: %d %s", code, stderr)
	}
	for _, key := range []string{"awskms:///alias/bw", filepath.Join(dir, "bw.pub")} {
		if code, _, stderr := runCLI(t, "verify", img.String(), "--key", key); code != 0 {
			t.Fatalf("verify with %s: %d %s", key, code, stderr)
		}
	}
	code, _, stderr = runCLI(t, "verify", img.String(), "--key", "awskms:///alias/other")
	if code != policy.ExitFailed || !strings.Contains(stderr, "none verifies with key awskms:///alias/other") {
		t.Fatalf("verify with another KMS key: %d %s", code, stderr)
	}

	if testutil.Integration() || hasTool("cosign") {
		env := cosignEnv(t)
		if out, err := runCosign(t, env, "verify", "--insecure-ignore-tlog", "--key", "awskms:///alias/bw", img.String()); err != nil {
			t.Fatalf("cosign verify of a bulwark KMS signature: %v\n%s", err, out)
		}
		if out, err := runCosign(t, env, "verify", "--insecure-ignore-tlog", "--key", "awskms:///alias/other", img.String()); err == nil {
			t.Fatalf("cosign verify with another KMS key passed:\n%s", out)
		}
		if out, err := runCosign(t, env, "sign", "--key", "awskms:///alias/other", "--tlog-upload=false", other.String()); err != nil {
			t.Fatalf("cosign sign with KMS: %v\n%s", err, out)
		}
		if code, _, stderr := runCLI(t, "verify", other.String(), "--key", "awskms:///alias/other"); code != 0 {
			t.Fatalf("bulwark verify of a cosign KMS signature: %d %s", code, stderr)
		}
		if code, _, _ := runCLI(t, "verify", other.String(), "--key", "awskms:///alias/bw"); code != policy.ExitFailed {
			t.Fatalf("bulwark verify of a cosign KMS signature with another key: %d", code)
		}
	}

	// The awskms://HOST:PORT/ form: the provider always speaks HTTPS, so
	// put a TLS front on the emulator and trust it with AWS_CA_BUNDLE.
	target, _ := url.Parse("http://" + kms)
	front := httptest.NewTLSServer(httputil.NewSingleHostReverseProxy(target))
	t.Cleanup(front.Close)
	ca := filepath.Join(dir, "front.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: front.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ENDPOINT_URL_KMS", "")
	t.Setenv("AWS_CA_BUNDLE", ca)
	ref := "awskms://" + strings.TrimPrefix(front.URL, "https://") + "/alias/bw"
	if code, _, stderr := runCLI(t, "verify", img.String(), "--key", ref); code != 0 {
		t.Fatalf("verify with %s: %d %s", ref, code, stderr)
	}

	// An unreachable KMS: an error (exit 2), never a pass.
	testutil.AWSEnv(t, "http://127.0.0.1:1")
	code, _, stderr = runCLI(t, "verify", img.String(), "--key", "awskms:///alias/bw")
	if code != policy.ExitError || !strings.Contains(stderr, "awskms:///alias/bw") {
		t.Fatalf("unreachable KMS: %d %s", code, stderr)
	}
	code, _, stderr = runCLI(t, "sign", img.String(), "--key", "awskms:///alias/bw")
	if code != policy.ExitError {
		t.Fatalf("sign with an unreachable KMS: %d %s", code, stderr)
	}
}

func hasTool(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}

// transit is a small HashiCorp Vault transit API (keys, sign) for tests:
// Vault itself cannot be installed here.
type transit struct {
	mu   sync.Mutex
	keys map[string]*ecdsa.PrivateKey
}

func (tr *transit) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if r.Header.Get("X-Vault-Token") != "test-token" {
		http.Error(w, `{"errors":["permission denied"]}`, http.StatusForbidden)
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v1/transit/"), "/")
	reply := func(data any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"data": data})
	}
	switch {
	case len(parts) == 2 && parts[0] == "keys" && (r.Method == http.MethodPost || r.Method == http.MethodPut):
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tr.keys[parts[1]] = k
		reply(map[string]any{})
	case len(parts) == 2 && parts[0] == "keys" && r.Method == http.MethodGet:
		k, ok := tr.keys[parts[1]]
		if !ok {
			http.Error(w, `{"errors":[]}`, http.StatusNotFound)
			return
		}
		der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
		pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
		reply(map[string]any{"latest_version": 1, "name": parts[1], "type": "ecdsa-p256",
			"keys": map[string]any{"1": map[string]any{"public_key": pemKey, "name": "P-256"}}})
	case len(parts) >= 2 && parts[0] == "sign" && r.Method != http.MethodGet:
		k, ok := tr.keys[parts[1]]
		if !ok {
			http.Error(w, `{"errors":["no key"]}`, http.StatusBadRequest)
			return
		}
		var req struct {
			Input     string `json:"input"`
			Prehashed bool   `json:"prehashed"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		in, _ := base64.StdEncoding.DecodeString(req.Input)
		digest := in
		if !req.Prehashed {
			h := sha256.Sum256(in)
			digest = h[:]
		}
		sig, _ := ecdsa.SignASN1(rand.Reader, k, digest)
		reply(map[string]any{"signature": "vault:v1:" + base64.StdEncoding.EncodeToString(sig)})
	default:
		http.Error(w, `{"errors":["unsupported in this test server"]}`, http.StatusNotFound)
	}
}

func TestHashiVaultTransit(t *testing.T) {
	srv := httptest.NewServer(&transit{keys: map[string]*ecdsa.PrivateKey{}})
	t.Cleanup(srv.Close)
	t.Setenv("VAULT_ADDR", srv.URL)
	t.Setenv("VAULT_TOKEN", "test-token")
	host := memRegistry(t, false)
	img := pushImage(t, host+"/vault/app:v1")
	dir := t.TempDir()
	for _, k := range []string{"bw", "other"} {
		if code, _, stderr := runCLI(t, "key", "generate", "--kms", "hashivault://"+k, "--output-key-prefix", filepath.Join(dir, k)); code != 0 {
			t.Fatalf("key generate --kms hashivault://%s: %d %s", k, code, stderr)
		}
	}
	if code, _, stderr := runCLI(t, "sign", img.String(), "--key", "hashivault://bw"); code != 0 {
		t.Fatalf("sign with hashivault: %d %s", code, stderr)
	}
	for _, key := range []string{"hashivault://bw", filepath.Join(dir, "bw.pub")} {
		if code, _, stderr := runCLI(t, "verify", img.String(), "--key", key); code != 0 {
			t.Fatalf("verify with %s: %d %s", key, code, stderr)
		}
	}
	if code, _, _ := runCLI(t, "verify", img.String(), "--key", "hashivault://other"); code != policy.ExitFailed {
		t.Fatalf("verify with another vault key: %d", code)
	}
	t.Setenv("VAULT_TOKEN", "bad-token")
	if code, _, stderr := runCLI(t, "sign", img.String(), "--key", "hashivault://bw"); code != policy.ExitError {
		t.Fatalf("sign with a rejected vault token: %d %s", code, stderr)
	}
}
