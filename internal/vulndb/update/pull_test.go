package update

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/bulwark-sec/bulwark/internal/registry"
	"github.com/bulwark-sec/bulwark/internal/sign"
	"github.com/bulwark-sec/bulwark/internal/testutil"
	"github.com/bulwark-sec/bulwark/internal/testutil/testkey"
	"github.com/bulwark-sec/bulwark/internal/vulndb/build"
)

// realDB builds a database from the real advisories in testdata.
func realDB(t testing.TB, path string) []byte {
	t.Helper()
	if _, err := build.Build(context.Background(), build.Options{Output: path, OSV: []string{td + "/osv"}, GHSA: []string{td + "/ghsa"}}); err != nil {
		t.Fatal(err)
	}
	return testutil.ReadFile(t, path)
}

// TestPull pulls signed databases from a real registry on 127.0.0.1, and
// checks that every kind of failure leaves the previous database (and its
// signature) byte-identical.
func TestPull(t *testing.T) {
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	src := filepath.Join(dir, "built.bwdb")
	data := realDB(t, src)
	sum := sha256.Sum256(data)
	blob := "/blobs/sha256:" + hex.EncodeToString(sum[:])
	publisher, stranger := testkey.New(t, dir, "publisher"), testkey.New(t, dir, "stranger")
	regOpts := insecureClient(t)
	good := reg.Host + "/bulwark-sec/bulwark-db"
	for repo, signer := range map[string]*sign.Signer{good: publisher.Signer, reg.Host + "/other/bulwark-db": stranger.Signer, reg.Host + "/unsigned/bulwark-db": nil} {
		if _, err := Push(ctx, src, repo, regOpts, signer); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "cache", "vulndb.bwdb")
	opts := func(repos ...string) Options {
		return Options{DB: path, Repositories: repos, Key: publisher.Verifier, Registry: regOpts, Retries: -1, Backoff: time.Millisecond, Stall: 2 * time.Second}
	}

	// The first repository is down: the second serves.
	res, err := Update(ctx, opts(testutil.ClosedPort(t)+"/bulwark-sec/bulwark-db", good))
	if err != nil {
		t.Fatal(err)
	}
	if res.From != good || !bytes.Equal(testutil.ReadFile(t, path), data) {
		t.Fatalf("pulled from %s; same bytes: %v", res.From, bytes.Equal(testutil.ReadFile(t, path), data))
	}
	sig, err := loadSignature(path)
	if err != nil || sig == nil {
		t.Fatalf("no signature kept: %v", err)
	}
	if err := sig.Check(publisher.Verifier, hex.EncodeToString(sum[:]), int64(len(data))); err != nil {
		t.Errorf("the kept signature: %v", err)
	}

	// Pulled again unchanged: the signature is checked, the database is
	// not downloaded again and the file stays as it was.
	var blobGets atomic.Int32
	counting := testutil.HostileProxy(t, reg.Host, func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, blob) {
			blobGets.Add(1)
		}
		return false
	})
	fi0, _ := os.Stat(path)
	res, err = Update(ctx, opts(counting+"/bulwark-sec/bulwark-db"))
	if err != nil || !res.Unchanged || res.Metadata.BuiltAt.IsZero() {
		t.Fatalf("pulling the installed database again: %+v, %v; want Unchanged with its metadata", res, err)
	}
	if fi1, _ := os.Stat(path); blobGets.Load() != 0 || !fi1.ModTime().Equal(fi0.ModTime()) {
		t.Errorf("pulling the installed database again downloaded it %d time(s) (file modified: %v)", blobGets.Load(), !fi1.ModTime().Equal(fi0.ModTime()))
	}
	if _, err := Update(ctx, opts(reg.Host+"/other/bulwark-db")); err == nil {
		t.Error("the same database signed with another key was taken as unchanged")
	}
	// A file that is not the artifact's (same signature kept next to
	// it): downloaded again.
	previous(t, path)
	res, err = Update(ctx, opts(counting+"/bulwark-sec/bulwark-db"))
	if err != nil || res.Unchanged || blobGets.Load() != 1 || !bytes.Equal(testutil.ReadFile(t, path), data) {
		t.Fatalf("pulling over another file: %+v, %v, %d download(s); want the artifact downloaded once", res, err, blobGets.Load())
	}

	// The failures below must download: an older database is installed.
	previous(t, path)
	before, beforeSig := testutil.ReadFile(t, path), testutil.ReadFile(t, SignaturePath(path))

	for _, tc := range []struct {
		name, repo, want string
		ctx              func() context.Context
	}{
		{"signed with another key", reg.Host + "/other/bulwark-db", "signature check", nil},
		{"unsigned", reg.Host + "/unsigned/bulwark-db", "signature check", nil},
		{"no such repository", reg.Host + "/nothing/here", "nothing/here", nil},
		{"truncated blob", testutil.HostileProxy(t, reg.Host, func(w http.ResponseWriter, r *http.Request) bool {
			if !strings.HasSuffix(r.URL.Path, blob) {
				return false
			}
			w.Header().Set("Content-Length", "100")
			w.Write(data[:100])
			return true
		}) + "/bulwark-sec/bulwark-db", "digest mismatch", nil},
		{"replaced blob", testutil.HostileProxy(t, reg.Host, func(w http.ResponseWriter, r *http.Request) bool {
			if !strings.HasSuffix(r.URL.Path, blob) {
				return false
			}
			evil := bytes.Clone(data)
			evil[len(evil)/2] ^= 1
			w.Write(evil)
			return true
		}) + "/bulwark-sec/bulwark-db", "digest mismatch", nil},
		{"HTML page", testutil.HostileProxy(t, reg.Host, func(w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<!DOCTYPE html><html><body>Sign in to the Wi-Fi</body></html>"))
			return true
		}) + "/bulwark-sec/bulwark-db", "bulwark-sec/bulwark-db", nil},
		{"stall", testutil.HostileProxy(t, reg.Host, func(w http.ResponseWriter, r *http.Request) bool {
			if !strings.HasSuffix(r.URL.Path, blob) {
				return false
			}
			w.Write(data[:100])
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return true
		}) + "/bulwark-sec/bulwark-db", "stalled", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Update(ctx, opts(tc.repo))
			var pe *PullError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want a PullError with %q", err, tc.want)
			}
			if !bytes.Equal(testutil.ReadFile(t, path), before) || !bytes.Equal(testutil.ReadFile(t, SignaturePath(path)), beforeSig) {
				t.Error("a failed pull changed the database or its signature")
			}
			if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 2 {
				t.Errorf("the pull left files behind: %v", entries)
			}
		})
	}

	// Ctrl-C in the middle of the download.
	started := make(chan struct{})
	slow := testutil.HostileProxy(t, reg.Host, func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, blob) {
			return false
		}
		w.Write(data[:100])
		w.(http.Flusher).Flush()
		close(started)
		<-r.Context().Done()
		return true
	})
	cctx, ccancel := context.WithCancel(ctx)
	go func() { <-started; ccancel() }()
	if _, err := Update(cctx, opts(slow+"/bulwark-sec/bulwark-db", good)); !errors.Is(err, context.Canceled) {
		t.Errorf("interrupted: %v, want context.Canceled without trying the next repository", err)
	}
	if !bytes.Equal(testutil.ReadFile(t, path), before) {
		t.Error("an interrupted pull changed the database")
	}
	if res, err := Update(ctx, opts(good)); err != nil || res.Unchanged || !bytes.Equal(testutil.ReadFile(t, path), data) {
		t.Fatalf("pulling again after the failures: %+v, %v", res, err)
	}

	t.Run("bundle", func(t *testing.T) { testBundle(t, path, data, publisher, stranger) })
}

