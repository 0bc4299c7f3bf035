package host_test

import (
	"context"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/host"
	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// assess runs the host checks on an image and wants the profile
// os-release picks to be profile.
func assess(t *testing.T, spec, profile string) map[string]host.Result {
	t.Helper()
	ctx := context.Background()
	img, err := image.Open(ctx, spec, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	a, err := host.Run(ctx, img, "")
	if err != nil {
		t.Fatal(err)
	}
	if a.Profile.ID != profile {
		t.Fatalf("%s: profile %s, want %s from os-release", spec, a.Profile.ID, profile)
	}
	out := map[string]host.Result{}
	for _, r := range a.Results {
		out[r.Check.ID] = r
	}
	return out
}

// TestDiskImageSameAsRootfs assesses a real debootstrap root file system
// and GPT qcow2 disk images made from it (ext4 and XFS, /var on its own
// partition mounted through /etc/fstab): the checks plug into the walker,
// so the disk gets the same results, owners, setuid and sticky bits and
// symlinks included, except that /var now is a separate partition.
func TestDiskImageSameAsRootfs(t *testing.T) {
	rootfs := testutil.DebianRootfs(t, "cron", "openssh-server", "rsyslog", "sudo", "systemd-sysv")
	fromDir := assess(t, "rootfs:"+rootfs, "debian-12")
	for _, fsType := range []string{"ext4", "xfs"} {
		disk := testutil.BuildDisk(t, rootfs, testutil.DiskOptions{Table: "gpt", FS: fsType, Format: "qcow2", SeparateVar: true})
		fromDisk := assess(t, "vm:"+disk, "debian-12")
		if len(fromDir) != len(fromDisk) {
			t.Fatalf("%s: %d results from the folder, %d from the disk", fsType, len(fromDir), len(fromDisk))
		}
		changed := map[string]bool{"mount-var": true, "mount-var-nodev": true, "mount-var-nosuid": true}
		for id, d := range fromDir {
			if k := fromDisk[id]; !changed[id] && d.Status != k.Status {
				t.Errorf("%s: %s: %s from the folder (%s), %s from the disk (%s)", fsType, id, d.Status, d.Detail, k.Status, k.Detail)
			}
		}
		if fromDir["mount-var"].Status != host.Fail || fromDisk["mount-var"].Status != host.Pass {
			t.Errorf("%s: mount-var: folder %s, disk %s (%s); want fail, then pass", fsType, fromDir["mount-var"].Status, fromDisk["mount-var"].Status, fromDisk["mount-var"].Detail)
		}
	}
	if fromDir["sshd-permit-root-login"].Status != host.Fail || fromDir["perms-shadow"].Status != host.Pass || fromDir["uid0-only-root"].Status != host.Pass {
		t.Errorf("debootstrap defaults: root login %s, shadow %s, uid0 %s", fromDir["sshd-permit-root-login"].Status, fromDir["perms-shadow"].Status, fromDir["uid0-only-root"].Status)
	}
}

// TestAmazonLinux2023Disk: the AL2023 fixture (hardened, then broken on
// purpose) on GPT disks in qcow2, as ext4 and as XFS (what AL2023 AMIs
// use): the profile is picked from the disk's os-release and the packages
// come from the rpm database read off the disk. From both file systems
// every check says what it says on the folder: owners, setuid bits and
// symlink targets (authselect's PAM stacks, systemd's wants links) read
// off XFS inodes as off ext4 ones.
func TestAmazonLinux2023Disk(t *testing.T) {
	r := al2023Default(t)
	al2023Harden(r)
	al2023Break(r)
	dir := r.finish()
	fromDir := assess(t, "rootfs:"+dir, "amzn-2023")
	for _, fsType := range []string{"ext4", "xfs"} {
		disk := testutil.BuildDisk(t, dir, testutil.DiskOptions{Table: "gpt", FS: fsType, Format: "qcow2"})
		fromDisk := assess(t, "vm:"+disk, "amzn-2023")
		if len(fromDir) != len(fromDisk) {
			t.Fatalf("%s: %d results from the folder, %d from the disk", fsType, len(fromDir), len(fromDisk))
		}
		for id, d := range fromDir {
			if k := fromDisk[id]; d.Status != k.Status {
				t.Errorf("%s: %s: %s from the folder (%s), %s from the disk (%s)", fsType, id, d.Status, d.Detail, k.Status, k.Detail)
			}
		}
		for _, id := range []string{"grub-cfg-perms", "perms-crontab", "perms-cron-d", "perms-sshd-config", "perms-passwd", "perms-shadow"} {
			if got := fromDisk[id]; got.Status == host.NotChecked {
				t.Errorf("%s: %s not checked from the disk (%s)", fsType, id, got.Detail)
			}
		}
		for id, want := range map[string]host.Status{"svc-telnet-server": host.Fail, "auditd-installed": host.Pass, "audit-boot": host.Fail, "perms-shadow": host.Fail, "world-writable": host.Fail, "sshd-permit-root-login": host.Fail} {
			if got := fromDisk[id]; got.Status != want {
				t.Errorf("%s: %s from the disk: %s (%s), want %s", fsType, id, got.Status, got.Detail, want)
			}
		}
	}
}
