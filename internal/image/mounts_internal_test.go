package image

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

const sampleMountinfo = `21 26 0:20 / /proc rw,relatime - proc proc rw
26 1 254:0 / / rw,relatime - ext4 /dev/vda rw
23 26 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,mode=755
27 26 0:24 / /mnt/my\040share ro,nosuid shared:5 master:1 - fuse.sshfs host:/x ro
28 26 8:1 / /boot rw,relatime - ext4 /dev/sda1 rw
29 26 0:30 / /srv/rootfs/proc rw - proc proc rw
broken line
30 26 0:31 / /x rw -
`

func TestParseMountinfo(t *testing.T) {
	got := parseMountinfo(strings.NewReader(sampleMountinfo))
	want := []mount{{"/proc", "proc"}, {"/", "ext4"}, {"/dev", "devtmpfs"}, {"/mnt/my share", "fuse.sshfs"}, {"/boot", "ext4"}, {"/srv/rootfs/proc", "proc"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

// TestVirtualMountsHere reads this machine's mountinfo: / has /proc,
// /sys and /dev mounted (in a container as on a host), and the walk of /
// must skip them but not / itself.
func TestVirtualMountsHere(t *testing.T) {
	if _, err := os.Stat("/proc/self/mountinfo"); err != nil {
		t.Skip("no /proc/self/mountinfo")
	}
	skip := virtualMounts("/")
	for _, p := range []string{"proc", "sys", "dev"} {
		if !skip[p] {
			t.Errorf("%s not skipped: %v", p, skip)
		}
	}
	if skip["."] || skip[""] || skip["usr"] {
		t.Errorf("skips too much: %v", skip)
	}
	if s := virtualMounts(t.TempDir()); len(s) != 0 {
		t.Errorf("a temp dir has virtual mounts below it: %v", s)
	}
}

func FuzzMountinfo(f *testing.F) {
	f.Add(sampleMountinfo)
	f.Fuzz(func(t *testing.T, s string) {
		for _, m := range parseMountinfo(strings.NewReader(s)) {
			if m.fstype == "" {
				t.Fatalf("empty type: %+v", m)
			}
		}
	})
}