// testBundle exports the pulled database and imports it elsewhere.
func testBundle(t *testing.T, pulled string, data []byte, publisher, stranger testkey.Pair) {
	ctx := context.Background()
	dir := t.TempDir()
	bundle := filepath.Join(dir, "usb", "bulwark-db.tar")
	sum, err := Export(ctx, pulled, bundle, nil)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "airgap", "vulndb.bwdb")
	if _, err := Import(bundle, dst, stranger.Verifier, ""); err == nil || !strings.Contains(err.Error(), "signature check failed") {
		t.Errorf("import with the wrong key: %v", err)
	}
	if _, err := Import(bundle, dst, publisher.Verifier, "00"); err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("import with the wrong SHA-256: %v", err)
	}
	if _, err := os.Stat(dst); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a refused import installed the database")
	}
	if _, err := Import(bundle, dst, publisher.Verifier, sum); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(testutil.ReadFile(t, dst), data) {
		t.Error("the imported database differs")
	}

	// Damaged bundles: the installed database stays.
	raw := testutil.ReadFile(t, bundle)
	flipped := bytes.Clone(raw)
	flipped[len(flipped)-2048] ^= 1 // inside the database, the last member
	for name, b := range map[string][]byte{"flipped": flipped, "truncated": raw[:len(raw)/2], "empty": nil, "bare database": data} {
		bad := filepath.Join(dir, name)
		os.WriteFile(bad, b, 0o644)
		if _, err := Import(bad, dst, publisher.Verifier, ""); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("%s: %v", name, err)
		}
		if !bytes.Equal(testutil.ReadFile(t, dst), data) {
			t.Fatalf("%s: a refused import changed the database", name)
		}
	}

	// A database built here has no signature: export signs it with --key.
	local := filepath.Join(dir, "local.bwdb")
	previous(t, local)
	if _, err := Export(ctx, local, filepath.Join(dir, "x.tar"), nil); err == nil || !strings.Contains(err.Error(), "--key") {
		t.Errorf("unsigned export: %v", err)
	}
	if _, err := Export(ctx, local, filepath.Join(dir, "own.tar"), stranger.Signer); err != nil {
		t.Fatal(err)
	}
	if _, err := Import(filepath.Join(dir, "own.tar"), dst, stranger.Verifier, ""); err != nil {
		t.Errorf("import of a bundle signed with your own key: %v", err)
	}
}

