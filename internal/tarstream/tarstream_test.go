package tarstream

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// entry is what a reader gives for one entry, for comparison.
type entry struct {
	hdr     Header
	content string
	err     string
}

// oracle reads r with archive/tar, reading the content of every other
// entry (the rest is skipped), as entries; a sparse entry ends it with
// ErrSparse.
func oracle(b []byte) []entry {
	tr := tar.NewReader(bytes.NewReader(b))
	var out []entry
	for i := 0; ; i++ {
		h, err := tr.Next()
		if err != nil {
			return append(out, entry{err: errString(err)})
		}
		if isSparse(h) {
			return append(out, entry{err: ErrSparse.Error()})
		}
		e := entry{hdr: Header{Name: h.Name, Linkname: h.Linkname, Typeflag: h.Typeflag, Mode: h.FileInfo().Mode(),
			Size: h.Size, Uid: h.Uid, Gid: h.Gid}}
		if i%2 == 0 {
			c, err := io.ReadAll(tr)
			e.content = string(c)
			if err != nil {
				e.err = errString(err)
				return append(out, e)
			}
		}
		out = append(out, e)
	}
}

// ours reads b as oracle does, with tr (fed so that its buffer refills at
// odd places).
func ours(tr *Reader) []entry {
	var out []entry
	for i := 0; ; i++ {
		h, err := tr.Next()
		if err != nil {
			if errors.Is(err, ErrSparse) {
				err = ErrSparse
			}
			return append(out, entry{err: errString(err)})
		}
		e := entry{hdr: *h}
		if i%2 == 0 {
			c, err := io.ReadAll(tr)
			e.content = string(c)
			if err != nil {
				e.err = errString(err)
				return append(out, e)
			}
		}
		out = append(out, e)
	}
}

// reusedChunks yields b in chunks of uneven sizes (most cutting a block
// in two), copied into one buffer that it scribbles over before each, as a
// source that reuses its memory may; the last chunk comes with io.EOF.
type reusedChunks struct {
	b   []byte
	buf [1500]byte
	i   int
}

func (c *reusedChunks) Next() ([]byte, error) {
	sizes := [...]int{700, 1, 511, 1500, 513, 0, 1024}
	n := min(sizes[c.i%len(sizes)], len(c.b))
	c.i++
	for i := range c.buf {
		c.buf[i] = 0xAA
	}
	chunk := c.buf[:copy(c.buf[:], c.b[:n])]
	c.b = c.b[n:]
	if len(c.b) == 0 {
		return chunk, io.EOF
	}
	return chunk, nil
}

func errString(err error) string {
	if err == io.EOF {
		return "EOF"
	}
	return err.Error()
}

func compare(t *testing.T, b []byte) {
	t.Helper()
	want := oracle(b)
	for _, tr := range []*Reader{NewReader(bytes.NewReader(b)), NewReader(iotest.OneByteReader(bytes.NewReader(b))),
		NewReader(iotest.DataErrReader(iotest.HalfReader(bytes.NewReader(b)))), NewChunkReader(&reusedChunks{b: b})} {
		got := ours(tr)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("archive/tar gives\n%+v\ntarstream gives\n%+v", want, got)
		}
	}
}

// seeds are archives of the shapes layers hold, in every format
// archive/tar writes.
func seeds(t testing.TB) [][]byte {
	long := strings.Repeat("node_modules/pkg-abcdef/", 8) + "index.js"
	var out [][]byte
	for _, f := range []tar.Format{tar.FormatUSTAR, tar.FormatPAX, tar.FormatGNU} {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		add := func(h *tar.Header, body string) {
			h.Format = f
			h.ModTime = time.Unix(1700000000, 0)
			if h.Typeflag == tar.TypeReg {
				h.Size = int64(len(body))
			}
			if err := tw.WriteHeader(h); err != nil {
				if f != tar.FormatUSTAR {
					t.Fatal(err)
				}
				return // USTAR cannot hold it
			}
			if _, err := tw.Write([]byte(body)); err != nil {
				t.Fatal(err)
			}
		}
		add(&tar.Header{Typeflag: tar.TypeDir, Name: "app/", Mode: 0o755}, "")
		add(&tar.Header{Typeflag: tar.TypeReg, Name: "app/a.js", Mode: 0o4755, Uid: 1000, Gid: 1000}, "console.log(1)\n")
		add(&tar.Header{Typeflag: tar.TypeReg, Name: "app/empty", Mode: 0o600}, "")
		add(&tar.Header{Typeflag: tar.TypeReg, Name: "app/big", Mode: 0o644}, strings.Repeat("x", 1500))
		add(&tar.Header{Typeflag: tar.TypeSymlink, Name: "app/link", Linkname: "a.js", Mode: 0o777}, "")
		add(&tar.Header{Typeflag: tar.TypeLink, Name: "app/hard", Linkname: "app/a.js"}, "")
		add(&tar.Header{Typeflag: tar.TypeReg, Name: long, Mode: 0o644}, "long name")
		add(&tar.Header{Typeflag: tar.TypeSymlink, Name: "app/longlink", Linkname: long, Mode: 0o777}, "")
		add(&tar.Header{Typeflag: tar.TypeReg, Name: "app/ünï", Mode: 0o644}, "utf-8")
		add(&tar.Header{Typeflag: tar.TypeReg, Name: "app/.wh.gone", Mode: 0o644}, "")
		add(&tar.Header{Typeflag: tar.TypeChar, Name: "dev/null", Devmajor: 1, Devminor: 3, Mode: 0o666}, "")
		add(&tar.Header{Typeflag: tar.TypeFifo, Name: "run/fifo", Mode: 0o644}, "")
		add(&tar.Header{Typeflag: tar.TypeReg, Name: "app/big-uid", Uid: 1 << 22, Mode: 0o644}, "b")
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		out = append(out, buf.Bytes())
	}
	return out
}

