package image

import (
	"bytes"
	"compress/gzip"
	"io"
	"math/rand"
	"testing"
)

func gzipOf(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b) //nolint:errcheck // bytes.Buffer
	w.Close()  //nolint:errcheck // bytes.Buffer
	return buf.Bytes()
}

// TestGzipReader checks whichever inflater this build uses (pure Go, or
// ISA-L with -tags isal) on data crossing its buffer sizes, multi-member
// streams, truncation and corruption.
func TestGzipReader(t *testing.T) {
	rnd := rand.New(rand.NewSource(1))
	big := make([]byte, 3<<20)
	for i := range big {
		big[i] = byte(rnd.Intn(16)) // compressible but not trivial
	}
	two := append(gzipOf(big[:1000]), gzipOf(big[1000:5000])...)
	cases := []struct {
		name    string
		in      []byte
		want    []byte
		wantErr bool
	}{
		{"empty payload", gzipOf(nil), nil, false},
		{"small", gzipOf([]byte("hello")), []byte("hello"), false},
		{"large", gzipOf(big), big, false},
		{"two members", two, big[:5000], false},
		{"truncated", gzipOf(big)[:4000], nil, true},
		{"corrupt", corrupt(gzipOf(big)), nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := newGzipReader(bytes.NewReader(tc.in))
			if err != nil {
				if tc.wantErr {
					return
				}
				t.Fatal(err)
			}
			defer r.Close()
			got, err := io.ReadAll(r)
			if tc.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("got %d bytes, want %d", len(got), len(tc.want))
			}
		})
	}
}

func corrupt(b []byte) []byte {
	c := append([]byte(nil), b...)
	for i := len(c) / 2; i < len(c)/2+64; i++ {
		c[i] ^= 0x5a
	}
	return c
}
