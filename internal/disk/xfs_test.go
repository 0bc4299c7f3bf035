package disk

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// xfsWant is one entry of the protofile xfsTree writes, as the reader
// must report it.
type xfsWant struct {
	mode     fs.FileMode
	uid, gid int
	link     string
}

// xfsTree writes a mkfs.xfs protofile (and the sources it names) with
// non-root owners, setuid, setgid and sticky bits, symlinks held in the inode and
// in remote blocks, a file of several blocks and a directory large enough
// to take leaf and node form, and returns it with what each entry must
// read as.
func xfsTree(t testing.TB) (string, map[string]xfsWant, []byte) {
	t.Helper()
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	big := bytes.Repeat([]byte("0123456789abcdef"), 12<<10)
	for p, b := range map[string][]byte{small: []byte("ID=amzn\nVERSION_ID=\"2023\"\n"), filepath.Join(dir, "big"): big} {
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	long := "/" + strings.Repeat("a", 40) + "/" + strings.Repeat("b", 500) + "/" + strings.Repeat("c", 400) + "/os-release"
	mid := "../usr/lib/" + strings.Repeat("./", 100) + "os-release"
	want := map[string]xfsWant{
		"etc":                  {fs.ModeDir | 0o755, 0, 0, ""},
		"etc/shadow":           {0o640, 0, 42, ""},
		"etc/os-release":       {fs.ModeSymlink | 0o777, 0, 0, "../usr/lib/os-release"},
		"etc/mid":              {fs.ModeSymlink | 0o777, 0, 0, mid},
		"etc/long":             {fs.ModeSymlink | 0o777, 1000, 1000, long},
		"usr":                  {fs.ModeDir | 0o755, 0, 0, ""},
		"usr/lib":              {fs.ModeDir | 0o755, 0, 0, ""},
		"usr/lib/os-release":   {0o644, 0, 0, ""},
		"usr/bin":              {fs.ModeDir | 0o755, 0, 0, ""},
		"usr/bin/su":           {fs.ModeSetuid | 0o755, 0, 0, ""},
		"usr/bin/write":        {fs.ModeSetgid | 0o711, 0, 5, ""},
		"home":                 {fs.ModeDir | 0o755, 0, 0, ""},
		"home/ec2-user":        {fs.ModeDir | 0o700, 1000, 1000, ""},
		"home/ec2-user/big":    {0o600, 1000, 1000, ""},
		"tmp":                  {fs.ModeDir | fs.ModeSticky | 0o777, 0, 0, ""},
		"var":                  {fs.ModeDir | 0o755, 0, 0, ""},
		"var/spool":            {fs.ModeDir | 0o755, 0, 0, ""},
		"var/spool/cron":       {fs.ModeDir | fs.ModeSetgid | 0o770, 0, 9, ""},
		"var/spool/cron/fifo":  {fs.ModeNamedPipe | 0o600, 4294967294, 4294967294, ""},
		"var/spool/many":       {fs.ModeDir | 0o755, 0, 0, ""},
		"var/spool/many/f0000": {0o644, 0, 0, ""},
	}
	var b strings.Builder
	b.WriteString("/dev/null\n0 0\nd--755 0 0\n")
	b.WriteString("etc d--755 0 0\nshadow ---640 0 42 " + small + "\nos-release l--777 0 0 ../usr/lib/os-release\n")
	b.WriteString("mid l--777 0 0 " + mid + "\nlong l--777 1000 1000 " + long + "\n$\n")
	b.WriteString("usr d--755 0 0\nlib d--755 0 0\nos-release ---644 0 0 " + small + "\n$\n")
	b.WriteString("bin d--755 0 0\nsu -u-755 0 0 " + small + "\nwrite --g711 0 5 " + small + "\n$\n$\n")
	b.WriteString("home d--755 0 0\nec2-user d--700 1000 1000\nbig ---600 1000 1000 " + filepath.Join(dir, "big") + "\n$\n$\n")
	b.WriteString("tmp d--777 0 0\n$\nvar d--755 0 0\nspool d--755 0 0\ncron d-g770 0 9\nfifo p--600 4294967294 4294967294\n$\nmany d--755 0 0\n")
	for i := 0; i < xfsMany; i++ {
		name := fmt.Sprintf("f%04d", i)
		if i > 0 {
			name += strings.Repeat("x", i%40)
		}
		fmt.Fprintf(&b, "%s ---644 0 0 %s\n", name, small)
	}
	b.WriteString("$\n$\n$\n$\n")
	proto := filepath.Join(dir, "proto")
	if err := os.WriteFile(proto, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return proto, want, big
}

// mkfsXFS runs mkfs.xfs with a protofile on an image of size ("16m") and
// returns the image (the environment lets mkfs.xfs go below its usual 300
// MB floor, as xfstests does). It sets the sticky bit (which protofiles
// cannot hold) on the directories named, and on v5 gives remoteLinks the
// block header mkfs.xfs leaves out (see headSymlink).
func mkfsXFS(t testing.TB, proto, size string, sticky, remoteLinks []string, opts ...string) []byte {
	t.Helper()
	testutil.RequireTool(t, "mkfs.xfs")
	testutil.RequireTool(t, "xfs_db")
	img := filepath.Join(t.TempDir(), "fs.img")
	cmd := exec.Command("mkfs.xfs", append(append([]string{"-q", "-f", "-p", proto}, opts...), "-d", "file=1,name="+img+",size="+size)...)
	cmd.Env = append(os.Environ(), "TEST_DIR=1", "TEST_DEV=1", "QA_CHECK_FS=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mkfs.xfs %v: %v\n%s", opts, err, out)
	}
	for _, dir := range sticky {
		if out, err := exec.Command("xfs_db", "-x", "-c", "path "+dir, "-c", "write core.mode 041777", img).CombinedOutput(); err != nil {
			t.Fatalf("xfs_db: %v\n%s", err, out)
		}
	}
	if slices.Contains(opts, "crc=0") {
		return readFile(t, img)
	}
	for _, link := range remoteLinks {
		headSymlink(t, img, link)
	}
	return readFile(t, img)
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// headSymlink puts the block header a v5 file system has on a remote
// symlink block before the target that mkfs.xfs 6.1 -p writes there
// alone (xfs_db then reports a CRC error and no symlink magic on that
// block, and Linux would refuse it). It writes what the kernel writes:
// magic, offset 0, length, CRC32C, UUID, owner inode, disk address.
// The target must fit in one block with the header.
func headSymlink(t testing.TB, img, link string) {
	t.Helper()
	db := func(cmds ...string) string {
		args := []string{"-r"}
		for _, c := range cmds {
			args = append(args, "-c", c)
		}
		out, err := exec.Command("xfs_db", append(args, img)...).CombinedOutput()
		if err != nil {
			t.Fatalf("xfs_db %v: %v\n%s", cmds, err, out)
		}
		return string(out)
	}
	var ino, size, fsb, count uint64
	var ag string
	out := db("path "+link, "p v3.inumber core.size", "bmap")
	if _, err := fmt.Sscanf(out, "v3.inumber = %d\ncore.size = %d\ndata offset 0 startblock %d %s count %d", &ino, &size, &fsb, &ag, &count); err != nil || count != 1 {
		t.Fatalf("%s: %v (count %d) in %q", link, err, count, out)
	}
	var off int64
	if _, err := fmt.Sscanf(strings.Fields(db(fmt.Sprintf("convert fsb %d byte", fsb)))[1], "(%d)", &off); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sb := make([]byte, 512)
	if _, err := f.ReadAt(sb, 0); err != nil {
		t.Fatal(err)
	}
	blk := make([]byte, binary.BigEndian.Uint32(sb[4:]))
	if _, err := f.ReadAt(blk, off); err != nil {
		t.Fatal(err)
	}
	if int(size)+xfsSymlinkHdr > len(blk) {
		t.Fatalf("%s: a target of %d bytes does not fit in a block of %d with the header", link, size, len(blk))
	}
	copy(blk[xfsSymlinkHdr:], blk[:size])
	be := binary.BigEndian
	copy(blk, "XSLM")
	be.PutUint32(blk[4:], 0)
	be.PutUint32(blk[8:], uint32(size))
	be.PutUint32(blk[12:], 0)
	copy(blk[16:32], sb[0x20:0x30])
	be.PutUint64(blk[32:], ino)
	be.PutUint64(blk[40:], uint64(off/512))
	be.PutUint64(blk[48:], 0)
	binary.LittleEndian.PutUint32(blk[12:], crc32.Checksum(blk, crc32.MakeTable(crc32.Castagnoli)))
	if _, err := f.WriteAt(blk, off); err != nil {
		t.Fatal(err)
	}
	if out := db("path "+link, "dblock 0", "type symlink", "p"); strings.Contains(out, "(bad)") || strings.Contains(out, "error") {
		t.Fatalf("%s: xfs_db finds the fixed block damaged:\n%s", link, out)
	}
}

// TestXFSInodes: owners, full modes and symlink targets (in the inode and
// in remote blocks) read from XFS file systems made by mkfs.xfs equal what
// the protofile says, on v5 (CRC, the default), v4, and with directory
// blocks larger than file system blocks; contents and paths through
// symlinks read back.
func TestXFSInodes(t *testing.T) {
	proto, want, big := xfsTree(t)
	for _, c := range []struct {
		opts  []string
		btree bool // whether the large directory needs a block map B+tree
	}{
		{nil, true},
		{[]string{"-m", "crc=0", "-n", "ftype=0", "-i", "size=256"}, true},
		{[]string{"-b", "size=1024", "-n", "size=8192"}, false},
	} {
		opts := c.opts
		t.Run(strings.Join(opts, " "), func(t *testing.T) {
			b := mkfsXFS(t, proto, "32m", []string{"/tmp"}, []string{"/etc/long"}, opts...)
			x, err := openXFS(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]*File{}
			var warnings []string
			many := 0
			err = x.Walk(context.Background(), func(f *File) error {
				if strings.HasPrefix(f.Path, "var/spool/many/") {
					many++
					if f.Path != "var/spool/many/f0000" {
						return nil
					}
				}
				got[f.Path] = f
				return nil
			}, func(s string) { warnings = append(warnings, s) })
			if err != nil || len(warnings) > 0 || many != xfsMany {
				t.Fatalf("walk: %v, warnings %v, %d entries in the large directory", err, warnings, many)
			}
			for p, w := range want {
				f := got[p]
				if f == nil {
					t.Errorf("%s: missing", p)
					continue
				}
				if f.Mode != w.mode || f.UID != w.uid || f.GID != w.gid || f.Linkname != w.link {
					t.Errorf("%s: mode %v uid %d gid %d link %q; want %v %d %d %q", p, f.Mode, f.UID, f.GID, f.Linkname, w.mode, w.uid, w.gid, w.link)
				}
			}
			if len(got) != len(want) {
				t.Errorf("%d entries, want %d", len(got), len(want))
			}
			if in := xfsLookup(t, x, "var/spool/many"); c.btree && in.format != xfsFmtBtree {
				t.Errorf("the large directory has data fork format %d; the test wants a B+tree (%d)", in.format, xfsFmtBtree)
			}
			r, err := got["home/ec2-user/big"].Open()
			if err != nil {
				t.Fatal(err)
			}
			if content, err := io.ReadAll(r); err != nil || !bytes.Equal(content, big) {
				t.Errorf("big: %d bytes, %v", len(content), err)
			}
			for _, p := range []string{"etc/os-release", "etc/mid", "/etc/./os-release"} {
				if b, err := x.ReadFile(p, 1<<20); err != nil || string(b) != "ID=amzn\nVERSION_ID=\"2023\"\n" {
					t.Errorf("ReadFile(%s) = %q, %v", p, b, err)
				}
			}
			if _, err := x.ReadFile("etc/long", 1<<20); err == nil {
				t.Error("ReadFile through a link to nowhere succeeded")
			}
		})
	}
}

// xfsMany is the number of entries of xfsTree's large directory: enough
// for a node directory whose blocks outgrow an extent list in the inode
// (a block map B+tree), with 512-byte inodes as with 256-byte ones.
const xfsMany = 3000

// xfsLookup finds an inode by path (no symlinks).
func xfsLookup(t *testing.T, x *xfsFS, name string) *xfsInode {
	t.Helper()
	in, err := x.inode(x.rootIno)
	for _, elem := range strings.Split(name, "/") {
		if err != nil {
			t.Fatal(err)
		}
		ents, err := x.readDir(in)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(ents, func(d dirent) bool { return d.name == elem })
		if i < 0 {
			t.Fatalf("%s: %s not found", name, elem)
		}
		in, err = x.inode(ents[i].ino)
	}
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// TestXFSDamage: damage in one inode, directory entry or extent of a real
// XFS image is a warning naming the path (or, for the superblock, an
// error), and the rest is read.
func TestXFSDamage(t *testing.T) {
	base := smallXFS(t)
	x, err := openXFS(bytes.NewReader(base), int64(len(base)))
	if err != nil {
		t.Fatal(err)
	}
	at := func(name string) int64 {
		off, err := x.inodeOffset(xfsLookup(t, x, name).ino)
		if err != nil {
			t.Fatal(err)
		}
		return off
	}
	// entry returns the offset of the inode number of name in the
	// short-form directory etc (4-byte numbers, a file type byte).
	entry := func(name string) int64 {
		fork := at("etc") + 176
		i := bytes.Index(base[fork:fork+336], []byte(name))
		if i < 0 {
			t.Fatalf("%s not in etc", name)
		}
		return fork + int64(i+len(name)+1)
	}
	be := binary.BigEndian
	for _, c := range []struct {
		name string
		edit func(b []byte)
		want string // in a warning
	}{
		{"inode number out of range", func(b []byte) { be.PutUint32(b[entry("su"):], 0xffffffff) }, "etc/su: inode 4294967295 out of range"},
		{"directory loop", func(b []byte) { be.PutUint32(b[entry("link"):], uint32(x.rootIno)) }, "etc/link: directory loop"},
		{"symlink of a terabyte", func(b []byte) { be.PutUint64(b[at("etc/far")+0x38:], 1<<40) }, "etc/far: inode"},
		{"extent beyond the end", func(b []byte) { be.PutUint64(b[at("etc/su")+176:], 0x1ff) }, "etc/su: inode"},
		{"extents more than fit", func(b []byte) { be.PutUint32(b[at("etc/su")+0x4c:], 1<<30) }, "extents do not fit in the inode"},
		{"no inode magic", func(b []byte) { b[at("d")] = 0 }, "d: inode"},
		{"inode holding another number", func(b []byte) { b[at("etc/link")+0x98+7]++ }, "holds the number"},
		{"directory block free space", func(b []byte) {
			in := xfsLookup(t, x, "d")
			ext, err := x.extents(in, 1)
			if err != nil || len(ext) == 0 {
				t.Fatal(err)
			}
			be.PutUint32(b[int64(ext[0].p)*x.bs+64:], 0xffff0003)
		}, "d: inode"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := bytes.Clone(base)
			c.edit(b)
			paths, damage, err := walkAll(&Disk{Partitions: []Partition{{Size: int64(len(b))}}, r: bytes.NewReader(b)})
			if err != nil || !strings.Contains(strings.Join(damage, "\n"), c.want) || len(paths) < 3 {
				t.Errorf("err %v, %d paths, damage %q; want a warning with %q", err, len(paths), damage, c.want)
			}
		})
	}
	if _, err := openXFS(bytes.NewReader(base[:8<<20]), 8<<20); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("a cut file system: %v", err)
	}
}