func TestSameAsArchiveTar(t *testing.T) {
	for _, b := range seeds(t) {
		compare(t, b)
		// Truncated anywhere, and with trailing garbage.
		for _, n := range []int{0, 1, 511, 512, 700, 1024, 1536, len(b) / 2, len(b) - 1024, len(b) - 1} {
			compare(t, b[:n])
		}
		compare(t, append(append([]byte{}, b...), 1, 2, 3))
	}
}

func TestTypeRegAAndSparse(t *testing.T) {
	// A legacy entry (type NUL) with a trailing slash is a directory.
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "old", Mode: 0o755, Format: tar.FormatUSTAR}); err != nil {
		t.Fatal(err)
	}
	tw.Close()
	b := buf.Bytes()
	b[3], b[156] = '/', 0
	fixChecksum(b[:512])
	compare(t, b)
	if got := ours(NewReader(bytes.NewReader(b))); got[0].hdr.Typeflag != tar.TypeDir {
		t.Fatalf("got %+v, want a directory", got[0])
	}
	// An old GNU sparse entry is refused.
	b[156] = tar.TypeGNUSparse
	copy(b[257:], "ustar  \x00")
	fixChecksum(b[:512])
	if got := ours(NewReader(bytes.NewReader(b))); !strings.Contains(got[0].err, "sparse") {
		t.Fatalf("got %+v, want the sparse refusal", got)
	}
	compare(t, b)
}

func fixChecksum(b []byte) {
	copy(b[148:156], "        ")
	var s int
	for _, c := range b {
		s += int(c)
	}
	copy(b[148:156], fmt.Sprintf("%06o\x00 ", s))
}

// FuzzSameAsArchiveTar: tarstream gives archive/tar's headers, content and
// errors for any input (sparse entries aside, which it refuses).
func FuzzSameAsArchiveTar(f *testing.F) {
	for _, b := range seeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		compare(t, b)
	})
}

// TestMutatedHeaders compares the readers on the start of every seed with
// each byte of its first two blocks replaced by values that test the
// parsers' edges.
func TestMutatedHeaders(t *testing.T) {
	for _, b := range seeds(t) {
		b = b[:min(len(b), 3*512)]
		m := make([]byte, len(b))
		for i := range min(len(b), 2*512) {
			for _, v := range []byte{0, ' ', '7', '8', '/', 'x', 'g', 'L', 0x80, 0xff} {
				copy(m, b)
				m[i] = v
				want := oracle(m)
				if got := ours(NewReader(bytes.NewReader(m))); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("byte %d = %#x: archive/tar gives\n%+v\ntarstream gives\n%+v", i, v, want, got)
				}
			}
		}
	}
}

func TestChecksum(t *testing.T) {
	b := make([]byte, blockSize)
	for _, fill := range []func(i int) byte{
		func(int) byte { return 0xff },
		func(i int) byte { return byte(i * 7) },
		func(int) byte { return 0 },
	} {
		var want int64
		for i := range b {
			b[i] = fill(i)
			if i >= offChksum && i < offChksum+lenChksum {
				want += ' '
			} else {
				want += int64(b[i])
			}
		}
		if got := checksum(b); got != want {
			t.Errorf("checksum = %d, want %d", got, want)
		}
	}
}
