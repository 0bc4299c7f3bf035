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

// xfsFS reads XFS file systems (v4 and v5, the format of Amazon Linux
// and RHEL images): the superblock, inodes by number (owner, full mode),
// data forks held in the inode, in extent lists or in B+trees, short-form,
// block, leaf and node directories (their data blocks) and symlink
// targets held in the inode or in remote blocks. Every number read from
// the disk is checked against the file system's geometry before it is
// used, so damage gives an error naming the inode, never a panic, a loop
// or an allocation larger than the file system.
type xfsFS struct {
	r           io.ReaderAt
	bs          int64
	dirBlock    int64
	dblocks     uint64
	agblocks    uint64
	agcount     uint64
	agblklog    uint
	inopblog    uint
	inodeSize   int64
	rootIno     uint64
	v5, ftype   bool
	nrext64     bool
	uuid, label string

	// iblock is the inode block read last.
	iblock lastBlock
}

const (
	xfsInodeMagic    = 0x494e // "IN"
	xfsFmtLocal      = 1
	xfsFmtExtents    = 2
	xfsFmtBtree      = 3
	xfsFlagRealtime  = 0x1
	xfsFlag2NRExt64  = 0x10
	xfsSymlinkMaxLen = 1024
	xfsSymlinkHdr    = 56 // v5 remote symlink block header
	xfsMaxBtreeLevel = 9
)

func openXFS(r io.ReaderAt, size int64) (*xfsFS, error) {
	sb := make([]byte, 512)
	if _, err := r.ReadAt(sb, 0); err != nil {
		return nil, fmt.Errorf("xfs: reading the superblock: %w", err)
	}
	be := binary.BigEndian
	if string(sb[:4]) != "XFSB" {
		return nil, errNoFS
	}
	x := &xfsFS{r: r, bs: int64(be.Uint32(sb[4:])), dblocks: be.Uint64(sb[8:]), rootIno: be.Uint64(sb[0x38:]),
		agblocks: uint64(be.Uint32(sb[0x54:])), agcount: uint64(be.Uint32(sb[0x58:])),
		inodeSize: int64(be.Uint16(sb[0x68:])), agblklog: uint(sb[0x7C]), inopblog: uint(sb[0x7B])}
	blockLog, inodeLog := uint(sb[0x78]), uint(sb[0x7A])
	switch v := be.Uint16(sb[0x64:]) & 0xf; v {
	case 4:
		x.ftype = be.Uint32(sb[0xC8:])&0x200 != 0
	case 5:
		x.v5 = true
		incompat := be.Uint32(sb[0xD8:])
		x.ftype, x.nrext64 = incompat&0x1 != 0, incompat&0x20 != 0
	default:
		return nil, fmt.Errorf("xfs: superblock version %d is not supported", v)
	}
	if blockLog < 9 || blockLog > 16 || x.bs != 1<<blockLog {
		return nil, fmt.Errorf("xfs: block size %d (log %d) is invalid", x.bs, blockLog)
	}
	if inodeLog < 8 || inodeLog > 11 || x.inodeSize != 1<<inodeLog || inodeLog > blockLog || x.inopblog != blockLog-inodeLog {
		return nil, fmt.Errorf("xfs: inode size %d (log %d, %d per block log) is invalid", x.inodeSize, inodeLog, x.inopblog)
	}
	dirLog := uint(sb[0xC0])
	if blockLog+dirLog > 16 {
		return nil, fmt.Errorf("xfs: directory block size %d<<%d is invalid", x.bs, dirLog)
	}
	x.dirBlock = x.bs << dirLog
	if x.agblocks == 0 || x.agcount == 0 || x.agblklog > 31 || 1<<x.agblklog < x.agblocks || (x.agblklog > 0 && 1<<(x.agblklog-1) >= x.agblocks) {
		return nil, fmt.Errorf("xfs: allocation group geometry is invalid (%d groups of %d blocks, log %d)", x.agcount, x.agblocks, x.agblklog)
	}
	if x.dblocks == 0 || x.dblocks > x.agcount*x.agblocks || x.dblocks <= (x.agcount-1)*x.agblocks {
		return nil, fmt.Errorf("xfs: %d blocks do not fit %d groups of %d blocks", x.dblocks, x.agcount, x.agblocks)
	}
	if x.dblocks > uint64(size/x.bs) {
		return nil, fmt.Errorf("xfs: the file system has %d blocks of %d bytes but the partition holds only %d bytes (truncated?)", x.dblocks, x.bs, size)
	}
	x.uuid = formatUUID(sb[0x20:0x30])
	x.label = string(bytes.TrimRight(sb[0x6C:0x78], "\x00"))
	return x, nil
}

