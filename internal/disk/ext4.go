package disk

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
)

// ext4 reads ext2, ext3 and ext4 file systems: superblock, group
// descriptors (meta_bg included), inodes, extent trees and the block maps
// of ext2/3, linear and hashed directories, inline data held in the inode.
// Every count and pointer read from the disk is checked against the size
// of the file system before it is used.
type ext4 struct {
	r           io.ReaderAt
	bs          int64
	blocks      uint64
	inodeSize   int64
	ipg         uint32
	inodes      uint32
	inodeTables []uint64
	fileType    bool
	uuid, label string

	// iblock is the inode table block read last.
	iblock lastBlock
}

const (
	ext4RootIno        = 2
	ext4FlagExtents    = 0x80000
	ext4FlagInline     = 0x10000000
	ext4ExtentMagic    = 0xF30A
	ext4MaxExtentDepth = 5
	// maxDirSize bounds the directories read into memory.
	maxDirSize = 64 << 20
	// maxDepth bounds how deep a walk descends.
	maxDepth = 256
)

func openExt4(r io.ReaderAt, size int64) (*ext4, error) {
	sb := make([]byte, 1024)
	if _, err := r.ReadAt(sb, 1024); err != nil {
		return nil, fmt.Errorf("ext4: reading the superblock: %w", err)
	}
	le := binary.LittleEndian
	if le.Uint16(sb[0x38:]) != 0xEF53 {
		return nil, errNoFS
	}
	logBS := le.Uint32(sb[0x18:])
	if logBS > 6 {
		return nil, fmt.Errorf("ext4: block size 1024<<%d is invalid", logBS)
	}
	e := &ext4{r: r, bs: 1024 << logBS, inodes: le.Uint32(sb[0:]), ipg: le.Uint32(sb[0x28:]), inodeSize: 128}
	if le.Uint32(sb[0x4C:]) >= 1 {
		e.inodeSize = int64(le.Uint16(sb[0x58:]))
	}
	if e.inodeSize < 128 || e.inodeSize > e.bs || e.inodeSize&(e.inodeSize-1) != 0 {
		return nil, fmt.Errorf("ext4: inode size %d is invalid", e.inodeSize)
	}
	incompat := le.Uint32(sb[0x60:])
	if incompat&0x1 != 0 || incompat&0x8 != 0 {
		return nil, fmt.Errorf("ext4: compressed or journal-device file systems are not supported")
	}
	e.fileType = incompat&0x2 != 0
	is64 := incompat&0x80 != 0
	descSize := int64(32)
	e.blocks = uint64(le.Uint32(sb[4:]))
	if is64 {
		descSize = int64(le.Uint16(sb[0xFE:]))
		e.blocks |= uint64(le.Uint32(sb[0x150:])) << 32
		if descSize < 64 || descSize > 1024 || descSize&(descSize-1) != 0 {
			return nil, fmt.Errorf("ext4: group descriptor size %d is invalid", descSize)
		}
	}
	if e.blocks == 0 || e.blocks > uint64(size/e.bs) {
		return nil, fmt.Errorf("ext4: the file system has %d blocks of %d bytes but the partition holds only %d bytes (truncated?)", e.blocks, e.bs, size)
	}
	firstData := uint64(le.Uint32(sb[0x14:]))
	bpg := uint64(le.Uint32(sb[0x20:]))
	if bpg == 0 || e.ipg == 0 || firstData >= e.blocks {
		return nil, fmt.Errorf("ext4: superblock geometry is invalid (blocks per group %d, inodes per group %d)", bpg, e.ipg)
	}
	groups := (e.blocks - firstData + bpg - 1) / bpg
	if groups*uint64(e.ipg) < uint64(e.inodes) || groups > e.blocks {
		return nil, fmt.Errorf("ext4: %d groups of %d inodes cannot hold %d inodes", groups, e.ipg, e.inodes)
	}
	copy16 := func(b []byte) string { return string(bytes.TrimRight(b, "\x00")) }
	e.uuid = formatUUID(sb[0x68:0x78])
	e.label = copy16(sb[0x78:0x88])

	perBlock := uint64(e.bs / descSize)
	descBlocks := (groups + perBlock - 1) / perBlock
	metaBG := incompat&0x10 != 0
	firstMeta := uint64(le.Uint32(sb[0x104:]))
	sparse := le.Uint32(sb[0x64:])&0x1 != 0
	e.inodeTables = make([]uint64, 0, groups)
	blk := make([]byte, e.bs)
	for j := uint64(0); j < descBlocks; j++ {
		at := firstData + 1 + j
		if metaBG && j >= firstMeta {
			g := j * perBlock
			at = firstData + g*bpg
			if hasSuper(g, sparse) {
				at++
			}
		}
		if at >= e.blocks {
			return nil, fmt.Errorf("ext4: group descriptor block %d lies beyond the file system", at)
		}
		if _, err := r.ReadAt(blk, int64(at)*e.bs); err != nil {
			return nil, fmt.Errorf("ext4: reading group descriptors: %w", err)
		}
		for k := uint64(0); k < perBlock && uint64(len(e.inodeTables)) < groups; k++ {
			d := blk[int64(k)*descSize:]
			t := uint64(le.Uint32(d[8:]))
			if is64 {
				t |= uint64(le.Uint32(d[0x28:])) << 32
			}
			e.inodeTables = append(e.inodeTables, t)
		}
	}
	return e, nil
}

