package inventory

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// FuzzDecodeEntry feeds damaged cache entries to the decoder: it must
// refuse them (or accept only well-formed ones), never panic.
func FuzzDecodeEntry(f *testing.F) {
	body := []byte(`{"format":"` + cacheFormat + `","key":"k","results":[{"layer":0,"path":"p","analyzer":"a","Packages":[{"name":"x","version":"1","ecosystem":"npm","type":"lang","purl":"","locations":null}],"added":[0]}]}`)
	sum := sha256.Sum256(body)
	f.Add(append([]byte(hex.EncodeToString(sum[:])+"\n"), body...))
	f.Add([]byte("0000\n{}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := decodeEntry(b, "k", 0)
		if err != nil {
			return
		}
		for _, r := range rs {
			if r.Layer != 0 || len(r.Added) != len(r.Packages) {
				t.Fatalf("accepted an impossible result: %+v", r)
			}
		}
	})
}