func (x *xfsFS) Type() string  { return "xfs" }
func (x *xfsFS) UUID() string  { return x.uuid }
func (x *xfsFS) Label() string { return x.label }

// Walk reports every entry depth-first; a directory is reported before
// its content, and each directory inode is entered once.
func (x *xfsFS) Walk(ctx context.Context, fn func(*File) error, warn func(string)) error {
	if err := walkTree(ctx, x, x.rootIno, fn, warn); err != nil {
		return fmt.Errorf("xfs: %w", err)
	}
	return nil
}

// ReadFile reads a file by path, following symlinks.
func (x *xfsFS) ReadFile(name string, limit int64) ([]byte, error) {
	return readTreeFile(x, x.rootIno, name, limit)
}

// xfsInode is the part of an inode bulwark reads.
type xfsInode struct {
	ino      uint64
	mode     uint16
	format   uint8
	flags    uint16
	uid, gid uint32
	size     int64
	nextents uint64
	fork     []byte // the data fork
}

// block converts a file system block number (allocation group in the high
// bits) of an extent of n blocks to a block number from the start of the
// file system, checking that the extent lies within its group and the
// file system.
func (x *xfsFS) block(fsb, n uint64) (uint64, error) {
	ag, agb := fsb>>x.agblklog, fsb&(1<<x.agblklog-1)
	if ag >= x.agcount || agb+n > x.agblocks {
		return 0, fmt.Errorf("block %d (+%d) lies outside its allocation group", fsb, n)
	}
	b := ag*x.agblocks + agb
	if b+n > x.dblocks {
		return 0, fmt.Errorf("block %d (+%d) lies beyond the file system", fsb, n)
	}
	return b, nil
}

// inodeOffset is the byte offset of inode ino.
func (x *xfsFS) inodeOffset(ino uint64) (int64, error) {
	b, err := x.block(ino>>x.inopblog, 1)
	if err != nil {
		return 0, fmt.Errorf("inode %d out of range: %w", ino, err)
	}
	return int64(b)*x.bs + int64(ino&(1<<x.inopblog-1))*x.inodeSize, nil
}

func (x *xfsFS) inode(ino uint64) (*xfsInode, error) {
	off, err := x.inodeOffset(ino)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, x.inodeSize)
	if err := x.iblock.readAt(x.r, x.bs, buf, off); err != nil {
		return nil, fmt.Errorf("inode %d: %w", ino, err)
	}
	be := binary.BigEndian
	if be.Uint16(buf) != xfsInodeMagic {
		return nil, fmt.Errorf("inode %d has no inode magic", ino)
	}
	in := &xfsInode{ino: ino, mode: be.Uint16(buf[2:]), format: buf[5], uid: be.Uint32(buf[8:]), gid: be.Uint32(buf[0xC:]),
		size: int64(be.Uint64(buf[0x38:])), nextents: uint64(be.Uint32(buf[0x4C:])), flags: be.Uint16(buf[0x5A:])}
	core := int64(100)
	switch v := buf[4]; {
	case v == 3 && x.v5:
		core = 176
		if stored := be.Uint64(buf[0x98:]); stored != ino {
			return nil, fmt.Errorf("inode %d holds the number %d", ino, stored)
		}
		if x.nrext64 && be.Uint64(buf[0x78:])&xfsFlag2NRExt64 != 0 {
			in.nextents = be.Uint64(buf[0x18:])
		}
	case (v == 1 || v == 2) && !x.v5:
	default:
		return nil, fmt.Errorf("inode %d: version %d is invalid here", ino, v)
	}
	if in.size < 0 {
		return nil, fmt.Errorf("inode %d: size is negative", ino)
	}
	end := x.inodeSize
	if forkoff := int64(buf[0x52]); forkoff != 0 {
		if core+forkoff*8 > x.inodeSize {
			return nil, fmt.Errorf("inode %d: attribute fork offset %d lies beyond the inode", ino, forkoff)
		}
		end = core + forkoff*8
	}
	in.fork = buf[core:end]
	return in, nil
}

