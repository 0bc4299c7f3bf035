package rust

import "testing"

func TestCargoLock(t *testing.T) {
	lock := "version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\n\n[[package]]\nname = \"serde\"\nversion = \"1.0.197\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n"
	pkgs, err := ParseCargoLock([]byte(lock))
	if err != nil || len(pkgs) != 1 || pkgs[0].Name != "serde" || pkgs[0].Version != "1.0.197" {
		t.Errorf("%+v %v", pkgs, err)
	}
	if _, err := ParseCargoLock([]byte("[[package]\n")); err == nil {
		t.Error("broken Cargo.lock accepted")
	}
}

func FuzzCargoLock(f *testing.F) {
	f.Add([]byte("[[package]]\nname = \"a\"\nversion = \"1\"\nsource = \"x\"\n"))
	f.Fuzz(func(t *testing.T, b []byte) { ParseCargoLock(b) }) //nolint:errcheck // must not panic
}
