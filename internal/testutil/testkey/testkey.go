// Package testkey makes cosign key pairs for tests: a signer, its
// verifier and the public key file, as `bulwark db push --key` and
// `--db-key` take them.
package testkey

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/sign"
)

// Password encrypts the private keys New writes.
const Password = "pw"

// Pair is a key pair made for one test.
type Pair struct {
	Signer   *sign.Signer
	Verifier *sign.Verifier
	// PubFile is the public key's PEM file (dir/NAME.pub); the private
	// key is dir/NAME.key, encrypted with Password.
	PubFile string
}

// New writes a new key pair to dir as NAME.key and NAME.pub and loads it.
func New(t testing.TB, dir, name string) Pair {
	t.Helper()
	priv, pub, err := sign.GenerateKeyPair([]byte(Password))
	if err != nil {
		t.Fatal(err)
	}
	k := Pair{PubFile: filepath.Join(dir, name+".pub")}
	privFile := filepath.Join(dir, name+".key")
	if err := os.WriteFile(privFile, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(k.PubFile, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if k.Signer, err = sign.LoadSigner(ctx, privFile, sign.StaticPass([]byte(Password))); err != nil {
		t.Fatal(err)
	}
	if k.Verifier, err = sign.LoadVerifier(ctx, k.PubFile); err != nil {
		t.Fatal(err)
	}
	return k
}
