package disk

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// qcow2 reads a QEMU qcow2 image (versions 2 and 3) as a device: the L1 and
// L2 tables map guest clusters to host clusters; compressed clusters
// (deflate, or zstd) inflate to exactly one cluster; unallocated and zero
// clusters read as zeros. Images with a backing file, encryption, an
// external data file or extended L2 entries are refused: their content is
// not all in the given file.
type qcow2 struct {
	r           io.ReaderAt
	fileSize    int64
	size        int64
	clusterBits uint
	l1          []uint64
	zstd        bool

	mu      sync.Mutex
	l2      *fifoCache[uint64, []uint64] // L2 tables by host offset
	lastOff uint64                       // host offset of the last compressed cluster inflated
	last    []byte
}

const (
	qcowOffsetMask = 0x00fffffffffffe00
	qcowCompressed = 1 << 62
	qcowZero       = 1
	qcowL2Cache    = 64
	// maxQcowL1 bounds the L1 table read into memory (32 MiB).
	maxQcowL1 = 4 << 20
)

func openQcow2(r io.ReaderAt, fileSize int64) (*qcow2, error) {
	h := make([]byte, 112)
	if n, err := r.ReadAt(h, 0); n < 72 {
		return nil, fmt.Errorf("reading the header: %w", err)
	}
	be := binary.BigEndian
	version := be.Uint32(h[4:])
	if version != 2 && version != 3 {
		return nil, fmt.Errorf("version %d is not supported (2 and 3 are)", version)
	}
	if off, n := be.Uint64(h[8:]), be.Uint32(h[16:]); off != 0 {
		name := ""
		if n > 0 && n <= 1023 && off < uint64(fileSize) {
			b := make([]byte, n)
			r.ReadAt(b, int64(off)) //nolint:errcheck // only for the message
			name = fmt.Sprintf(" (%q)", b)
		}
		return nil, fmt.Errorf("the image has a backing file%s, which bulwark never opens; make a standalone image with qemu-img convert -O qcow2 first", name)
	}
	q := &qcow2{r: r, fileSize: fileSize, clusterBits: uint(be.Uint32(h[20:])), l2: newFIFOCache[uint64, []uint64](qcowL2Cache)}
	if q.clusterBits < 9 || q.clusterBits > 21 {
		return nil, fmt.Errorf("cluster size 2^%d is invalid", q.clusterBits)
	}
	q.size = int64(be.Uint64(h[24:]))
	if q.size < 0 || q.size > 1<<50 {
		return nil, fmt.Errorf("virtual size %d is invalid", be.Uint64(h[24:]))
	}
	if be.Uint32(h[32:]) != 0 {
		return nil, fmt.Errorf("the image is encrypted")
	}
	if version == 3 {
		incompat := be.Uint64(h[72:])
		if incompat&^0b1011 != 0 {
			return nil, fmt.Errorf("incompatible features %#x are not supported (external data file, extended L2 entries)", incompat)
		}
		if incompat&0b1000 != 0 && be.Uint32(h[100:]) > 104 {
			switch h[104] {
			case 0:
			case 1:
				q.zstd = true
			default:
				return nil, fmt.Errorf("compression type %d is not supported", h[104])
			}
		}
	}
	l1Size := uint64(be.Uint32(h[36:]))
	l2Entries := uint64(1) << (q.clusterBits - 3)
	need := (uint64(q.size) + (l2Entries << q.clusterBits) - 1) / (l2Entries << q.clusterBits)
	if l1Size < need || l1Size > maxQcowL1 {
		return nil, fmt.Errorf("the L1 table has %d entries; the virtual size needs %d", l1Size, need)
	}
	l1Off := be.Uint64(h[40:])
	if l1Off == 0 || l1Off+l1Size*8 > uint64(fileSize) || l1Off+l1Size*8 < l1Off {
		return nil, fmt.Errorf("the L1 table (at byte %d) lies beyond the end of the file (%d bytes): truncated?", l1Off, fileSize)
	}
	raw := make([]byte, l1Size*8)
	if _, err := r.ReadAt(raw, int64(l1Off)); err != nil {
		return nil, fmt.Errorf("reading the L1 table: %w", err)
	}
	q.l1 = make([]uint64, l1Size)
	for i := range q.l1 {
		q.l1[i] = be.Uint64(raw[8*i:])
	}
	return q, nil
}

// ReadAt reads guest bytes; it is safe for concurrent use.
func (q *qcow2) ReadAt(p []byte, off int64) (int, error) {
	return readUnits(p, off, q.size, int64(1)<<q.clusterBits, q.readCluster)
}

