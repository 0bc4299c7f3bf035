package vulndb

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/bulwark-sec/bulwark/internal/finding"
)

// SchemaVersion is the version of the file format this bulwark writes and
// reads. It changes whenever an older bulwark could not read a newer file
// correctly; a file with a higher version is refused with an error that
// names both versions. Version 2 added Affected.Platforms.
const SchemaVersion = 2

// magic starts every database file.
const magic = "BWVULNDB"

// headerSize is the fixed size of the file header.
const headerSize = 64

// blockTarget is the uncompressed size at which a record block is closed.
// Smaller blocks make a lookup decompress less; larger ones compress better.
const blockTarget = 32 << 10

// Metadata describes a database file: what it was built from and when.
type Metadata struct {
	// SchemaVersion is the file format version.
	SchemaVersion int `json:"schemaVersion"`
	// BuiltAt is when the database was built.
	BuiltAt time.Time `json:"builtAt"`
	// Sources lists the advisory sources it was built from.
	Sources []SourceInfo `json:"sources"`
	// Advisories is the number of advisories stored.
	Advisories int `json:"advisories"`
	// Packages is the number of (ecosystem, package) keys.
	Packages int `json:"packages"`
	// Ecosystems counts the packages of each ecosystem.
	Ecosystems map[string]int `json:"ecosystems"`
}

// Describe returns what a report records about the database.
func (m Metadata) Describe() *finding.Database {
	d := &finding.Database{SchemaVersion: m.SchemaVersion, BuiltAt: m.BuiltAt.UTC()}
	for _, s := range m.Sources {
		d.Sources = append(d.Sources, finding.DatabaseSource{Kind: s.Kind, Date: s.Date.UTC(), Records: s.Records})
	}
	return d
}

// SourceInfo describes one advisory source of a database.
type SourceInfo struct {
	// Kind is osv, ghsa, nvd, debian-tracker, alpine-secdb, kev or epss.
	Kind string `json:"kind"`
	// Location is the path or URL it was read from.
	Location string `json:"location"`
	// Date is the newest date the source carries (latest modified record,
	// catalogue date, score date), or when it was read if it has none.
	Date time.Time `json:"date"`
	// Records is the number of records read from it.
	Records int `json:"records"`
	// Skipped is the number of records or files that could not be used.
	Skipped int `json:"skipped,omitempty"`
}

// Write writes a database file holding the advisories. Every advisory must
// have at least one Affected entry; the Affected entries' Ecosystem and
// Package must already be normalized.
func Write(w io.Writer, meta Metadata, advisories []Advisory) error {
	// Give every advisory its keys, and order advisories by their first key
	// so that a package's advisories sit in few blocks.
	type item struct {
		adv  *Advisory
		keys []string
	}
	items := make([]item, 0, len(advisories))
	for i := range advisories {
		a := &advisories[i]
		seen := map[string]bool{}
		var keys []string
		for _, af := range a.Affected {
			k := key(af.Ecosystem, af.Package)
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
		if len(keys) == 0 {
			return fmt.Errorf("advisory %s affects no package", a.ID)
		}
		sort.Strings(keys)
		items = append(items, item{a, keys})
	}
	sort.SliceStable(items, func(i, j int) bool {
		if items[i].keys[0] != items[j].keys[0] {
			return items[i].keys[0] < items[j].keys[0]
		}
		return items[i].adv.ID < items[j].adv.ID
	})

	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBestCompression))
	if err != nil {
		return err
	}
	defer enc.Close()

	type blockRef struct{ off, clen, ulen uint64 }
	var (
		blocks   []blockRef
		body     bytes.Buffer
		cur      []byte
		advBlock = make([]uint64, len(items))
		advOff   = make([]uint64, len(items))
		postings = map[string][]uint64{}
	)
	flush := func() {
		if len(cur) == 0 {
			return
		}
		c := enc.EncodeAll(cur, nil)
		blocks = append(blocks, blockRef{uint64(body.Len()), uint64(len(c)), uint64(len(cur))})
		body.Write(c)
		cur = cur[:0]
	}
	ecosystems := map[string]int{}
	for i, it := range items {
		advBlock[i] = uint64(len(blocks))
		advOff[i] = uint64(len(cur))
		cur = appendAdvisory(cur, it.adv)
		for _, k := range it.keys {
			if postings[k] == nil {
				eco, _, _ := cutKey(k)
				ecosystems[eco]++
			}
			postings[k] = append(postings[k], uint64(i))
		}
		if len(cur) >= blockTarget {
			flush()
		}
	}
	flush()

	keys := make([]string, 0, len(postings))
	for k := range postings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	e := encoder{}
	e.uint(uint64(len(blocks)))
	for _, b := range blocks {
		e.uint(b.off)
		e.uint(b.clen)
		e.uint(b.ulen)
	}
	e.uint(uint64(len(items)))
	for i := range items {
		e.uint(advBlock[i])
		e.uint(advOff[i])
	}
	e.uint(uint64(len(keys)))
	for _, k := range keys {
		e.str(k)
		p := postings[k]
		e.uint(uint64(len(p)))
		prev := uint64(0)
		for _, id := range p {
			e.uint(id - prev)
			prev = id
		}
	}
	index := enc.EncodeAll(e.b, nil)

	meta.SchemaVersion = SchemaVersion
	meta.Advisories = len(items)
	meta.Packages = len(keys)
	meta.Ecosystems = ecosystems
	metaJSON, err := json.Marshal(meta)
	if err != nil {
		return err
	}

	metaOff := uint64(headerSize)
	indexOff := metaOff + uint64(len(metaJSON))
	blocksOff := indexOff + uint64(len(index))
	size := blocksOff + uint64(body.Len())
	crc := crc32.New(castagnoli)
	crc.Write(metaJSON)
	crc.Write(index)
	crc.Write(body.Bytes())

	h := make([]byte, headerSize)
	copy(h, magic)
	le := binary.LittleEndian
	le.PutUint32(h[8:], SchemaVersion)
	le.PutUint64(h[16:], size)
	le.PutUint32(h[24:], crc.Sum32())
	le.PutUint64(h[32:], metaOff)
	le.PutUint64(h[40:], indexOff)
	le.PutUint64(h[48:], blocksOff)
	for _, part := range [][]byte{h, metaJSON, index, body.Bytes()} {
		if _, err := w.Write(part); err != nil {
			return err
		}
	}
	return nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// key is the index key of a package.
func key(ecosystem, pkg string) string { return ecosystem + "\x00" + pkg }

func cutKey(k string) (eco, pkg string, ok bool) { return strings.Cut(k, "\x00") }

func crcOf(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }
