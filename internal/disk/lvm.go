package disk

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// LVM2 physical volumes: a label in one of the first four sectors
// ("LABELONE", then "LVM2 001" and the PV header: the PV's UUID, its data
// and metadata areas), a metadata area whose header (" LVM2 x[5A%r0N*>")
// locates the current volume group description, in LVM's text format.
// bulwark reads the linear logical volumes of that description (segments
// of type "striped" with one stripe, which is what lvcreate makes by
// default) and offers each as one more partition.

const (
	lvmLabelID   = "LABELONE"
	lvmLabelType = "LVM2 001"
	lvmMDAMagic  = " LVM2 x[5A%r0N*>"
	// maxLVMText bounds the metadata text read (LVM's default area is 1 MiB).
	maxLVMText = 4 << 20
	// maxLVMSegments bounds the segments of all logical volumes.
	maxLVMSegments = 4096
)

// pvLabel is what a physical volume's label says.
type pvLabel struct {
	uuid string // without dashes
	// mda are the metadata areas: offset and size in bytes from the PV start.
	mda [][2]uint64
}

// readPVLabel reads the LVM2 label of the partition, if it has one.
func readPVLabel(r io.ReaderAt, p Partition) (*pvLabel, bool) {
	buf := make([]byte, 4*sector)
	if p.Size < int64(len(buf)) {
		return nil, false
	}
	if _, err := r.ReadAt(buf, p.Start); err != nil {
		return nil, false
	}
	for s := 0; s < 4; s++ {
		lb := buf[s*sector : (s+1)*sector]
		if string(lb[:8]) != lvmLabelID || string(lb[24:32]) != lvmLabelType {
			continue
		}
		off := int(binary.LittleEndian.Uint32(lb[20:24]))
		if off < 32 || off+32+8 > sector {
			return nil, false
		}
		ph := lb[off:]
		l := &pvLabel{uuid: string(bytes.TrimRight(ph[:32], "\x00"))}
		i := 40 // after the UUID and the device size
		for list := 0; list < 2; list++ {
			for ; i+16 <= len(ph); i += 16 {
				o, n := binary.LittleEndian.Uint64(ph[i:]), binary.LittleEndian.Uint64(ph[i+8:])
				if o == 0 && n == 0 {
					i += 16
					break
				}
				if list == 1 {
					l.mda = append(l.mda, [2]uint64{o, n})
				}
			}
		}
		return l, true
	}
	return nil, false
}

// readMetadata returns the current volume group text of a metadata area.
func readMetadata(r io.ReaderAt, p Partition, mda [2]uint64) (string, error) {
	start, size := int64(mda[0]), int64(mda[1])
	if start < 0 || size < sector || start > p.Size || size > p.Size-start {
		return "", fmt.Errorf("the metadata area (%d bytes at %d) lies outside the physical volume", size, start)
	}
	hdr := make([]byte, sector)
	if _, err := r.ReadAt(hdr, p.Start+start); err != nil {
		return "", err
	}
	if string(hdr[4:20]) != lvmMDAMagic {
		return "", fmt.Errorf("no LVM2 metadata area header")
	}
	// The first raw location is the current metadata: its offset from the
	// area's start and its size; the text may wrap around the circular
	// buffer that follows the header.
	off, n := int64(binary.LittleEndian.Uint64(hdr[40:])), int64(binary.LittleEndian.Uint64(hdr[48:]))
	if n == 0 {
		return "", fmt.Errorf("the metadata area holds no volume group")
	}
	if n > maxLVMText || off < sector || off >= size {
		return "", fmt.Errorf("the metadata text (%d bytes at %d) lies outside its area", n, off)
	}
	text := make([]byte, n)
	first := min(n, size-off)
	if _, err := r.ReadAt(text[:first], p.Start+start+off); err != nil {
		return "", err
	}
	if first < n {
		if n-first > size-sector {
			return "", fmt.Errorf("the metadata text is larger than its area")
		}
		if _, err := r.ReadAt(text[first:], p.Start+start+sector); err != nil {
			return "", err
		}
	}
	return string(bytes.TrimRight(text, "\x00")), nil
}

// lvmPV is a physical volume found on the disk.
type lvmPV struct {
	part  Partition
	label *pvLabel
}

// segment maps part of a logical volume onto the disk.
type segment struct {
	lvOff, devOff, size int64
}

// readLVM finds the physical volumes among the partitions and returns the
// linear logical volumes of their volume groups as partitions, numbered
// after next. Volumes it cannot read (other segment types, a missing PV)
// are warnings.
func readLVM(r io.ReaderAt, parts []Partition, next int, warn func(string)) []Partition {
	pvs := map[string]lvmPV{}
	var order []string
	for _, p := range parts {
		if l, ok := readPVLabel(r, p); ok {
			if _, dup := pvs[l.uuid]; !dup {
				order = append(order, l.uuid)
			}
			pvs[l.uuid] = lvmPV{part: p, label: l}
		}
	}
	// One description per volume group: the newest (highest seqno) any
	// of its PVs holds.
	type vgText struct {
		seqno int64
		vg    *lvmSection
		name  string
	}
	vgs := map[string]vgText{}
	var vgOrder []string
	for _, id := range order {
		pv := pvs[id]
		for _, mda := range pv.label.mda {
			text, err := readMetadata(r, pv.part, mda)
			if err != nil {
				warn(fmt.Sprintf("partition %d: LVM physical volume: %v", pv.part.Index, err))
				continue
			}
			cfg, err := parseLVMConfig(text)
			if err != nil {
				warn(fmt.Sprintf("partition %d: LVM metadata: %v", pv.part.Index, err))
				continue
			}
			for name, v := range cfg.sections {
				vg := v
				id := vg.str("id")
				if old, ok := vgs[id]; !ok || vg.num("seqno") > old.seqno {
					if !ok {
						vgOrder = append(vgOrder, id)
					}
					vgs[id] = vgText{seqno: vg.num("seqno"), vg: vg, name: name}
				}
			}
		}
	}
	var out []Partition
	for _, id := range vgOrder {
		v := vgs[id]
		for _, lv := range logicalVolumes(r, v.name, v.vg, pvs, warn) {
			lv.Index = next
			next++
			out = append(out, lv)
		}
	}
	return out
}

