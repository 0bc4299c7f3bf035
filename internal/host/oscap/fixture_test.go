package oscap

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAgreementFixture is the fast side-by-side test for CI: OpenSCAP and
// bulwark on two small root file systems the test writes (a hardened one
// and one broken on purpose, a few dozen files each, no debootstrap), over
// every mapped rule that reads files. Every counted disagreement must be
// one the mapping explains.
func TestAgreementFixture(t *testing.T) {
	requireOscap(t)
	if os.Geteuid() != 0 {
		// The fixture's files are owned by root and the shadow group.
		t.Skip("needs root to give the fixture's files their owners")
	}
	m, err := LoadMapping()
	if err != nil {
		t.Fatal(err)
	}
	ds := anyDebianDS(t)
	ta := &tally{m: m.fileRules()}
	good := fixtureRootfs(t, nil)
	ta.add(t, "fixture-hardened", good, ds)
	ta.add(t, "fixture-broken", fixtureRootfs(t, breakIt), ds)
	if ta.compared < 60 {
		t.Errorf("only %d checks compared", ta.compared)
	}
	ta.report(t, 2, 90)
}

// fileRules is the mapping without the checks whose SSG rules read the
// running system (Offline): the fast test does not wait for them.
func (m *Mapping) fileRules() *Mapping {
	out := *m
	out.Map = nil
	for _, p := range m.Map {
		on := true
		for _, r := range p.Rules {
			on = on && !m.offline(r)
		}
		if on {
			out.Map = append(out.Map, p)
		}
	}
	return &out
}

// fixtureRootfs writes a small Debian 12 root file system with the files
// the mapped checks read, hardened as CIS asks, then applies change.
func fixtureRootfs(t *testing.T, change func(*rootfs)) string {
	dir := filepath.Join(t.TempDir(), "rootfs")
	r := &rootfs{t: t, dir: dir}
	const shadowGID = 42
	files := []struct {
		path, content string
		mode          os.FileMode
		gid           int
	}{
		{"etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n", 0o644, 0},
		{"etc/debian_version", "12.8\n", 0o644, 0},
		{"etc/passwd", fixturePasswd, 0o644, 0},
		{"etc/passwd-", fixturePasswd, 0o644, 0},
		{"etc/group", fixtureGroup, 0o644, 0},
		{"etc/group-", fixtureGroup, 0o644, 0},
		{"etc/shadow", fixtureShadow, 0o640, shadowGID},
		{"etc/shadow-", fixtureShadow, 0o640, shadowGID},
		{"etc/gshadow", "root:*::\nshadow:*::\nsudo:*::\nalice:!::\n", 0o640, shadowGID},
		{"etc/gshadow-", "root:*::\nshadow:*::\nsudo:*::\nalice:!::\n", 0o640, shadowGID},
		{"etc/login.defs", "PASS_MAX_DAYS\t365\nPASS_MIN_DAYS\t1\nPASS_WARN_AGE\t7\nUMASK\t\t027\nENCRYPT_METHOD SHA512\n", 0o644, 0},
		{"etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\nUsePAM yes\nX11Forwarding no\nSubsystem sftp /usr/lib/openssh/sftp-server\n", 0o600, 0},
		{"etc/ssh/ssh_host_ed25519_key", "-----BEGIN OPENSSH PRIVATE KEY-----\n-----END OPENSSH PRIVATE KEY-----\n", 0o600, 0},
		{"etc/ssh/ssh_host_ed25519_key.pub", "ssh-ed25519 AAAA root@fixture\n", 0o644, 0},
		{"etc/pam.d/common-auth", "auth [success=1 default=ignore] pam_unix.so\nauth requisite pam_deny.so\nauth required pam_permit.so\n", 0o644, 0},
		{"etc/modprobe.d/cis.conf", "install rds /bin/false\nblacklist rds\ninstall tipc /bin/false\nblacklist tipc\n", 0o644, 0},
		{"etc/rsyslog.conf", "module(load=\"imuxsock\")\n*.*;auth,authpriv.none -/var/log/syslog\n", 0o644, 0},
		{"etc/sudoers", "Defaults env_reset\nDefaults use_pty\nroot ALL=(ALL:ALL) ALL\n%sudo ALL=(ALL:ALL) ALL\n@includedir /etc/sudoers.d\n", 0o440, 0},
		{"etc/audit/auditd.conf", "log_file = /var/log/audit/audit.log\nlog_group = adm\nmax_log_file = 8\nnum_logs = 5\nmax_log_file_action = ROTATE\nspace_left_action = SYSLOG\nadmin_space_left_action = SUSPEND\ndisk_full_action = SUSPEND\ndisk_error_action = SUSPEND\n", 0o640, 0},
		{"etc/audit/rules.d/audit.rules", "-D\n-b 8192\n-f 1\n--backlog_wait_time 60000\n", 0o640, 0},
		{"usr/lib/systemd/system/auditd.service", "[Unit]\nDescription=Security Auditing Service\n[Service]\nType=forking\nExecStart=/sbin/auditd\nExecStartPost=-/sbin/augenrules --load\n", 0o644, 0},
		{"var/lib/dpkg/status", fixtureStatus, 0o644, 0},
		{"etc/crontab", "SHELL=/bin/sh\n17 * * * * root cd / && run-parts --report /etc/cron.hourly\n", 0o644, 0},
		{"etc/fstab", "# /etc/fstab: static file system information.\n", 0o644, 0},
	}
	for _, f := range files {
		r.write(f.path, f.content, f.mode)
		if err := os.Chown(filepath.Join(dir, f.path), 0, f.gid); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []struct {
		path     string
		mode     os.FileMode
		uid, gid int
	}{{"etc/ssh/sshd_config.d", 0o755, 0, 0}, {"etc/rsyslog.d", 0o755, 0, 0}, {"etc/sudoers.d", 0o755, 0, 0}, {"var/log/audit", 0o750, 0, 4}, {"home/alice", 0o750, 1000, 1000}, {"root", 0o700, 0, 0}, {"tmp", 0o1777, 0, 0}} {
		p := filepath.Join(dir, d.path)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, d.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, d.uid, d.gid); err != nil {
			t.Fatal(err)
		}
	}
	// libapt, which oscap reads dpkg's status with, needs dpkg's
	// architecture tables.
	for _, f := range []string{"cputable", "tupletable"} {
		b, err := os.ReadFile(filepath.Join("/usr/share/dpkg", f))
		if err != nil {
			t.Fatal(err)
		}
		r.write(filepath.Join("usr/share/dpkg", f), string(b), 0o644)
	}
	harden(r)
	if change != nil {
		change(r)
	}
	return dir
}

