package disk

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"unicode/utf16"
)

// Partition is one partition of a disk, or the whole disk when it has no
// partition table (Index 0).
type Partition struct {
	// Index is the partition number as Linux names it (sda1 is 1; MBR
	// logical partitions start at 5), or 0 for an unpartitioned disk.
	Index int
	// Start and Size are in bytes.
	Start, Size int64
	// Type is the MBR type byte ("0x83") or the GPT type GUID.
	Type string
	// Name is the GPT partition name ("" for MBR).
	Name string
	// UUID is the GPT unique partition GUID, as fstab's PARTUUID= names
	// it ("" for MBR).
	UUID string

	// dev, for an LVM logical volume, reads its extents (Start is 0 and
	// Name is "VG/LV").
	dev io.ReaderAt
}

const (
	sector = 512
	// maxPartitions bounds the GPT entry array and the MBR logical chain.
	maxPartitions = 256
)

// gptSkip names the GPT partition types that hold no file system to read.
var gptSkip = map[string]string{
	"21686148-6449-6E6F-744E-656564454649": "BIOS boot",
	"0657FD6D-A4AB-43C4-84E5-0933C84B4F4F": "Linux swap",
	"E6D6D379-F507-44C2-A23C-238F2A3DF928": "Linux LVM",
}

// readPartitions reads the partition table (GPT, else MBR); a disk with
// neither is one partition. Partitions that point past the end of the disk
// are dropped with a warning; overlapping ones are kept with one.
func readPartitions(r io.ReaderAt, size int64, warn func(string)) ([]Partition, error) {
	mbr := make([]byte, sector)
	if _, err := r.ReadAt(mbr, 0); err != nil {
		return nil, fmt.Errorf("reading the first sector: %w", err)
	}
	if mbr[510] != 0x55 || mbr[511] != 0xAA || hasFilesystemAt(r, 0) {
		return []Partition{{Index: 0, Start: 0, Size: size}}, nil
	}
	var parts []Partition
	gpt := false
	for i := 0; i < 4; i++ {
		if mbr[446+16*i+4] == 0xEE {
			gpt = true
		}
	}
	var err error
	if gpt {
		parts, err = readGPT(r, size, warn)
	} else {
		parts, err = readMBR(r, mbr, size, warn)
	}
	if err != nil {
		return nil, err
	}
	var ok []Partition
	for _, p := range parts {
		if p.Size <= 0 || p.Start < 0 || p.Start > size || p.Size > size-p.Start {
			warn(fmt.Sprintf("partition %d (%d bytes at byte %d) is empty or lies beyond the end of the disk (%d bytes); skipped", p.Index, p.Size, p.Start, size))
			continue
		}
		for _, q := range ok {
			if p.Start < q.Start+q.Size && q.Start < p.Start+p.Size {
				warn(fmt.Sprintf("partitions %d and %d overlap", q.Index, p.Index))
			}
		}
		ok = append(ok, p)
	}
	return ok, nil
}

// hasFilesystemAt reports whether a file system starts at off (a disk
// formatted without a partition table).
func hasFilesystemAt(r io.ReaderAt, off int64) bool {
	return detectFS(r, off) != ""
}

func readMBR(r io.ReaderAt, mbr []byte, size int64, warn func(string)) ([]Partition, error) {
	var parts []Partition
	for i := 0; i < 4; i++ {
		e := mbr[446+16*i : 446+16*i+16]
		typ := e[4]
		start := int64(binary.LittleEndian.Uint32(e[8:])) * sector
		n := int64(binary.LittleEndian.Uint32(e[12:])) * sector
		switch {
		case typ == 0:
			continue
		case typ == 0x05 || typ == 0x0F || typ == 0x85:
			parts = append(parts, readLogical(r, start, size, warn)...)
		default:
			parts = append(parts, Partition{Index: i + 1, Start: start, Size: n, Type: fmt.Sprintf("0x%02x", typ)})
		}
	}
	return parts, nil
}

// readLogical follows the chain of extended boot records of an MBR
// extended partition; a chain that loops or runs off the disk ends with a
// warning.
func readLogical(r io.ReaderAt, extStart, size int64, warn func(string)) []Partition {
	var parts []Partition
	seen := map[int64]bool{}
	ebr := extStart
	buf := make([]byte, sector)
	for idx := 5; ; idx++ {
		if seen[ebr] || len(seen) >= maxPartitions {
			warn("the chain of MBR logical partitions loops; stopped following it")
			return parts
		}
		seen[ebr] = true
		if _, err := r.ReadAt(buf, ebr); err != nil || buf[510] != 0x55 || buf[511] != 0xAA {
			warn(fmt.Sprintf("extended boot record at byte %d is unreadable or invalid; logical partitions from %d on skipped", ebr, idx))
			return parts
		}
		e := buf[446:462]
		if e[4] != 0 {
			parts = append(parts, Partition{Index: idx,
				Start: ebr + int64(binary.LittleEndian.Uint32(e[8:]))*sector,
				Size:  int64(binary.LittleEndian.Uint32(e[12:])) * sector,
				Type:  fmt.Sprintf("0x%02x", e[4])})
		}
		next := buf[462:478]
		if next[4] == 0 {
			return parts
		}
		ebr = extStart + int64(binary.LittleEndian.Uint32(next[8:]))*sector
		if ebr >= size {
			warn(fmt.Sprintf("extended boot record %d points past the end of the disk", idx+1))
			return parts
		}
	}
}

