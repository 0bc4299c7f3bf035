package disk

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"sync"
)

// vmdk reads a hosted sparse VMDK extent (monolithicSparse, and
// streamOptimized as AMI exports and OVAs hold, with its footer and
// zlib-compressed grains) as a device. A descriptor naming more than one
// extent (split or flat images) is refused.
type vmdk struct {
	r          io.ReaderAt
	fileSize   int64
	size       int64
	grain      int64 // bytes
	perGT      uint64
	gd         []uint32
	compressed bool
	markers    bool

	mu        sync.Mutex
	gts       *fifoCache[uint32, []uint32]
	lastGrain uint64
	last      []byte
}

const (
	vmdkGDAtEnd      = 0xffffffffffffffff
	vmdkFlagCompress = 1 << 16
	vmdkFlagMarkers  = 1 << 17
	vmdkGTCache      = 64
	maxVMDKGD        = 16 << 20 // grain directory entries (64 MiB)
)

func openVMDK(r io.ReaderAt, fileSize int64) (*vmdk, int64, error) {
	h, err := vmdkHeader(r, 0)
	if err != nil {
		return nil, 0, err
	}
	le := binary.LittleEndian
	if le.Uint64(h[56:]) == vmdkGDAtEnd {
		// Stream-optimized: the real header is the footer, in the
		// second-to-last sector.
		if h, err = vmdkHeader(r, fileSize-1024); err != nil {
			return nil, 0, fmt.Errorf("footer: %w", err)
		}
	}
	if err := vmdkExtents(r, h, fileSize); err != nil {
		return nil, 0, err
	}
	flags := le.Uint32(h[8:])
	v := &vmdk{r: r, fileSize: fileSize, compressed: flags&vmdkFlagCompress != 0, markers: flags&vmdkFlagMarkers != 0, gts: newFIFOCache[uint32, []uint32](vmdkGTCache)}
	capacity, grain := le.Uint64(h[12:]), le.Uint64(h[20:])
	v.perGT = uint64(le.Uint32(h[44:]))
	if grain < 1 || grain > 2048 || grain&(grain-1) != 0 {
		return nil, 0, fmt.Errorf("grain size of %d sectors is invalid", grain)
	}
	if v.perGT != 512 {
		return nil, 0, fmt.Errorf("%d grain table entries per table; the format has 512", v.perGT)
	}
	if capacity > 1<<41 {
		return nil, 0, fmt.Errorf("capacity of %d sectors is invalid", capacity)
	}
	if v.compressed && le.Uint16(h[77:]) != 1 {
		return nil, 0, fmt.Errorf("compression algorithm %d is not supported (1, deflate, is)", le.Uint16(h[77:]))
	}
	v.size, v.grain = int64(capacity*512), int64(grain*512)
	n := (capacity + grain*v.perGT - 1) / (grain * v.perGT)
	gdOff := le.Uint64(h[56:])
	if n > maxVMDKGD || gdOff == 0 || gdOff > uint64(fileSize/512) || int64(gdOff*512+n*4) > fileSize {
		return nil, 0, fmt.Errorf("the grain directory (%d entries at sector %d) lies beyond the end of the file (%d bytes): truncated?", n, gdOff, fileSize)
	}
	raw := make([]byte, n*4)
	if _, err := r.ReadAt(raw, int64(gdOff*512)); err != nil {
		return nil, 0, fmt.Errorf("reading the grain directory: %w", err)
	}
	v.gd = make([]uint32, n)
	for i := range v.gd {
		v.gd[i] = le.Uint32(raw[4*i:])
	}
	return v, v.size, nil
}

func vmdkHeader(r io.ReaderAt, off int64) ([]byte, error) {
	h := make([]byte, 512)
	if off < 0 {
		return nil, fmt.Errorf("the file is too small")
	}
	if _, err := r.ReadAt(h, off); err != nil {
		return nil, fmt.Errorf("reading the header: %w", err)
	}
	if string(h[:4]) != "KDMV" {
		return nil, fmt.Errorf("no sparse extent header at byte %d", off)
	}
	return h, nil
}

