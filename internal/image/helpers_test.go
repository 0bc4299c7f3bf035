package image_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

func hexSHA(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	return gzBytes(b)
}

func gzBytes(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b) //nolint:errcheck // writes to memory
	w.Close()
	return buf.Bytes()
}

// halve returns the first half of b (a truncated stream).
func halve(b []byte) []byte { return b[: len(b)/2 : len(b)/2] }

// noise returns n bytes of incompressible-enough text.
func noise(n int) string {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = "0123456789abcdef"[x%16]
	}
	return string(b)
}