// readGPT reads the primary GPT header and entries, falling back to the
// backup at the end of the disk when the primary fails its CRC checks.
func readGPT(r io.ReaderAt, size int64, warn func(string)) ([]Partition, error) {
	parts, err := readGPTAt(r, sector, size)
	if err == nil {
		return parts, nil
	}
	backup, berr := readGPTAt(r, size-sector, size)
	if berr != nil {
		return nil, fmt.Errorf("GPT: primary header: %v; backup header: %v", err, berr)
	}
	warn(fmt.Sprintf("GPT primary header is damaged (%v); read the backup", err))
	return backup, nil
}

func readGPTAt(r io.ReaderAt, off, size int64) ([]Partition, error) {
	h := make([]byte, sector)
	if off < sector {
		return nil, fmt.Errorf("disk too small")
	}
	if _, err := r.ReadAt(h, off); err != nil {
		return nil, fmt.Errorf("reading the header: %w", err)
	}
	if !bytes.Equal(h[:8], []byte("EFI PART")) {
		return nil, fmt.Errorf("no GPT signature at byte %d", off)
	}
	hsize := binary.LittleEndian.Uint32(h[12:])
	if hsize < 92 || hsize > sector {
		return nil, fmt.Errorf("header size %d is invalid", hsize)
	}
	want := binary.LittleEndian.Uint32(h[16:])
	hc := append([]byte(nil), h[:hsize]...)
	copy(hc[16:20], []byte{0, 0, 0, 0})
	if got := crc32.ChecksumIEEE(hc); got != want {
		return nil, fmt.Errorf("header CRC32 is %08x, the header says %08x", got, want)
	}
	entriesLBA := int64(binary.LittleEndian.Uint64(h[72:]))
	count := binary.LittleEndian.Uint32(h[80:])
	esize := binary.LittleEndian.Uint32(h[84:])
	if esize < 128 || esize > 4096 || esize%8 != 0 {
		return nil, fmt.Errorf("partition entry size %d is invalid", esize)
	}
	if count > 4096 {
		return nil, fmt.Errorf("%d partition entries, more than 4096", count)
	}
	total := int64(count) * int64(esize)
	if entriesLBA <= 0 || entriesLBA > size/sector || total > size-entriesLBA*sector {
		return nil, fmt.Errorf("the partition entries (LBA %d) lie beyond the end of the disk", entriesLBA)
	}
	entries := make([]byte, total)
	if _, err := r.ReadAt(entries, entriesLBA*sector); err != nil {
		return nil, fmt.Errorf("reading the partition entries: %w", err)
	}
	if got, want := crc32.ChecksumIEEE(entries), binary.LittleEndian.Uint32(h[88:]); got != want {
		return nil, fmt.Errorf("partition entries CRC32 is %08x, the header says %08x", got, want)
	}
	var parts []Partition
	for i := 0; i < int(count); i++ {
		e := entries[i*int(esize) : (i+1)*int(esize)]
		typ := guid(e[:16])
		if typ == "00000000-0000-0000-0000-000000000000" {
			continue
		}
		if len(parts) >= maxPartitions {
			return nil, fmt.Errorf("more than %d partitions", maxPartitions)
		}
		first := binary.LittleEndian.Uint64(e[32:])
		last := binary.LittleEndian.Uint64(e[40:])
		p := Partition{Index: i + 1, Type: typ, UUID: guid(e[16:32]), Name: utf16Name(e[56:128])}
		if first < 1<<40 && last < 1<<40 && last >= first {
			p.Start, p.Size = int64(first)*sector, int64(last-first+1)*sector
		} // else Size 0: reported as invalid by the caller
		parts = append(parts, p)
	}
	return parts, nil
}

// guid formats a GPT GUID (the first three fields little-endian).
func guid(b []byte) string {
	return fmt.Sprintf("%08X-%04X-%04X-%X-%X", binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint16(b[4:]),
		binary.LittleEndian.Uint16(b[6:]), b[8:10], b[10:16])
}

func utf16Name(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}