// vmdkExtents refuses a descriptor that names more than one extent.
func vmdkExtents(r io.ReaderAt, h []byte, fileSize int64) error {
	le := binary.LittleEndian
	off, n := int64(le.Uint64(h[28:])), int64(le.Uint64(h[36:]))
	if off == 0 || n == 0 || n > 2048 || off*512+n*512 > fileSize {
		return nil
	}
	d := make([]byte, n*512)
	if _, err := r.ReadAt(d, off*512); err != nil {
		return nil
	}
	count := 0
	for _, line := range strings.Split(string(bytes.TrimRight(d, "\x00")), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && (f[0] == "RW" || f[0] == "RDONLY" || f[0] == "NOACCESS") {
			count++
		}
	}
	if count > 1 {
		return fmt.Errorf("the descriptor names %d extents; bulwark reads single-file images (monolithicSparse, streamOptimized): convert with qemu-img convert first", count)
	}
	return nil
}

// ReadAt reads guest bytes; it is safe for concurrent use.
func (v *vmdk) ReadAt(p []byte, off int64) (int, error) {
	return readUnits(p, off, v.size, v.grain, v.readGrain)
}

func (v *vmdk) readGrain(p []byte, idx uint64, in int64) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	gdi := idx / v.perGT
	if gdi >= uint64(len(v.gd)) {
		return fmt.Errorf("vmdk: grain %d beyond the grain directory", idx)
	}
	if v.gd[gdi] == 0 {
		clear(p)
		return nil
	}
	gt, err := v.table(v.gd[gdi])
	if err != nil {
		return err
	}
	sec := uint64(gt[idx%v.perGT])
	if sec <= 1 { // 0: not allocated, 1: a zero grain
		clear(p)
		return nil
	}
	if !v.compressed {
		if int64(sec*512)+in+int64(len(p)) > v.fileSize {
			return fmt.Errorf("vmdk: grain at sector %d lies beyond the end of the file: truncated?", sec)
		}
		if k, err := v.r.ReadAt(p, int64(sec*512)+in); k < len(p) {
			return fmt.Errorf("vmdk: reading the grain at sector %d: %w", sec, err)
		}
		return nil
	}
	data, err := v.inflate(sec)
	if err != nil {
		return err
	}
	copy(p, data[in:])
	return nil
}

func (v *vmdk) table(sec uint32) ([]uint32, error) {
	if t, ok := v.gts.get(sec); ok {
		return t, nil
	}
	off := int64(sec) * 512
	if off+int64(v.perGT)*4 > v.fileSize {
		return nil, fmt.Errorf("vmdk: grain table at sector %d lies beyond the end of the file: truncated?", sec)
	}
	raw := make([]byte, v.perGT*4)
	if _, err := v.r.ReadAt(raw, off); err != nil {
		return nil, fmt.Errorf("vmdk: reading the grain table at sector %d: %w", sec, err)
	}
	t := make([]uint32, v.perGT)
	for i := range t {
		t[i] = binary.LittleEndian.Uint32(raw[4*i:])
	}
	v.gts.put(sec, t)
	return t, nil
}

// inflate decompresses the grain at a sector (after its 12-byte marker
// when the image has markers) to exactly one grain.
func (v *vmdk) inflate(sec uint64) ([]byte, error) {
	if v.last != nil && v.lastGrain == sec {
		return v.last, nil
	}
	off := int64(sec * 512)
	hdr := make([]byte, 12)
	if _, err := v.r.ReadAt(hdr, off); err != nil {
		return nil, fmt.Errorf("vmdk: reading the grain at sector %d: %w (truncated?)", sec, err)
	}
	size := int64(binary.LittleEndian.Uint32(hdr[8:]))
	start := off + 12
	if !v.markers {
		size, start = v.grain*2, off
	}
	size = min(size, v.fileSize-start, v.grain*2+1024)
	if size <= 0 {
		return nil, fmt.Errorf("vmdk: grain at sector %d lies beyond the end of the file: truncated?", sec)
	}
	comp := make([]byte, size)
	if _, err := v.r.ReadAt(comp, start); err != nil && err != io.EOF {
		return nil, fmt.Errorf("vmdk: reading the grain at sector %d: %w", sec, err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(comp))
	if err != nil {
		return nil, fmt.Errorf("vmdk: grain at sector %d: %w", sec, err)
	}
	out := make([]byte, v.grain)
	if _, err := io.ReadFull(zr, out); err != nil {
		return nil, fmt.Errorf("vmdk: grain at sector %d does not inflate to a grain: %w", sec, err)
	}
	v.last, v.lastGrain = out, sec
	return out, nil
}