// logicalVolumes maps the visible linear logical volumes of one volume
// group onto the disk.
func logicalVolumes(r io.ReaderAt, vgName string, vg *lvmSection, pvs map[string]lvmPV, warn func(string)) []Partition {
	extent := vg.num("extent_size") * sector
	if extent <= 0 {
		warn(fmt.Sprintf("LVM volume group %s: no extent size", vgName))
		return nil
	}
	// The volume group's PVs by their names in it ("pv0"), with where
	// their first extent starts.
	type placedPV struct {
		part    Partition
		peStart int64
	}
	pvOf := map[string]placedPV{}
	pvSec := vg.section("physical_volumes")
	for name, s := range pvSec.sections {
		if pv, ok := pvs[strings.ReplaceAll(s.str("id"), "-", "")]; ok {
			pvOf[name] = placedPV{part: pv.part, peStart: s.num("pe_start") * sector}
		}
	}
	var out []Partition
	lvs := vg.section("logical_volumes")
	total := 0
	for _, name := range lvs.names() {
		lv := lvs.sections[name]
		full := vgName + "/" + name
		if !lv.has("status", "VISIBLE") {
			continue
		}
		var segs []segment
		ok := true
		for _, sn := range lv.names() {
			s := lv.sections[sn]
			total++
			if total > maxLVMSegments {
				warn(fmt.Sprintf("LVM volume group %s: more than %d segments; the rest is not read", vgName, maxLVMSegments))
				return out
			}
			stripes := s.list("stripes")
			if s.str("type") != "striped" || s.num("stripe_count") != 1 || len(stripes) != 2 {
				warn(fmt.Sprintf("LVM logical volume %s: segment %s is of type %q (%d stripes); only linear volumes are read", full, sn, s.str("type"), s.num("stripe_count")))
				ok = false
				break
			}
			pv, found := pvOf[stripes[0]]
			if !found {
				warn(fmt.Sprintf("LVM logical volume %s: its physical volume %s is not on this disk", full, stripes[0]))
				ok = false
				break
			}
			pe, err := strconv.ParseInt(stripes[1], 10, 64)
			start, count := s.num("start_extent"), s.num("extent_count")
			if err != nil || pe < 0 || start < 0 || count <= 0 || pv.peStart < 0 || pv.peStart > pv.part.Size || pe > pv.part.Size/extent || count > pv.part.Size/extent {
				warn(fmt.Sprintf("LVM logical volume %s: segment %s has bad extents", full, sn))
				ok = false
				break
			}
			seg := segment{lvOff: start * extent, devOff: pv.part.Start + pv.peStart + pe*extent, size: count * extent}
			if seg.devOff+seg.size > pv.part.Start+pv.part.Size {
				warn(fmt.Sprintf("LVM logical volume %s: segment %s lies beyond its physical volume", full, sn))
				ok = false
				break
			}
			segs = append(segs, seg)
		}
		if !ok || len(segs) == 0 {
			continue
		}
		lvr, size, err := newLVReader(r, segs)
		if err != nil {
			warn(fmt.Sprintf("LVM logical volume %s: %v", full, err))
			continue
		}
		out = append(out, Partition{Size: size, Type: "LVM logical volume", Name: full, dev: lvr})
	}
	return out
}

// lvReader reads a logical volume through its segments.
type lvReader struct {
	r    io.ReaderAt
	segs []segment
}

func newLVReader(r io.ReaderAt, segs []segment) (*lvReader, int64, error) {
	sort.Slice(segs, func(i, j int) bool { return segs[i].lvOff < segs[j].lvOff })
	var end int64
	for _, s := range segs {
		if s.lvOff != end {
			return nil, 0, fmt.Errorf("its segments leave a gap or overlap at byte %d", s.lvOff)
		}
		end += s.size
	}
	return &lvReader{r: r, segs: segs}, end, nil
}

// ReadAt implements io.ReaderAt.
func (l *lvReader) ReadAt(b []byte, off int64) (int, error) {
	n := 0
	for n < len(b) {
		i := sort.Search(len(l.segs), func(i int) bool { return l.segs[i].lvOff+l.segs[i].size > off })
		if i == len(l.segs) || off < 0 {
			return n, io.EOF
		}
		s := l.segs[i]
		chunk := b[n:min(len(b), n+int(min(int64(len(b)-n), s.lvOff+s.size-off)))]
		m, err := l.r.ReadAt(chunk, s.devOff+off-s.lvOff)
		n += m
		off += int64(m)
		if err != nil && !(err == io.EOF && m == len(chunk)) {
			return n, err
		}
	}
	return n, nil
}