func (x *xfsFS) stat(in *xfsInode) (fs.FileMode, uint32, uint32, int64) {
	return unixMode(uint32(in.mode)), in.uid, in.gid, in.size
}

// extents maps the first need blocks of a file from its extent list or
// B+tree, sorted by logical block.
func (x *xfsFS) extents(in *xfsInode, need uint64) ([]extent, error) {
	var out []extent
	var err error
	switch in.format {
	case xfsFmtExtents:
		if in.nextents > uint64(len(in.fork)/16) {
			return nil, fmt.Errorf("inode %d: %d extents do not fit in the inode", in.ino, in.nextents)
		}
		err = x.records(in.fork[:in.nextents*16], need, &out)
	case xfsFmtBtree:
		err = x.btreeRoot(in.fork, need, &out)
	default:
		err = fmt.Errorf("data fork format %d holds no blocks", in.format)
	}
	if err != nil {
		return nil, fmt.Errorf("inode %d: %w", in.ino, err)
	}
	slices.SortFunc(out, func(a, b extent) int { return cmp.Compare(a.l, b.l) })
	return out, nil
}

// records appends the extents of packed 16-byte extent records that map
// blocks below need.
func (x *xfsFS) records(b []byte, need uint64, out *[]extent) error {
	be := binary.BigEndian
	for i := 0; i+16 <= len(b); i += 16 {
		hi, lo := be.Uint64(b[i:]), be.Uint64(b[i+8:])
		l := hi << 1 >> 10
		p := (hi&0x1ff)<<43 | lo>>21
		n := lo & (1<<21 - 1)
		if l >= need || n == 0 {
			continue
		}
		pb, err := x.block(p, n)
		if err != nil {
			return fmt.Errorf("extent: %w", err)
		}
		*out = append(*out, extent{l: l, p: pb, n: min(n, need-l), uninit: hi>>63 != 0})
		if uint64(len(*out)) > need {
			return errExtentBudget
		}
	}
	return nil
}

// btreeRoot reads the root of a block map B+tree held in the inode: a
// level and a count, then the keys and pointers of as many records as fit.
func (x *xfsFS) btreeRoot(fork []byte, need uint64, out *[]extent) error {
	be := binary.BigEndian
	if len(fork) < 4 {
		return fmt.Errorf("block map root does not fit in the inode")
	}
	level, n := int(be.Uint16(fork)), int(be.Uint16(fork[2:]))
	max := (len(fork) - 4) / 16
	if level < 1 || level > xfsMaxBtreeLevel || n > max {
		return fmt.Errorf("block map root of level %d lists %d of %d records", level, n, max)
	}
	budget := 1 << 16
	for i := 0; i < n; i++ {
		if err := x.btreeNode(be.Uint64(fork[4+max*8+i*8:]), level-1, need, out, &budget); err != nil {
			return err
		}
	}
	return nil
}