// hasSuper reports whether group g holds a superblock backup.
func hasSuper(g uint64, sparse bool) bool {
	if g <= 1 || !sparse {
		return true
	}
	for _, b := range []uint64{3, 5, 7} {
		n := b
		for n < g {
			n *= b
		}
		if n == g {
			return true
		}
	}
	return false
}

func formatUUID(b []byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (e *ext4) Type() string  { return "ext4" }
func (e *ext4) UUID() string  { return e.uuid }
func (e *ext4) Label() string { return e.label }

// ext4Inode is the part of an inode bulwark reads.
type ext4Inode struct {
	ino      uint32
	mode     uint16
	uid, gid uint32
	size     int64
	flags    uint32
	block    [60]byte
}

func (e *ext4) inode(ino uint64) (*ext4Inode, error) {
	if ino < 1 || ino > uint64(e.inodes) {
		return nil, fmt.Errorf("inode %d out of range (the file system has %d)", ino, e.inodes)
	}
	g, idx := uint32(ino-1)/e.ipg, uint32(ino-1)%e.ipg
	if int(g) >= len(e.inodeTables) {
		return nil, fmt.Errorf("inode %d: group %d out of range", ino, g)
	}
	table := e.inodeTables[g]
	if table == 0 || table >= e.blocks {
		return nil, fmt.Errorf("inode %d: inode table at block %d lies beyond the file system", ino, table)
	}
	var raw [128]byte
	b := raw[:]
	if err := e.iblock.readAt(e.r, e.bs, b, int64(table)*e.bs+int64(idx)*e.inodeSize); err != nil {
		return nil, fmt.Errorf("inode %d: %w", ino, err)
	}
	le := binary.LittleEndian
	in := &ext4Inode{ino: uint32(ino), mode: le.Uint16(b[0:]),
		uid:   uint32(le.Uint16(b[2:])) | uint32(le.Uint16(b[0x78:]))<<16,
		gid:   uint32(le.Uint16(b[0x18:])) | uint32(le.Uint16(b[0x7A:]))<<16,
		size:  int64(uint64(le.Uint32(b[4:])) | uint64(le.Uint32(b[0x6C:]))<<32),
		flags: le.Uint32(b[0x20:])}
	copy(in.block[:], b[0x28:0x28+60])
	if in.size < 0 {
		return nil, fmt.Errorf("inode %d: size is negative", ino)
	}
	return in, nil
}

func (e *ext4) stat(in *ext4Inode) (fs.FileMode, uint32, uint32, int64) {
	return unixMode(uint32(in.mode)), in.uid, in.gid, in.size
}

// extent maps n blocks from logical block l to physical block p; uninit
// extents read as zeros.
type extent struct {
	l, p, n uint64
	uninit  bool
}

// extents maps a file's blocks, bounded by the blocks its size needs.
func (e *ext4) extents(in *ext4Inode) ([]extent, error) {
	need := uint64((in.size + e.bs - 1) / e.bs)
	var out []extent
	var err error
	if in.flags&ext4FlagExtents != 0 {
		budget := 1 << 16
		err = e.extentNode(in.block[:], -1, need, &out, &budget)
	} else {
		err = e.blockMap(in, need, &out)
	}
	if err != nil {
		return nil, fmt.Errorf("inode %d: %w", in.ino, err)
	}
	slices.SortFunc(out, func(a, b extent) int { return cmp.Compare(a.l, b.l) })
	return out, nil
}

var errExtentBudget = errors.New("the extent tree has more nodes or extents than the file has blocks (a loop?)")

func (e *ext4) extentNode(b []byte, depth int, need uint64, out *[]extent, budget *int) error {
	le := binary.LittleEndian
	if len(b) < 12 || le.Uint16(b) != ext4ExtentMagic {
		return fmt.Errorf("extent tree node has no extent magic")
	}
	n, max, d := int(le.Uint16(b[2:])), int(le.Uint16(b[4:])), int(le.Uint16(b[6:]))
	if n > max || 12+12*max > len(b) {
		return fmt.Errorf("extent tree node lists %d of %d entries, more than fit", n, max)
	}
	if (depth >= 0 && d != depth) || d > ext4MaxExtentDepth {
		return fmt.Errorf("extent tree node has depth %d where %d was expected", d, depth)
	}
	for i := 0; i < n; i++ {
		if *budget--; *budget < 0 {
			return errExtentBudget
		}
		x := b[12+12*i:]
		l := uint64(le.Uint32(x))
		if d == 0 {
			cnt, uninit := uint64(le.Uint16(x[4:])), false
			if cnt > 32768 {
				cnt, uninit = cnt-32768, true
			}
			p := uint64(le.Uint16(x[6:]))<<32 | uint64(le.Uint32(x[8:]))
			if l >= need || cnt == 0 {
				continue
			}
			if p+cnt > e.blocks || p+cnt < p {
				return fmt.Errorf("extent at block %d (+%d) lies beyond the file system", p, cnt)
			}
			*out = append(*out, extent{l: l, p: p, n: min(cnt, need-l), uninit: uninit})
			if uint64(len(*out)) > need {
				return errExtentBudget
			}
			continue
		}
		child := uint64(le.Uint32(x[4:])) | uint64(le.Uint16(x[8:]))<<32
		if child == 0 || child >= e.blocks {
			return fmt.Errorf("extent index points to block %d, beyond the file system", child)
		}
		cb := make([]byte, e.bs)
		if _, err := e.r.ReadAt(cb, int64(child)*e.bs); err != nil {
			return fmt.Errorf("reading extent block %d: %w", child, err)
		}
		if err := e.extentNode(cb, d-1, need, out, budget); err != nil {
			return err
		}
	}
	return nil
}

// blockMap maps an ext2/3 file through its direct and (double, triple)
// indirect block pointers.
func (e *ext4) blockMap(in *ext4Inode, need uint64, out *[]extent) error {
	le := binary.LittleEndian
	add := func(l, p uint64) error {
		if p >= e.blocks {
			return fmt.Errorf("block pointer %d lies beyond the file system", p)
		}
		if k := len(*out) - 1; k >= 0 && (*out)[k].l+(*out)[k].n == l && (*out)[k].p+(*out)[k].n == p {
			(*out)[k].n++
			return nil
		}
		*out = append(*out, extent{l: l, p: p, n: 1})
		return nil
	}
	per := uint64(e.bs / 4)
	var walk func(ptr uint64, level int, l uint64) error
	walk = func(ptr uint64, level int, l uint64) error {
		if l >= need || ptr == 0 {
			return nil
		}
		if level == 0 {
			return add(l, ptr)
		}
		if ptr >= e.blocks {
			return fmt.Errorf("indirect block %d lies beyond the file system", ptr)
		}
		b := make([]byte, e.bs)
		if _, err := e.r.ReadAt(b, int64(ptr)*e.bs); err != nil {
			return fmt.Errorf("reading indirect block %d: %w", ptr, err)
		}
		span := uint64(1)
		for i := 1; i < level; i++ {
			span *= per
		}
		for i := uint64(0); i < per; i++ {
			if err := walk(uint64(le.Uint32(b[4*i:])), level-1, l+i*span); err != nil {
				return err
			}
		}
		return nil
	}
	l := uint64(0)
	for i := 0; i < 15; i++ {
		level, span := 0, uint64(1)
		switch i {
		case 12:
			level, span = 1, per
		case 13:
			level, span = 2, per*per
		case 14:
			level, span = 3, per*per*per
		}
		if err := walk(uint64(le.Uint32(in.block[4*i:])), level, l); err != nil {
			return err
		}
		l += span
	}
	return nil
}

// open returns a reader of a regular file's or directory's content.
func (e *ext4) open(in *ext4Inode) (io.Reader, error) {
	if in.flags&ext4FlagInline != 0 {
		if in.size > int64(len(in.block)) {
			return nil, fmt.Errorf("inode %d: inline data beyond the inode (%d bytes) is not supported", in.ino, in.size)
		}
		return bytes.NewReader(in.block[:in.size]), nil
	}
	if in.size > int64(e.blocks)*e.bs {
		return nil, fmt.Errorf("inode %d: size %d is larger than the file system", in.ino, in.size)
	}
	ext, err := e.extents(in)
	if err != nil {
		return nil, err
	}
	return &extentReader{r: e.r, bs: e.bs, ext: ext, size: in.size}, nil
}

// extentReader reads a file through its sorted extents; holes and
// uninitialized extents read as zeros.
type extentReader struct {
	r    io.ReaderAt
	bs   int64
	ext  []extent
	size int64
	pos  int64
	i    int
}

func (x *extentReader) Read(p []byte) (int, error) {
	if x.pos >= x.size {
		return 0, io.EOF
	}
	if rem := x.size - x.pos; int64(len(p)) > rem {
		p = p[:rem]
	}
	blk := uint64(x.pos / x.bs)
	for x.i < len(x.ext) && x.ext[x.i].l+x.ext[x.i].n <= blk {
		x.i++
	}
	if x.i == len(x.ext) || x.ext[x.i].l > blk {
		end := x.size
		if x.i < len(x.ext) {
			end = min(end, int64(x.ext[x.i].l)*x.bs)
		}
		n := min(int64(len(p)), end-x.pos)
		clear(p[:n])
		x.pos += n
		return int(n), nil
	}
	ex := x.ext[x.i]
	end := min(x.size, int64(ex.l+ex.n)*x.bs)
	n := min(int64(len(p)), end-x.pos)
	if ex.uninit {
		clear(p[:n])
	} else {
		off := int64(ex.p)*x.bs + x.pos - int64(ex.l)*x.bs
		m, err := x.r.ReadAt(p[:n], off)
		if m < int(n) {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			x.pos += int64(m)
			return m, err
		}
	}
	x.pos += n
	return int(n), nil
}

func (e *ext4) readDir(in *ext4Inode) ([]dirent, error) {
	if in.size > maxDirSize {
		return nil, fmt.Errorf("directory of %d bytes, more than %d", in.size, maxDirSize)
	}
	var data []byte
	chunk := e.bs
	if in.flags&ext4FlagInline != 0 {
		// The inode holds the parent's number, then entries.
		if in.size > int64(len(in.block)) {
			return nil, fmt.Errorf("inode %d: inline directory beyond the inode is not supported", in.ino)
		}
		data, chunk = in.block[4:in.size], in.size-4
	} else {
		r, err := e.open(in)
		if err != nil {
			return nil, err
		}
		// Read at the size the inode gives: one allocation, no growth.
		data = make([]byte, in.size)
		if _, err := io.ReadFull(r, data); err != nil {
			return nil, err
		}
	}
	le := binary.LittleEndian
	var out []dirent
	for start := int64(0); start < int64(len(data)); start += chunk {
		b := data[start:min(start+chunk, int64(len(data)))]
		for off := 0; off+8 <= len(b); {
			ino, rec := le.Uint32(b[off:]), int(le.Uint16(b[off+4:]))
			nameLen := int(b[off+6])
			if !e.fileType {
				nameLen = int(le.Uint16(b[off+6:]))
			}
			if rec < 8 || rec%4 != 0 || off+rec > len(b) || 8+nameLen > rec {
				return out, fmt.Errorf("inode %d: corrupt directory entry at byte %d", in.ino, start+int64(off))
			}
			if ino != 0 && nameLen > 0 {
				name := string(b[off+8 : off+8+nameLen])
				if name != "." && name != ".." {
					out = append(out, dirent{ino: uint64(ino), name: name})
				}
			}
			off += rec
		}
	}
	return out, nil
}

func (e *ext4) readlink(in *ext4Inode) (string, error) {
	if in.size > 4096 {
		return "", fmt.Errorf("inode %d: symlink target of %d bytes", in.ino, in.size)
	}
	if in.flags&(ext4FlagExtents|ext4FlagInline) == 0 && in.size < 60 {
		return string(in.block[:in.size]), nil
	}
	r, err := e.open(in)
	if err != nil {
		return "", err
	}
	b, err := io.ReadAll(r)
	return string(b), err
}

// ConcurrentReads implements ConcurrentFS: a file's reader holds its own
// extents and position, and reads the disk through its ReaderAt only.
func (e *ext4) ConcurrentReads() bool { return true }

// Walk reports every entry depth-first; a directory is reported before
// its content, and each directory inode is entered once.
func (e *ext4) Walk(ctx context.Context, fn func(*File) error, warn func(string)) error {
	if err := walkTree(ctx, e, ext4RootIno, fn, warn); err != nil {
		return fmt.Errorf("ext4: %w", err)
	}
	return nil
}

// ReadFile reads a file by path, following symlinks.
func (e *ext4) ReadFile(name string, limit int64) ([]byte, error) {
	return readTreeFile(e, ext4RootIno, name, limit)
}
