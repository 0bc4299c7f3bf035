// Package source reads advisory sources (OSV and GHSA records, NVD CVE API
// 2.0, the Debian security tracker, Alpine secdb, CISA KEV, EPSS) into the
// vulndb advisory model. Every parser takes untrusted bytes: bad input is
// an error or a skipped record, never a panic.
package source

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// MaxFileSize bounds one file read from a source (a record, a feed, an
// archive member), so that a hostile archive cannot exhaust memory.
const MaxFileSize = 1 << 30

// maxRecordSize bounds one OSV record inside a directory or archive.
const maxRecordSize = 32 << 20

// File is one file of a source.
type File struct {
	// Name is the file's path, inside the archive for archive members.
	Name string
	Data []byte
}

// isRecordName reports whether a file name looks like an OSV record.
func isRecordName(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".json", ".yaml", ".yml":
		return true
	}
	return false
}

// WalkRecords calls fn for every OSV record file under path: a directory
// (searched recursively for .json, .yaml and .yml files), a .zip (as
// osv.dev publishes ECOSYSTEM/all.zip), a .tar.gz/.tgz, or a single file.
// It stops at the first error fn returns.
func WalkRecords(path string, fn func(File) error) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("advisory source %s: %w", path, err)
	}
	if st.IsDir() {
		return filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return fmt.Errorf("advisory source %s: %w", path, err)
			}
			if d.IsDir() || !d.Type().IsRegular() || !isRecordName(p) {
				return nil
			}
			data, err := readFile(p, maxRecordSize)
			if err != nil {
				return fmt.Errorf("advisory source %s: %w", p, err)
			}
			rel, _ := filepath.Rel(path, p)
			return fn(File{Name: filepath.ToSlash(rel), Data: data})
		})
	}
	data, err := readFile(path, MaxFileSize)
	if err != nil {
		return fmt.Errorf("advisory source %s: %w", path, err)
	}
	return WalkRecordBytes(filepath.Base(path), data, fn)
}

// WalkRecordBytes is WalkRecords for the content of one file: a zip, a
// gzipped tar, or a single record (or JSON array of records).
func WalkRecordBytes(name string, data []byte, fn func(File) error) error {
	switch {
	case bytes.HasPrefix(data, []byte("PK\x03\x04")) || bytes.HasPrefix(data, []byte("PK\x05\x06")):
		return walkZip(name, data, fn)
	case bytes.HasPrefix(data, []byte{0x1f, 0x8b}):
		plain, err := gunzip(data)
		if err != nil {
			return fmt.Errorf("advisory source %s: %w", name, err)
		}
		if isTar(plain) {
			return walkTar(name, plain, fn)
		}
		return fn(File{Name: strings.TrimSuffix(name, ".gz"), Data: plain})
	case isTar(data):
		return walkTar(name, data, fn)
	case looksLikeHTML(data):
		return fmt.Errorf("advisory source %s is an HTML page, not advisory data: check the URL or proxy that served it", name)
	}
	return fn(File{Name: name, Data: data})
}

func walkZip(name string, data []byte, fn func(File) error) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return fmt.Errorf("advisory source %s: not a valid zip archive (%v): download it again", name, err)
	}
	files := append([]*zip.File(nil), zr.File...)
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	for _, f := range files {
		if f.FileInfo().IsDir() || !isRecordName(f.Name) {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return fmt.Errorf("advisory source %s: member %s: %v", name, f.Name, err)
		}
		b, err := readAllLimit(rc, maxRecordSize)
		rc.Close()
		if err != nil {
			return fmt.Errorf("advisory source %s: member %s: %v: the archive is damaged, download it again", name, f.Name, err)
		}
		if err := fn(File{Name: f.Name, Data: b}); err != nil {
			return err
		}
	}
	return nil
}

func walkTar(name string, data []byte, fn func(File) error) error {
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("advisory source %s: %v: the archive is damaged", name, err)
		}
		if h.Typeflag != tar.TypeReg || !isRecordName(h.Name) {
			continue
		}
		b, err := readAllLimit(tr, maxRecordSize)
		if err != nil {
			return fmt.Errorf("advisory source %s: member %s: %v", name, h.Name, err)
		}
		if err := fn(File{Name: h.Name, Data: b}); err != nil {
			return err
		}
	}
}

func isTar(b []byte) bool { return len(b) >= 262 && string(b[257:262]) == "ustar" }

// looksLikeHTML reports whether data is an HTML page (an error page, a
// captive portal) rather than advisory data.
func looksLikeHTML(b []byte) bool {
	b = bytes.TrimSpace(b)
	if len(b) > 512 {
		b = b[:512]
	}
	l := bytes.ToLower(b)
	return bytes.HasPrefix(l, []byte("<!doctype html")) || bytes.HasPrefix(l, []byte("<html")) ||
		(bytes.HasPrefix(l, []byte("<")) && bytes.Contains(l, []byte("<body")))
}

// Open reads a single-file source (NVD, Debian tracker, Alpine secdb, KEV,
// EPSS), decompressing it when it is gzipped.
func Open(path string) ([]byte, error) {
	data, err := readFile(path, MaxFileSize)
	if err != nil {
		return nil, err
	}
	return Decompress(path, data)
}

// Decompress returns data, gunzipped when it starts with the gzip magic.
func Decompress(name string, data []byte) ([]byte, error) {
	if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		plain, err := gunzip(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return plain, nil
	}
	return data, nil
}

func gunzip(data []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("bad gzip data: %w", err)
	}
	b, err := readAllLimit(zr, MaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("bad gzip data: %w", err)
	}
	return b, nil
}

func readFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAllLimit(f, limit)
}

var errTooLarge = errors.New("file too large")

func readAllLimit(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w (more than %d bytes)", errTooLarge, limit)
	}
	return b, nil
}