// btreeNode reads one block of a block map B+tree at the expected level.
func (x *xfsFS) btreeNode(fsb uint64, level int, need uint64, out *[]extent, budget *int) error {
	if *budget--; *budget < 0 {
		return errExtentBudget
	}
	pb, err := x.block(fsb, 1)
	if err != nil {
		return fmt.Errorf("block map node: %w", err)
	}
	b := make([]byte, x.bs)
	if _, err := x.r.ReadAt(b, int64(pb)*x.bs); err != nil {
		return fmt.Errorf("reading block map node %d: %w", fsb, err)
	}
	be := binary.BigEndian
	hdr, magic := 24, "BMAP"
	if x.v5 {
		hdr, magic = 72, "BMA3"
	}
	max := (len(b) - hdr) / 16
	if string(b[:4]) != magic || int(be.Uint16(b[4:])) != level || int(be.Uint16(b[6:])) > max {
		return fmt.Errorf("block map node %d is damaged (magic %q, level %d where %d was expected)", fsb, b[:4], be.Uint16(b[4:]), level)
	}
	n := int(be.Uint16(b[6:]))
	if level == 0 {
		return x.records(b[hdr:hdr+n*16], need, out)
	}
	for i := 0; i < n; i++ {
		if err := x.btreeNode(be.Uint64(b[hdr+max*8+i*8:]), level-1, need, out, budget); err != nil {
			return err
		}
	}
	return nil
}

// blocks returns a reader of size bytes of a file's blocks.
func (x *xfsFS) blocks(in *xfsInode, size int64) (io.Reader, error) {
	if in.flags&xfsFlagRealtime != 0 {
		return nil, fmt.Errorf("inode %d: the file lies on a realtime device, not read", in.ino)
	}
	if size > int64(x.dblocks)*x.bs {
		return nil, fmt.Errorf("inode %d: size %d is larger than the file system", in.ino, size)
	}
	ext, err := x.extents(in, uint64((size+x.bs-1)/x.bs))
	if err != nil {
		return nil, err
	}
	return &extentReader{r: x.r, bs: x.bs, ext: ext, size: size}, nil
}

func (x *xfsFS) open(in *xfsInode) (io.Reader, error) {
	if in.format == xfsFmtLocal {
		if in.size > int64(len(in.fork)) {
			return nil, fmt.Errorf("inode %d: %d bytes of data do not fit in the inode", in.ino, in.size)
		}
		return bytes.NewReader(in.fork[:in.size]), nil
	}
	return x.blocks(in, in.size)
}

func (x *xfsFS) readlink(in *xfsInode) (string, error) {
	if in.size < 1 || in.size > xfsSymlinkMaxLen {
		return "", fmt.Errorf("inode %d: symlink target of %d bytes", in.ino, in.size)
	}
	if in.format == xfsFmtLocal {
		r, err := x.open(in)
		if err != nil {
			return "", err
		}
		b, err := io.ReadAll(r)
		return string(b), err
	}
	per := x.bs
	if x.v5 {
		per -= xfsSymlinkHdr
	}
	nblocks := (in.size + per - 1) / per
	r, err := x.blocks(in, nblocks*x.bs)
	if err != nil {
		return "", err
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return "", fmt.Errorf("inode %d: %w", in.ino, err)
	}
	if !x.v5 {
		return string(b[:in.size]), nil
	}
	var target []byte
	for i := int64(0); i < nblocks; i++ {
		blk := b[i*x.bs : (i+1)*x.bs]
		if string(blk[:4]) != "XSLM" {
			return "", fmt.Errorf("inode %d: symlink block %d has no symlink magic", in.ino, i)
		}
		target = append(target, blk[xfsSymlinkHdr:xfsSymlinkHdr+min(per, in.size-int64(len(target)))]...)
	}
	return string(target), nil
}