func (q *qcow2) readCluster(p []byte, idx uint64, in int64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	l2Bits := q.clusterBits - 3
	l1i := idx >> l2Bits
	if l1i >= uint64(len(q.l1)) {
		return fmt.Errorf("qcow2: cluster %d beyond the L1 table", idx)
	}
	l2Off := q.l1[l1i] & qcowOffsetMask
	if l2Off == 0 {
		clear(p)
		return nil
	}
	l2, err := q.l2Table(l2Off)
	if err != nil {
		return err
	}
	e := l2[idx&(1<<l2Bits-1)]
	cs := int64(1) << q.clusterBits
	if e&qcowCompressed != 0 {
		data, err := q.inflate(e)
		if err != nil {
			return err
		}
		copy(p, data[in:])
		return nil
	}
	host := e & qcowOffsetMask
	if host == 0 || e&qcowZero != 0 {
		clear(p)
		return nil
	}
	if host%uint64(cs) != 0 || int64(host)+in+int64(len(p)) > q.fileSize {
		return fmt.Errorf("qcow2: data cluster at byte %d is unaligned or lies beyond the end of the file: truncated?", host)
	}
	if k, err := q.r.ReadAt(p, int64(host)+in); k < len(p) {
		return fmt.Errorf("qcow2: reading the cluster at byte %d: %w (truncated?)", host, err)
	}
	return nil
}

// l2Table reads (or finds in the cache) the L2 table at a host offset.
func (q *qcow2) l2Table(off uint64) ([]uint64, error) {
	if t, ok := q.l2.get(off); ok {
		return t, nil
	}
	cs := uint64(1) << q.clusterBits
	if off%cs != 0 || off+cs > uint64(q.fileSize) {
		return nil, fmt.Errorf("qcow2: L2 table at byte %d is unaligned or lies beyond the end of the file: truncated?", off)
	}
	raw := make([]byte, cs)
	if _, err := q.r.ReadAt(raw, int64(off)); err != nil {
		return nil, fmt.Errorf("qcow2: reading the L2 table at byte %d: %w", off, err)
	}
	t := make([]uint64, cs/8)
	for i := range t {
		t[i] = binary.BigEndian.Uint64(raw[8*i:])
	}
	q.l2.put(off, t)
	return t, nil
}

// inflate decompresses one compressed cluster to exactly the cluster size.
func (q *qcow2) inflate(e uint64) ([]byte, error) {
	x := 62 - (q.clusterBits - 8)
	host := e & (1<<x - 1)
	if q.last != nil && q.lastOff == host {
		return q.last, nil
	}
	sectors := (e>>x)&(1<<(62-x)-1) + 1
	clen := sectors*512 - host&511
	if host >= uint64(q.fileSize) {
		return nil, fmt.Errorf("qcow2: compressed cluster at byte %d lies beyond the end of the file", host)
	}
	clen = min(clen, uint64(q.fileSize)-host)
	comp := make([]byte, clen)
	if _, err := q.r.ReadAt(comp, int64(host)); err != nil && err != io.EOF {
		return nil, fmt.Errorf("qcow2: reading the compressed cluster at byte %d: %w", host, err)
	}
	out := make([]byte, 1<<q.clusterBits)
	var zr io.Reader
	if q.zstd {
		d, err := zstd.NewReader(bytes.NewReader(comp), zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(len(out))*2))
		if err != nil {
			return nil, err
		}
		defer d.Close()
		zr = d
	} else {
		zr = flate.NewReader(bytes.NewReader(comp))
	}
	if _, err := io.ReadFull(zr, out); err != nil {
		return nil, fmt.Errorf("qcow2: compressed cluster at byte %d does not inflate to a cluster: %w", host, err)
	}
	q.last, q.lastOff = out, host
	return out, nil
}

// readUnits reads p at off from a device of the given size made of units
// (clusters, grains) of unit bytes, one read per unit: read(p, index of
// the unit, offset in it).
func readUnits(p []byte, off, size, unit int64, read func([]byte, uint64, int64) error) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("negative offset")
	}
	n := 0
	for n < len(p) {
		if off >= size {
			return n, io.EOF
		}
		in := off % unit
		m := int(min(int64(len(p)-n), unit-in, size-off))
		if err := read(p[n:n+m], uint64(off/unit), in); err != nil {
			return n, err
		}
		n += m
		off += int64(m)
	}
	return n, nil
}

// fifoCache keeps the last n tables read.
type fifoCache[K comparable, V any] struct {
	m     map[K]V
	order []K
	n     int
}

func newFIFOCache[K comparable, V any](n int) *fifoCache[K, V] {
	return &fifoCache[K, V]{m: map[K]V{}, n: n}
}

func (c *fifoCache[K, V]) get(k K) (V, bool) {
	v, ok := c.m[k]
	return v, ok
}

func (c *fifoCache[K, V]) put(k K, v V) {
	if len(c.order) >= c.n {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
	c.m[k] = v
	c.order = append(c.order, k)
}
