package image

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/bulwark-sec/bulwark/internal/tarstream"
)

// Limits on metadata read from untrusted sources.
const (
	// maxMetadataSize bounds a manifest, index or config document, each
	// read into memory and parsed once. A config with 100,000 history
	// entries (a generated Dockerfile of ENV lines) is about 11 MB: such
	// an image is read, and every later step is linear in its history.
	maxMetadataSize = 64 << 20
	maxArchiveFiles = 1 << 20 // entries in an archive's top-level tar
	maxLayers       = 4096
)

// store reads named files (manifest.json, blobs/sha256/...) from an archive
// or a directory.
type store interface {
	open(name string) (io.ReadCloser, int64, error)
}

// readAll reads a small metadata file from the store, bounded in size.
func readAll(s store, name string) ([]byte, error) {
	rc, size, err := s.open(name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if size > maxMetadataSize {
		return nil, fmt.Errorf("%s is %d bytes, more than the %d allowed for image metadata", name, size, maxMetadataSize)
	}
	b, err := io.ReadAll(io.LimitReader(rc, maxMetadataSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(b) > maxMetadataSize {
		return nil, fmt.Errorf("%s is larger than the %d bytes allowed for image metadata", name, maxMetadataSize)
	}
	return b, nil
}

// tarStore indexes the entries of an uncompressed tar file (a docker or OCI
// archive) by name and serves them as sections of the file.
type tarStore struct {
	f     *os.File
	files map[string]section
}

type section struct{ off, size int64 }

// errNotTar is returned when the archive is not a tar file at all.
var errNotTar = errors.New("not a tar archive")

func openTarStore(file string) (*tarStore, error) {
	// Non-blocking, so that a FIFO without a writer cannot hang the open;
	// anything but a regular file is refused before it is read.
	f, err := os.OpenFile(file, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	switch m := st.Mode(); {
	case m.IsDir():
		f.Close()
		return nil, fmt.Errorf("is a directory, not an archive file (name an OCI layout directory as the image, without --input, or rootfs:%s for a root filesystem)", file)
	case !m.IsRegular():
		f.Close()
		return nil, fmt.Errorf("is not a regular file but a %s; bulwark reads image archives from regular files (save the stream to a file first)", fileType(m))
	}
	magic := make([]byte, 4)
	if n, _ := io.ReadFull(f, magic); n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		f.Close()
		return nil, fmt.Errorf("is gzip-compressed; decompress it first (gunzip), bulwark reads the tar that docker save or an OCI archive export writes")
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	ts := &tarStore{f: f, files: map[string]section{}}
	tr := tar.NewReader(f)
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			if n == 0 {
				f.Close()
				return nil, errNotTar
			}
			break
		}
		if err != nil {
			f.Close()
			if n == 0 {
				return nil, errNotTar
			}
			return nil, fmt.Errorf("reading archive entry %d: %w (the file is truncated or corrupt)", n, err)
		}
		if n >= maxArchiveFiles {
			f.Close()
			return nil, fmt.Errorf("more than %d entries; this is not an image archive", maxArchiveFiles)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		off, err := f.Seek(0, io.SeekCurrent)
		if err != nil {
			f.Close()
			return nil, err
		}
		if off+hdr.Size > st.Size() {
			f.Close()
			return nil, fmt.Errorf("entry %q runs past the end of the file (truncated archive)", hdr.Name)
		}
		ts.files[cleanArchiveName(hdr.Name)] = section{off: off, size: hdr.Size}
	}
	return ts, nil
}

func cleanArchiveName(n string) string {
	return strings.TrimPrefix(path.Clean("/"+n), "/")
}

func (ts *tarStore) has(name string) bool {
	_, ok := ts.files[cleanArchiveName(name)]
	return ok
}

func (ts *tarStore) open(name string) (io.ReadCloser, int64, error) {
	s, ok := ts.files[cleanArchiveName(name)]
	if !ok {
		return nil, 0, fmt.Errorf("%s is missing from the archive", name)
	}
	return io.NopCloser(io.NewSectionReader(ts.f, s.off, s.size)), s.size, nil
}

func (ts *tarStore) Close() error { return ts.f.Close() }

// dirStore serves files below a directory (an OCI layout). Names that leave
// the directory and files that are not regular files are refused.
type dirStore struct{ root string }

func (d dirStore) open(name string) (io.ReadCloser, int64, error) {
	clean := cleanArchiveName(name)
	if clean != path.Clean(name) || strings.HasPrefix(clean, "..") {
		return nil, 0, fmt.Errorf("%s: refusing a path outside the layout", name)
	}
	p := filepath.Join(d.root, filepath.FromSlash(clean))
	st, err := os.Lstat(p)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, 0, fmt.Errorf("%s is missing from the layout", name)
		}
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("%s is not a regular file", name)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// verifier checks, as the stream is read, that the bytes have the expected
// sha256 digest (and size, when known). The mismatch is reported at EOF, so
// a reader must be drained to be trusted.
type verifier struct {
	r     io.Reader
	check *digestCheck
}

func newVerifier(r io.Reader, digest string, size int64, what string) (io.Reader, error) {
	c, err := newDigestCheck(digest, size, what)
	if err != nil {
		return nil, err
	}
	return &verifier{r: r, check: c}, nil
}

func (v *verifier) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	return n, v.check.add(p[:n], err)
}

// verifiedChunks is verifier for a tarstream.Chunks.
type verifiedChunks struct {
	c     tarstream.Chunks
	check *digestCheck
}

func (v verifiedChunks) Next() ([]byte, error) {
	b, err := v.c.Next()
	return b, v.check.add(b, err)
}

// digestCheck hashes the bytes of a blob in order and, at its end,
// compares them with the blob's sha256 digest and size (when known).
type digestCheck struct {
	h        hash.Hash
	want     string
	wantSize int64
	n        int64
	what     string
}

func newDigestCheck(digest string, size int64, what string) (*digestCheck, error) {
	alg, hexPart, ok := strings.Cut(digest, ":")
	if !ok || alg != "sha256" || len(hexPart) != 64 {
		return nil, fmt.Errorf("%s: unsupported or malformed digest %q (only sha256 is supported)", what, digest)
	}
	return &digestCheck{h: sha256.New(), want: hexPart, wantSize: size, what: what}, nil
}

// add hashes the next bytes of the blob, read with err, and returns err
// or what is wrong with the blob.
func (c *digestCheck) add(p []byte, err error) error {
	c.h.Write(p)
	c.n += int64(len(p))
	if c.wantSize >= 0 && c.n > c.wantSize {
		return fmt.Errorf("%s: more than the %d bytes its descriptor declares", c.what, c.wantSize)
	}
	if err == io.EOF {
		if c.wantSize >= 0 && c.n != c.wantSize {
			return fmt.Errorf("%s: %d bytes, its descriptor declares %d (truncated)", c.what, c.n, c.wantSize)
		}
		if got := hex.EncodeToString(c.h.Sum(nil)); got != c.want {
			return fmt.Errorf("%s: digest mismatch: content is sha256:%s, expected sha256:%s", c.what, got, c.want)
		}
	}
	return err
}

// peekReader lets the decompressor look at the magic bytes.
func peekReader(r io.Reader) *bufio.Reader { return bufio.NewReaderSize(r, 256<<10) }

// fileType names a file mode that is not a regular file or a directory.
func fileType(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "named pipe (FIFO)"
	case m&os.ModeCharDevice != 0:
		return "character device"
	case m&os.ModeDevice != 0:
		return "block device"
	case m&os.ModeSocket != 0:
		return "socket"
	}
	return "special file"
}
