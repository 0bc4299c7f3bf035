package image

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// virtualFS are the file system types whose contents are not part of the
// system on disk: kernel and memory pseudo file systems, and network or
// FUSE file systems, whose reads can block for as long as their server
// wants. A rootfs walk does not enter mounts of these types.
var virtualFS = map[string]bool{
	"proc": true, "sysfs": true, "devtmpfs": true, "devpts": true, "tmpfs": true, "ramfs": true,
	"cgroup": true, "cgroup2": true, "securityfs": true, "debugfs": true, "tracefs": true,
	"pstore": true, "bpf": true, "configfs": true, "fusectl": true, "hugetlbfs": true,
	"mqueue": true, "binfmt_misc": true, "autofs": true, "efivarfs": true, "nsfs": true,
	"rpc_pipefs": true, "selinuxfs": true, "nfsd": true,
	"nfs": true, "nfs4": true, "cifs": true, "smb3": true, "smbfs": true, "ceph": true,
	"glusterfs": true, "9p": true, "fuse": true, "sshfs": true,
}

// skipVirtual says whether a walk skips a mount of file system type fstype.
func skipVirtual(fstype string) bool {
	return virtualFS[fstype] || strings.HasPrefix(fstype, "fuse.")
}

// mount is one line of /proc/self/mountinfo.
type mount struct {
	point, fstype string
}

// maxMounts bounds what parseMountinfo keeps.
const maxMounts = 100000

// parseMountinfo reads the mount point and type of each line of a
// mountinfo file (proc(5)); lines it cannot read are left out.
func parseMountinfo(r io.Reader) []mount {
	var out []mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() && len(out) < maxMounts {
		fields := strings.Fields(sc.Text())
		sep := -1
		for i := 6; i < len(fields); i++ {
			if fields[i] == "-" {
				sep = i
				break
			}
		}
		if len(fields) < 5 || sep < 0 || sep+1 >= len(fields) {
			continue
		}
		out = append(out, mount{point: unescapeMount(fields[4]), fstype: fields[sep+1]})
	}
	return out
}

// unescapeMount decodes the octal escapes (\040 for a space) the kernel
// writes in mount points.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// virtualMounts returns the mount points strictly below dir (relative to
// it, slash-separated) that a walk of dir must not enter: mounts of the
// types skipVirtual names, read from /proc/self/mountinfo. When that file
// cannot be read and dir is "/", it returns the usual ones (proc, sys,
// dev, run).
func virtualMounts(dir string) map[string]bool {
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	skip := map[string]bool{}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		if dir == "/" {
			for _, p := range []string{"proc", "sys", "dev", "run"} {
				skip[p] = true
			}
		}
		return skip
	}
	defer f.Close()
	for _, m := range parseMountinfo(f) {
		rel, err := filepath.Rel(dir, m.point)
		if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
			continue
		}
		if skipVirtual(m.fstype) {
			skip[filepath.ToSlash(rel)] = true
		}
	}
	return skip
}
