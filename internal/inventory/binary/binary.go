// Package binary reads what compilers embed in executables: the build
// information of Go binaries (module path and version, every dependency,
// and the toolchain as "stdlib") and the dependency list that
// cargo-auditable puts in Rust binaries (the .dep-v0 section).
//
// Executables up to inMemory bytes are read whole and parsed with
// debug/buildinfo and debug/elf; larger ones are streamed once, looking for
// the Go build information header, so that a 200 MB binary costs no more
// memory than a small one.
package binary

import (
	"bytes"
	"compress/zlib"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/bulwark-sec/bulwark/internal/inventory"
)

const (
	// inMemory is the largest executable read whole.
	inMemory = 16 << 20
	// minSize skips tiny files (scripts, stubs) at once.
	minSize = 4 << 10
	// maxInfo bounds the version and module strings of the build info.
	maxInfo = 4 << 20
	// maxAuditable bounds the inflated cargo-auditable JSON.
	maxAuditable = 8 << 20
)

var (
	elfMagic   = []byte("\x7fELF")
	buildMagic = []byte("\xff Go buildinf:")
	depSection = []byte(".dep-v0")
)

// wholeBufs holds the buffers executables are read into (at most inMemory
// bytes each).
var wholeBufs sync.Pool

// Analyzer reads executables.
type Analyzer struct{}

// Name implements inventory.Analyzer.
func (Analyzer) Name() string { return "binary" }

// Version implements inventory.Analyzer.
func (Analyzer) Version() int { return 1 }

// Modes implements inventory.Analyzer.
func (Analyzer) Modes() inventory.Mode { return inventory.ModeImage | inventory.ModeTree }

// Want implements inventory.Analyzer: executable regular files.
func (Analyzer) Want(p string, size int64, mode fs.FileMode) bool {
	return mode&0o111 != 0 && size >= minSize && !strings.HasPrefix(p, "usr/share/") && !strings.HasSuffix(p, ".sh")
}

// Analyze implements inventory.Analyzer.
func (Analyzer) Analyze(_ context.Context, f *inventory.File) (*inventory.Result, error) {
	head := make([]byte, 4)
	if _, err := io.ReadFull(f.R, head); err != nil || !bytes.Equal(head, elfMagic) {
		return nil, nil
	}
	if f.Data != nil {
		return analyzeWhole(f.Data)
	}
	if f.Size <= inMemory {
		// A buffer of the size the entry gives (no growth copies),
		// reused from file to file: the packages found hold no part of it.
		bp, _ := wholeBufs.Get().(*[]byte)
		if bp == nil || int64(cap(*bp)) < f.Size {
			nb := make([]byte, f.Size)
			bp = &nb
		}
		defer wholeBufs.Put(bp)
		b := (*bp)[:f.Size]
		copy(b, head)
		if _, err := io.ReadFull(f.R, b[len(head):]); err != nil {
			return nil, err
		}
		return analyzeWhole(b)
	}
	return analyzeStream(io.MultiReader(bytes.NewReader(head), f.R))
}

// analyzeWhole parses an executable held in memory. Most executables
// are neither Go nor cargo-auditable binaries: without the Go build info
// header and the name of the .dep-v0 section anywhere in their bytes,
// they are passed over without parsing their headers.
func analyzeWhole(b []byte) (*inventory.Result, error) {
	goInfo := bytes.Contains(b, buildMagic)
	if !goInfo && !bytes.Contains(b, depSection) {
		return nil, nil
	}
	if !goInfo {
		return auditable(b)
	}
	bi, err := buildinfo.Read(bytes.NewReader(b))
	if err == nil {
		return &inventory.Result{Packages: GoPackages(bi)}, nil
	}
	// A Go binary whose build info debug/buildinfo cannot read (a damaged
	// section table, say): the stream parser needs none.
	res, serr := analyzeStream(bytes.NewReader(b))
	if serr == nil && res != nil {
		return res, nil
	}
	if serr != nil {
		return nil, serr
	}
	return auditable(b)
}