// readDir lists a short-form directory held in the inode, or the entries
// of the data blocks of a block, leaf or node directory.
func (x *xfsFS) readDir(in *xfsInode) ([]dirent, error) {
	if in.size > maxDirSize {
		return nil, fmt.Errorf("inode %d: directory of %d bytes, more than %d", in.ino, in.size, maxDirSize)
	}
	if in.format == xfsFmtLocal {
		if in.size > int64(len(in.fork)) {
			return nil, fmt.Errorf("inode %d: short-form directory of %d bytes does not fit in the inode", in.ino, in.size)
		}
		return x.shortDir(in.ino, in.fork[:in.size])
	}
	// A directory's size covers its data blocks; the leaf and free-index
	// blocks lie past it (from 32 GiB on).
	r, err := x.blocks(in, in.size)
	if err != nil {
		return nil, err
	}
	// Read at the size the inode gives: one allocation, no growth.
	data := make([]byte, in.size)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, fmt.Errorf("inode %d: %w", in.ino, err)
	}
	var out []dirent
	var errs []error
	for off := int64(0); off < int64(len(data)); off += x.dirBlock {
		blk := data[off:min(off+x.dirBlock, int64(len(data)))]
		if err := x.dataBlock(blk, &out); err != nil {
			errs = append(errs, fmt.Errorf("inode %d: directory block at byte %d: %w", in.ino, off, err))
		}
	}
	return out, errors.Join(errs...)
}

// shortDir parses a short-form directory: a count, a count of 8-byte
// inode numbers, the parent, then the entries.
func (x *xfsFS) shortDir(ino uint64, b []byte) ([]dirent, error) {
	if len(b) < 2 {
		return nil, fmt.Errorf("inode %d: short-form directory header is cut", ino)
	}
	count, inoLen := int(b[0]), 4
	if b[1] != 0 {
		inoLen = 8
	}
	ftype := 0
	if x.ftype {
		ftype = 1
	}
	var out []dirent
	off := 2 + inoLen
	for i := 0; i < count; i++ {
		if off >= len(b) {
			return out, fmt.Errorf("inode %d: short-form directory lists %d entries, holds %d", ino, count, i)
		}
		nameLen := int(b[off])
		next := off + 3 + nameLen + ftype + inoLen
		if nameLen == 0 || next > len(b) {
			return out, fmt.Errorf("inode %d: corrupt short-form entry at byte %d", ino, off)
		}
		name := string(b[off+3 : off+3+nameLen])
		num := b[next-inoLen : next]
		var n uint64
		for _, c := range num {
			n = n<<8 | uint64(c)
		}
		out = append(out, dirent{ino: n, name: name})
		off = next
	}
	return out, nil
}

// dataBlock appends the entries of one directory data block (a block
// directory's single block holds a leaf and a tail after them). A block
// of zeros is a hole and holds nothing.
func (x *xfsFS) dataBlock(b []byte, out *[]dirent) error {
	be := binary.BigEndian
	if int64(len(b)) < x.dirBlock {
		return fmt.Errorf("cut short")
	}
	hdr, block, data := 16, "XD2B", "XD2D"
	if x.v5 {
		hdr, block, data = 64, "XDB3", "XDD3"
	}
	end := len(b)
	switch string(b[:4]) {
	case data:
	case block:
		leaf := int(be.Uint32(b[end-8:]))
		if leaf > (end-hdr-8)/8 {
			return fmt.Errorf("block directory leaf of %d entries does not fit", leaf)
		}
		end -= 8 + leaf*8
	case "\x00\x00\x00\x00":
		return nil
	default:
		return fmt.Errorf("no directory data magic (%q)", b[:4])
	}
	ftype := 0
	if x.ftype {
		ftype = 1
	}
	for off := hdr; off < end; {
		if end-off < 8 {
			return fmt.Errorf("entry at byte %d is cut", off)
		}
		if be.Uint16(b[off:]) == 0xffff {
			n := int(be.Uint16(b[off+2:]))
			if n < 8 || n%8 != 0 || off+n > end {
				return fmt.Errorf("free space of %d bytes at byte %d is invalid", n, off)
			}
			off += n
			continue
		}
		if end-off < 16 {
			return fmt.Errorf("entry at byte %d is cut", off)
		}
		nameLen := int(b[off+8])
		n := (8 + 1 + nameLen + ftype + 2 + 7) &^ 7
		if nameLen == 0 || off+n > end {
			return fmt.Errorf("entry at byte %d is damaged", off)
		}
		if name := string(b[off+9 : off+9+nameLen]); name != "." && name != ".." {
			*out = append(*out, dirent{ino: be.Uint64(b[off:]), name: name})
		}
		off += n
	}
	return nil
}