const fixturePasswd = `root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
sshd:x:100:65534::/run/sshd:/usr/sbin/nologin
alice:x:1000:1000:Alice:/home/alice:/bin/bash
`

const fixtureGroup = `root:x:0:
daemon:x:1:
adm:x:4:
shadow:x:42:
sudo:x:27:alice
nogroup:x:65534:
alice:x:1000:
`

const fixtureShadow = `root:*:19000:0:99999:7:::
daemon:*:19000:0:99999:7:::
sshd:!:19000::::::
alice:$y$j9T$abcdefghijklmnop$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNO12:19000:1:365:7:::
`

// fixtureStatus lists what a small Debian 12 server has installed, as
// dpkg records it.
var fixtureStatus = func() string {
	var b strings.Builder
	for _, p := range [][2]string{
		{"auditd", "1:3.0.9-1"}, {"cron", "3.0pl1-162"}, {"libpam-modules", "1.5.2-6+deb12u1"}, {"libpam-runtime", "1.5.2-6+deb12u1"},
		{"login", "1:4.13+dfsg1-1+b1"}, {"openssh-server", "1:9.2p1-2+deb12u3"}, {"rsyslog", "8.2302.0-1"}, {"sudo", "1.9.13p3-1+deb12u1"},
		{"systemd", "252.30-1~deb12u2"},
	} {
		b.WriteString("Package: " + p[0] + "\nStatus: install ok installed\nPriority: optional\nSection: admin\nMaintainer: Debian\nArchitecture: amd64\nVersion: " + p[1] + "\nDescription: " + p[0] + "\n\n")
	}
	return b.String()
}()