// auditable reads the cargo-auditable dependency list of an executable
// held in memory, if it has one.
func auditable(b []byte) (*inventory.Result, error) {
	ef, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return nil, nil
	}
	defer ef.Close()
	sec := ef.Section(".dep-v0")
	if sec == nil {
		return nil, nil
	}
	pkgs, err := Auditable(sec.Open())
	if err != nil {
		return nil, fmt.Errorf("cargo-auditable dependency list unreadable: %v", err)
	}
	return &inventory.Result{Packages: pkgs}, nil
}

// analyzeStream reads an executable once, looking for the Go build info
// header and parsing the inline format (Go 1.18 and later).
func analyzeStream(r io.Reader) (*inventory.Result, error) {
	const chunk = 1 << 20
	buf := make([]byte, 0, 2*chunk)
	var off int64 // file offset of buf[0]
	eof := false
	fill := func(n int) error {
		for !eof && len(buf) < n {
			if cap(buf)-len(buf) < chunk {
				nb := make([]byte, len(buf), len(buf)+2*chunk)
				copy(nb, buf)
				buf = nb
			}
			m, err := r.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+m]
			if err == io.EOF {
				eof = true
			} else if err != nil {
				return err
			}
		}
		return nil
	}
	var lastErr error
	for {
		if err := fill(chunk); err != nil {
			return nil, err
		}
		start := 0
		for {
			i := bytes.Index(buf[start:], buildMagic)
			if i < 0 {
				break
			}
			i += start
			start = i + 1
			if (off+int64(i))%16 != 0 {
				continue
			}
			// Make sure the whole header and strings are in the buffer.
			if len(buf)-i < 32+2*maxInfo && !eof {
				buf = append(buf[:0], buf[i:]...)
				off += int64(i)
				i, start = 0, 1
				if err := fill(32 + 2*maxInfo); err != nil {
					return nil, err
				}
			}
			bi, err := parseInline(buf[i:])
			if err == nil {
				return &inventory.Result{Packages: GoPackages(bi)}, nil
			}
			lastErr = err
		}
		if eof {
			if lastErr != nil {
				return nil, fmt.Errorf("Go build information unreadable: %v", lastErr)
			}
			return nil, nil
		}
		// Keep the tail, which may hold the start of the magic.
		keep := len(buildMagic) - 1
		if len(buf) > keep {
			off += int64(len(buf) - keep)
			buf = append(buf[:0], buf[len(buf)-keep:]...)
		}
	}
}

// errPointerFormat marks build info in the pre-Go-1.18 layout, which needs
// the executable's address map.
var errPointerFormat = errors.New("built with Go before 1.18 (build info in pointer format, read only for executables up to 16 MiB)")

// parseInline parses the build info header and strings at the start of b.
func parseInline(b []byte) (*debug.BuildInfo, error) {
	if len(b) < 32 {
		return nil, errors.New("truncated header")
	}
	ptrSize, flags := b[14], b[15]
	if ptrSize != 4 && ptrSize != 8 {
		return nil, fmt.Errorf("bad pointer size %d", ptrSize)
	}
	if flags&2 == 0 {
		return nil, errPointerFormat
	}
	rest := b[32:]
	vers, rest, err := varString(rest)
	if err != nil {
		return nil, fmt.Errorf("toolchain version: %w", err)
	}
	mod, _, err := varString(rest)
	if err != nil {
		return nil, fmt.Errorf("module information: %w", err)
	}
	if !strings.HasPrefix(vers, "go") && !strings.HasPrefix(vers, "devel") {
		return nil, fmt.Errorf("toolchain version %q is not a Go version", vers)
	}
	if len(mod) >= 33 && mod[len(mod)-17] == '\n' {
		mod = mod[16 : len(mod)-16]
	} else {
		mod = ""
	}
	bi, err := debug.ParseBuildInfo(mod)
	if err != nil {
		return nil, err
	}
	bi.GoVersion = vers
	return bi, nil
}

func varString(b []byte) (string, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > maxInfo || uint64(len(b)-k) < n {
		return "", nil, errors.New("bad length")
	}
	return string(b[k : k+int(n)]), b[k+int(n):], nil
}

