package testutil

import (
	"database/sql"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// RPMPackage is one installed package for WriteRPMDB.
type RPMPackage struct {
	Name, Version, Release, Arch string
	// Epoch is written when it is not zero.
	Epoch int32
}

// WriteRPMDB writes an rpm database in the SQLite format rpm 4.16 and
// later keep in rpmdb.sqlite (Amazon Linux 2023, Fedora): a Packages
// table of header blobs and the Name index, one row per package. Each
// header is what rpm stores for an installed package, cut down to the
// tags package readers use: the immutable region tag, NAME, VERSION,
// RELEASE, EPOCH, LICENSE, ARCH and SOURCERPM.
func WriteRPMDB(t testing.TB, path string, pkgs []RPMPackage) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		"CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)",
		"CREATE TABLE Name (key TEXT NOT NULL, hnum INTEGER NOT NULL, idx INTEGER NOT NULL, FOREIGN KEY (hnum) REFERENCES Packages(hnum))",
		"CREATE INDEX Name_key_idx ON Name(key)",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	for _, p := range pkgs {
		res, err := db.Exec("INSERT INTO Packages (blob) VALUES (?)", rpmHeader(p))
		if err != nil {
			t.Fatal(err)
		}
		hnum, _ := res.LastInsertId()
		if _, err := db.Exec("INSERT INTO Name (key, hnum, idx) VALUES (?, ?, 0)", p.Name, hnum); err != nil {
			t.Fatal(err)
		}
	}
}

// rpmHeader encodes a header blob as rpm's database stores it: entry
// count and data length (big-endian), the index entries (tag, type,
// offset, count) sorted by tag after the region entry, the data, and
// the region trailer whose offset points back over the index.
func rpmHeader(p RPMPackage) []byte {
	const (
		typeInt32  = 4
		typeString = 6
		typeBin    = 7
		regionTag  = 63
	)
	type entry struct {
		tag, typ int32
		str      string
		num      int32
	}
	ents := []entry{
		{tag: 1000, typ: typeString, str: p.Name},
		{tag: 1001, typ: typeString, str: p.Version},
		{tag: 1002, typ: typeString, str: p.Release},
		{tag: 1014, typ: typeString, str: "MIT"},
		{tag: 1022, typ: typeString, str: p.Arch},
		{tag: 1044, typ: typeString, str: fmt.Sprintf("%s-%s-%s.src.rpm", p.Name, p.Version, p.Release)},
	}
	if p.Epoch != 0 {
		ents = append(ents, entry{tag: 1003, typ: typeInt32, num: p.Epoch})
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].tag < ents[j].tag })
	il := len(ents) + 1
	var index, data []byte
	be := binary.BigEndian
	put := func(tag, typ, off, count int32) {
		index = be.AppendUint32(index, uint32(tag))
		index = be.AppendUint32(index, uint32(typ))
		index = be.AppendUint32(index, uint32(off))
		index = be.AppendUint32(index, uint32(count))
	}
	for _, e := range ents {
		if e.typ == typeInt32 {
			for len(data)%4 != 0 {
				data = append(data, 0)
			}
			put(e.tag, e.typ, int32(len(data)), 1)
			data = be.AppendUint32(data, uint32(e.num))
			continue
		}
		put(e.tag, e.typ, int32(len(data)), 1)
		data = append(append(data, e.str...), 0)
	}
	// The region trailer: the region tag again, its offset the negative
	// size of the index.
	trailerAt := int32(len(data))
	data = be.AppendUint32(data, regionTag)
	data = be.AppendUint32(data, typeBin)
	data = be.AppendUint32(data, uint32(-int32(il*16)))
	data = be.AppendUint32(data, 16)
	var region []byte
	region = be.AppendUint32(region, regionTag)
	region = be.AppendUint32(region, typeBin)
	region = be.AppendUint32(region, uint32(trailerAt))
	region = be.AppendUint32(region, 16)
	out := be.AppendUint32(nil, uint32(il))
	out = be.AppendUint32(out, uint32(len(data)))
	out = append(out, region...)
	out = append(out, index...)
	return append(out, data...)
}
