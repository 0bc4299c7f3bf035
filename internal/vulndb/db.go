package vulndb

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/bulwark-sec/bulwark/internal/regular"
)

// ErrCorrupt is wrapped by the errors Open and Lookup return for a file
// that is damaged or is not a bulwark database.
var ErrCorrupt = errors.New("the vulnerability database is corrupt or truncated")

// SchemaError says that a database file was written by a newer bulwark.
type SchemaError struct {
	Path string
	// Have is the file's schema version, Want the one this bulwark reads.
	Have, Want int
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("vulnerability database %s has schema version %d, but this bulwark reads schema version %d: upgrade bulwark, or run 'bulwark db update' to fetch a database for this version",
		e.Path, e.Have, e.Want)
}

// DB is an open database file. It is safe for concurrent use.
type DB struct {
	path string
	data []byte
	// unmap releases data (a no-op when it was read into memory).
	unmap func() error
	meta  Metadata

	blocks   []blockLoc
	advBlock []uint32
	advOff   []uint32
	keys     []string
	postings [][]uint32

	dec *zstd.Decoder

	mu     sync.Mutex
	cache  map[uint32][]byte
	cached int
	closed bool
}

type blockLoc struct{ off, clen, ulen uint64 }

// maxCache bounds the decompressed blocks kept in memory.
const maxCache = 64 << 20

// Open opens a database file read-only. A damaged file gives an error
// wrapping ErrCorrupt, a newer file a *SchemaError; both tell the user to
// run 'bulwark db update'.
func Open(path string) (*DB, error) {
	f, st, err := regular.Open(path)
	if err != nil {
		if errors.Is(err, regular.ErrNotRegular) {
			return nil, fmt.Errorf("vulnerability database %w: give the database file itself", err)
		}
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no vulnerability database at %s: run 'bulwark db update' (or 'bulwark db import FILE' on an air-gapped machine)", path)
		}
		return nil, fmt.Errorf("opening the vulnerability database: %w", err)
	}
	defer f.Close()
	data, unmap, err := mapFile(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("reading the vulnerability database %s: %w", path, err)
	}
	db, err := openBytes(path, data)
	if err != nil {
		_ = unmap()
		return nil, err
	}
	db.unmap = unmap
	return db, nil
}

// OpenBytes opens a database held in memory (name is used in errors).
func OpenBytes(name string, data []byte) (*DB, error) {
	db, err := openBytes(name, data)
	if err != nil {
		return nil, err
	}
	db.unmap = func() error { return nil }
	return db, nil
}

func corrupt(path, what string) error {
	return fmt.Errorf("%w: %s: %s; run 'bulwark db update' (or 'bulwark db import') to replace it", ErrCorrupt, path, what)
}

func openBytes(path string, data []byte) (*DB, error) {
	if len(data) < headerSize || string(data[:len(magic)]) != magic {
		return nil, corrupt(path, "not a bulwark vulnerability database (bad header)")
	}
	le := binary.LittleEndian
	if v := le.Uint32(data[8:]); v != SchemaVersion {
		if v > SchemaVersion {
			return nil, &SchemaError{Path: path, Have: int(v), Want: SchemaVersion}
		}
		return nil, corrupt(path, fmt.Sprintf("schema version %d is older than this bulwark's %d", v, SchemaVersion))
	}
	size := le.Uint64(data[16:])
	if size != uint64(len(data)) {
		return nil, corrupt(path, fmt.Sprintf("the file has %d bytes but should have %d (truncated or damaged)", len(data), size))
	}
	if crcOf(data[headerSize:]) != le.Uint32(data[24:]) {
		return nil, corrupt(path, "checksum mismatch")
	}
	metaOff, indexOff, blocksOff := le.Uint64(data[32:]), le.Uint64(data[40:]), le.Uint64(data[48:])
	if metaOff != headerSize || indexOff < metaOff || blocksOff < indexOff || blocksOff > size {
		return nil, corrupt(path, "bad section offsets")
	}
	db := &DB{path: path, data: data, cache: map[uint32][]byte{}}
	if err := json.Unmarshal(data[metaOff:indexOff], &db.meta); err != nil {
		return nil, corrupt(path, "bad metadata: "+err.Error())
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<30))
	if err != nil {
		return nil, err
	}
	db.dec = dec
	index, err := dec.DecodeAll(data[indexOff:blocksOff], nil)
	if err != nil {
		return nil, corrupt(path, "bad index: "+err.Error())
	}
	if err := db.parseIndex(index, size-blocksOff); err != nil {
		return nil, corrupt(path, "bad index: "+err.Error())
	}
	for i := range db.blocks {
		db.blocks[i].off += blocksOff
	}
	return db, nil
}

func (db *DB) parseIndex(b []byte, bodySize uint64) error {
	d := decoder{b: b}
	nb := d.count(3)
	db.blocks = make([]blockLoc, nb)
	for i := range db.blocks {
		bl := blockLoc{d.uint(), d.uint(), d.uint()}
		if bl.off > bodySize || bl.clen > bodySize-bl.off || bl.ulen > 1<<30 {
			return errors.New("block out of range")
		}
		db.blocks[i] = bl
	}
	na := d.count(2)
	db.advBlock = make([]uint32, na)
	db.advOff = make([]uint32, na)
	for i := 0; i < na; i++ {
		blk, off := d.uint(), d.uint()
		if blk >= uint64(nb) || off >= db.blocks[blk].ulen {
			if d.err == nil {
				return errors.New("advisory out of range")
			}
		}
		db.advBlock[i], db.advOff[i] = uint32(blk), uint32(off)
	}
	nk := d.count(2)
	db.keys = make([]string, nk)
	db.postings = make([][]uint32, nk)
	for i := 0; i < nk; i++ {
		db.keys[i] = d.str()
		np := d.count(1)
		p := make([]uint32, np)
		id := uint64(0)
		for j := range p {
			id += d.uint()
			if id >= uint64(na) {
				if d.err == nil {
					return errors.New("posting out of range")
				}
				break
			}
			p[j] = uint32(id)
		}
		db.postings[i] = p
		if i > 0 && db.keys[i] <= db.keys[i-1] && d.err == nil {
			return errors.New("keys out of order")
		}
	}
	return d.err
}

// Close releases the file. Lookups after Close fail.
func (db *DB) Close() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return nil
	}
	db.closed = true
	db.cache = nil
	db.dec.Close()
	return db.unmap()
}

// Path returns the file the database was opened from.
func (db *DB) Path() string { return db.path }

// Metadata returns what the database was built from and when.
func (db *DB) Metadata() Metadata { return db.meta }

// Age returns how long ago the database was built.
func (db *DB) Age(now time.Time) time.Duration { return now.Sub(db.meta.BuiltAt) }

// Lookup returns every advisory about a package, each with only the
// Affected entries of that package. The ecosystem is an OSV ecosystem name
// ("Go", "PyPI", "Debian:12", "Alpine:v3.19", ...) and the name is
// normalized for it (NormalizeName), so callers may pass names as found.
// An unknown ecosystem or package gives no advisories and no error; an
// error means the database is damaged.
func (db *DB) Lookup(ecosystem, name string) ([]Advisory, error) {
	eco, _ := NormalizeEcosystem(ecosystem)
	pkg := NormalizeName(eco, name)
	k := key(eco, pkg)
	i := sort.SearchStrings(db.keys, k)
	if i == len(db.keys) || db.keys[i] != k {
		return nil, nil
	}
	out := make([]Advisory, 0, len(db.postings[i]))
	for _, id := range db.postings[i] {
		a, err := db.advisory(id)
		if err != nil {
			return nil, err
		}
		kept := a.Affected[:0]
		for _, af := range a.Affected {
			if af.Ecosystem == eco && af.Package == pkg {
				kept = append(kept, af)
			}
		}
		a.Affected = kept
		out = append(out, a)
	}
	return out, nil
}

// Packages calls fn with every (ecosystem, package) key in the database,
// in sorted order, until fn returns false.
func (db *DB) Packages(fn func(ecosystem, name string) bool) {
	for _, k := range db.keys {
		eco, pkg, _ := cutKey(k)
		if !fn(eco, pkg) {
			return
		}
	}
}

func (db *DB) advisory(id uint32) (Advisory, error) {
	blk, err := db.block(db.advBlock[id])
	if err != nil {
		return Advisory{}, err
	}
	off := db.advOff[id]
	if int(off) >= len(blk) {
		return Advisory{}, corrupt(db.path, "record out of range")
	}
	a, _, err := decodeAdvisory(blk[off:])
	if err != nil {
		return Advisory{}, corrupt(db.path, err.Error())
	}
	return a, nil
}

func (db *DB) block(n uint32) ([]byte, error) {
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return nil, fmt.Errorf("vulnerability database %s is closed", db.path)
	}
	if b, ok := db.cache[n]; ok {
		db.mu.Unlock()
		return b, nil
	}
	db.mu.Unlock()
	bl := db.blocks[n]
	b, err := db.dec.DecodeAll(db.data[bl.off:bl.off+bl.clen], make([]byte, 0, bl.ulen))
	if err != nil {
		return nil, corrupt(db.path, fmt.Sprintf("block %d: %v", n, err))
	}
	if uint64(len(b)) != bl.ulen {
		return nil, corrupt(db.path, fmt.Sprintf("block %d has the wrong size", n))
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return nil, fmt.Errorf("vulnerability database %s is closed", db.path)
	}
	if db.cached+len(b) > maxCache {
		db.cache = map[uint32][]byte{}
		db.cached = 0
	}
	db.cache[n] = b
	db.cached += len(b)
	return b, nil
}

// DefaultPath returns where 'bulwark db update' keeps the database: the
// file bulwark/db/vulndb.bwdb in the user cache directory, or under
// $BULWARK_CACHE_DIR when that is set.
func DefaultPath() (string, error) {
	if d := os.Getenv("BULWARK_CACHE_DIR"); d != "" {
		return PathIn(d), nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding the user cache directory for the vulnerability database: %w; set BULWARK_CACHE_DIR or pass --db FILE", err)
	}
	return PathIn(filepath.Join(d, "bulwark")), nil
}

// PathIn is where the database lives in a cache directory (BULWARK_CACHE_DIR,
// scan's --cache-dir).
func PathIn(cacheDir string) string {
	return filepath.Join(cacheDir, "db", "vulndb.bwdb")
}
