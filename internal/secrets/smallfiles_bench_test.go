package secrets

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkScanSmallFiles scans 1,000 JavaScript-like files of 100 to 1,500
// bytes (the shape of node_modules, bench/scaling) one at a time through
// ScanReader, as the image walk does; it reports MB/s of content.
func BenchmarkScanSmallFiles(b *testing.B) {
	eng, err := DefaultEngine()
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(18, 1))
	words := []string{"const", "return", "function", "value", "options", "this", "if", "=>", "null", "module.exports", "require('./m01')"}
	files := make([][]byte, 1000)
	total := 0
	for i := range files {
		size := 100 + r.IntN(1400)
		f := fmt.Appendf(nil, "'use strict';\n// pkg-%06d module %d\n", i/40, i%40)
		for len(f) < size {
			f = append(f, words[r.IntN(len(words))]...)
			if r.IntN(8) == 0 {
				f = append(f, ";\n"...)
			} else {
				f = append(f, ' ')
			}
		}
		files[i] = f
		total += len(f)
	}
	buf := make([]byte, BufferSize)
	b.SetBytes(int64(total))
	for b.Loop() {
		for _, f := range files {
			if _, err := eng.ScanReader("app/node_modules/lib/m.js", bytes.NewReader(f), buf, true); err != nil {
				b.Fatal(err)
			}
		}
	}
}
