package rpm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// RPM header tags read here.
const (
	tagName       = 1000
	tagVersion    = 1001
	tagRelease    = 1002
	tagEpoch      = 1003
	tagLicense    = 1014
	tagArch       = 1022
	tagOldFiles   = 1027
	tagSourceRPM  = 1044
	tagDirIndexes = 1116
	tagBaseNames  = 1117
	tagDirNames   = 1118
)

// RPM header data types.
const (
	typeInt32       = 4
	typeString      = 6
	typeStringArray = 8
	typeI18NString  = 9
)

// header is the tags of one package header that this package reads.
type header struct {
	strs map[int32][]string
	ints map[int32][]int32
}

// maxHeader bounds one header blob (rpm's own limit is 256 MiB).
const maxHeader = 256 << 20

// parseHeader reads an RPM header blob as the databases store it: the
// index entry count and data length (big-endian uint32s), the index
// entries (tag, type, offset, count), then the data.
func parseHeader(b []byte) (*header, error) {
	if len(b) < 8 {
		return nil, errors.New("header shorter than 8 bytes")
	}
	il, dl := binary.BigEndian.Uint32(b), binary.BigEndian.Uint32(b[4:])
	if il == 0 || il > 1<<16 || dl > maxHeader || uint64(len(b)) < 8+uint64(il)*16+uint64(dl) {
		return nil, fmt.Errorf("header sizes out of range (%d entries, %d data bytes, %d-byte blob)", il, dl, len(b))
	}
	data := b[8+il*16 : 8+il*16+dl]
	h := &header{strs: map[int32][]string{}, ints: map[int32][]int32{}}
	for i := uint32(0); i < il; i++ {
		e := b[8+i*16:]
		tag := int32(binary.BigEndian.Uint32(e))
		typ := binary.BigEndian.Uint32(e[4:])
		off := binary.BigEndian.Uint32(e[8:])
		count := binary.BigEndian.Uint32(e[12:])
		if tag < tagName || off >= dl || count == 0 || count > dl {
			continue // region tags and the like, or nothing to read
		}
		switch typ {
		case typeString, typeStringArray, typeI18NString:
			if typ == typeString {
				count = 1
			}
			rest := data[off:]
			var ss []string
			for range count {
				j := bytes.IndexByte(rest, 0)
				if j < 0 {
					return nil, fmt.Errorf("tag %d: string runs past the header data", tag)
				}
				ss = append(ss, string(rest[:j]))
				rest = rest[j+1:]
			}
			h.strs[tag] = ss
		case typeInt32:
			if uint64(off)+uint64(count)*4 > uint64(dl) {
				return nil, fmt.Errorf("tag %d: integers run past the header data", tag)
			}
			ns := make([]int32, count)
			for k := range ns {
				ns[k] = int32(binary.BigEndian.Uint32(data[off+uint32(k)*4:]))
			}
			h.ints[tag] = ns
		}
	}
	return h, nil
}

func (h *header) str(tag int32) string {
	if s := h.strs[tag]; len(s) > 0 {
		return s[0]
	}
	return ""
}

// files returns the installed paths (BASENAMES with DIRNAMES by
// DIRINDEXES, or the OLDFILENAMES of old packages).
func (h *header) files() []string {
	if old := h.strs[tagOldFiles]; len(old) > 0 {
		return old
	}
	base, dirs, idx := h.strs[tagBaseNames], h.strs[tagDirNames], h.ints[tagDirIndexes]
	if len(base) != len(idx) {
		return nil
	}
	out := make([]string, 0, len(base))
	for i, b := range base {
		if d := int(idx[i]); d >= 0 && d < len(dirs) {
			out = append(out, dirs[d]+b)
		}
	}
	return out
}