// GoPackages turns build info into packages: the main module, every
// dependency (its replacement, where it has one) and the toolchain as
// "stdlib", each with the GOOS the binary was built for.
func GoPackages(bi *debug.BuildInfo) []inventory.Package {
	var pkgs []inventory.Package
	goos := ""
	for _, s := range bi.Settings {
		if s.Key == "GOOS" {
			goos = s.Value
		}
	}
	add := func(path, version string) {
		if path == "" {
			return
		}
		pkgs = append(pkgs, inventory.Package{Name: path, Version: version, Ecosystem: inventory.Go, Kind: inventory.KindLang, Platform: goos})
	}
	if bi.Main.Path != "" {
		v := bi.Main.Version
		if v == "(devel)" || v == "" {
			v = ldflagsVersion(bi)
		}
		add(bi.Main.Path, v)
	}
	for _, d := range bi.Deps {
		if d == nil {
			continue
		}
		if d.Replace != nil {
			if strings.HasPrefix(d.Replace.Path, ".") || strings.HasPrefix(d.Replace.Path, "/") {
				// Replaced by a local directory: the original path with
				// no version anyone can match.
				add(d.Path, "")
				continue
			}
			d = d.Replace
		}
		add(d.Path, d.Version)
	}
	if v := StdlibVersion(bi.GoVersion); v != "" {
		add("stdlib", v)
	}
	return pkgs
}

// StdlibVersion turns a toolchain version ("go1.22.3", "go1.21.0 X:boringcrypto",
// "go1.23rc1") into a module-style version ("v1.22.3"); "" for development
// toolchains.
func StdlibVersion(gv string) string {
	gv, _, _ = strings.Cut(strings.TrimSpace(gv), " ")
	v, ok := strings.CutPrefix(gv, "go")
	if !ok || v == "" || v[0] < '0' || v[0] > '9' {
		return ""
	}
	// go1.21rc2 -> v1.21.0-rc.2; go1.20 -> v1.20.0.
	pre := ""
	for _, tag := range []string{"rc", "beta"} {
		if i := strings.Index(v, tag); i > 0 {
			pre = "-" + tag + "." + v[i+len(tag):]
			v = v[:i]
		}
	}
	if strings.Count(v, ".") == 1 {
		v += ".0"
	}
	return "v" + v + pre
}

// ldflagsVersion finds a version set with -ldflags "-X ...version=v1.2.3",
// as release builds of many tools do, for a main module go build reports
// as "(devel)".
func ldflagsVersion(bi *debug.BuildInfo) string {
	for _, s := range bi.Settings {
		if s.Key != "-ldflags" {
			continue
		}
		fields := strings.Fields(s.Value)
		for i, f := range fields {
			arg := ""
			switch {
			case f == "-X" && i+1 < len(fields):
				arg = fields[i+1]
			case strings.HasPrefix(f, "-X="):
				arg = f[3:]
			default:
				continue
			}
			k, v, ok := strings.Cut(strings.Trim(arg, `'"`), "=")
			if !ok {
				continue
			}
			lk := strings.ToLower(k)
			if (strings.HasSuffix(lk, ".version") || strings.HasSuffix(lk, ".gitversion")) && v != "" && (v[0] == 'v' || v[0] >= '0' && v[0] <= '9') {
				if v[0] != 'v' {
					v = "v" + v
				}
				return v
			}
		}
	}
	return "(devel)"
}

// auditInfo is the JSON cargo-auditable embeds.
type auditInfo struct {
	Packages []struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		Source  string `json:"source"`
		Kind    string `json:"kind"`
	} `json:"packages"`
}

// Auditable reads a cargo-auditable .dep-v0 section (zlib-compressed
// JSON) and returns the crates that went into the binary (build-time
// dependencies left out).
func Auditable(r io.Reader) ([]inventory.Package, error) {
	zr, err := zlib.NewReader(r)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	b, err := inventory.ReadLimited(zr, maxAuditable)
	if err != nil {
		return nil, err
	}
	var info auditInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, err
	}
	var pkgs []inventory.Package
	for _, p := range info.Packages {
		if p.Name == "" || p.Version == "" || p.Kind == "build" {
			continue
		}
		pkgs = append(pkgs, inventory.Package{Name: p.Name, Version: p.Version, Ecosystem: inventory.CratesIO, Kind: inventory.KindLang})
	}
	return pkgs, nil
}