// FuzzImportBundle feeds arbitrary bundles to the reader and the
// signature check: an error, never a panic or a hang.
func FuzzImportBundle(f *testing.F) {
	dir := f.TempDir()
	// A key without cosign's scrypt encryption: workers start fast.
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	sv, err := signature.LoadECDSASignerVerifier(priv, crypto.SHA256)
	if err != nil {
		f.Fatal(err)
	}
	verifier, err := sign.VerifierFromPublicKey("fuzz", &priv.PublicKey)
	if err != nil {
		f.Fatal(err)
	}
	db := filepath.Join(dir, "v.bwdb")
	previous(f, db)
	bundle := filepath.Join(dir, "b.tar")
	if _, err := Export(context.Background(), db, bundle, &sign.Signer{Ref: "fuzz", Signer: sv}); err != nil {
		f.Fatal(err)
	}
	f.Add(testutil.ReadFile(f, bundle))
	f.Add([]byte{})
	out := filepath.Join(dir, "out.bwdb")
	f.Fuzz(func(t *testing.T, data []byte) {
		sig, sha, size, err := readBundle(bytes.NewReader(data), out)
		if err == nil {
			_ = sig.Check(verifier, sha, size)
		}
	})
}

func TestPrepareWithoutDatabase(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "vulndb.bwdb")
	k := testkey.New(t, dir, "k")
	o := PrepareOptions{Update: Options{DB: path, Key: k.Verifier, Repositories: []string{testutil.ClosedPort(t) + "/bulwark-db"}, Registry: insecureClient(t)}}
	for _, offline := range []bool{false, true} {
		o.Offline = offline
		_, _, err := Prepare(context.Background(), o)
		var nd *NoDatabaseError
		if !errors.As(err, &nd) {
			t.Fatalf("offline=%v: %v, want a NoDatabaseError", offline, err)
		}
		msg := err.Error()
		for _, want := range []string{"--db-repository", "bulwark db import FILE", "--scanners secret,misconfig"} {
			if !strings.Contains(msg, want) {
				t.Errorf("offline=%v: %q lacks %q", offline, msg, want)
			}
		}
		if strings.Contains(msg, "db update") {
			t.Errorf("offline=%v: %q recommends the command that failed", offline, msg)
		}
	}

	// An old database and no network: a warning, or an error with the
	// fail policy.
	previous(t, path)
	o.Offline = false
	o.Now = func() time.Time { return time.Now().Add(10 * 24 * time.Hour) }
	db, warnings, err := Prepare(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if len(warnings) != 2 || !strings.Contains(warnings[1], "10 days ago") {
		t.Errorf("warnings %q", warnings)
	}
	o.Stale = StaleFail
	if _, _, err := Prepare(context.Background(), o); err == nil || !strings.Contains(err.Error(), "stale policy is fail") || !strings.Contains(err.Error(), "db import") {
		t.Errorf("stale fail: %v", err)
	}
}

// insecureClient is registry access with plain HTTP allowed.
func insecureClient(t *testing.T) *registry.Client {
	t.Helper()
	c, err := registry.Settings{Insecure: true}.Client()
	if err != nil {
		t.Fatal(err)
	}
	return c
}
