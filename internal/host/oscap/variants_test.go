package oscap

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// packages every base root file system gets besides minbase: what a
// small server image has, and auditd so that both tools judge the audit
// rules.
var serverPackages = []string{"auditd", "cron", "openssh-server", "rsyslog", "sudo", "systemd-sysv"}

// variant makes a copy of base (hard links: cheap) and changes it. Files
// are changed by replacing them, never in place, so that base is kept.
func variant(t *testing.T, base string, change func(v *rootfs)) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "rootfs")
	if out, err := exec.Command("cp", "-al", base, dir).CombinedOutput(); err != nil {
		t.Fatalf("cp -al: %v\n%s", err, out)
	}
	change(&rootfs{t: t, dir: dir})
	return dir
}

type rootfs struct {
	t   *testing.T
	dir string
}

// write replaces a file with new content and mode.
func (r *rootfs) write(p, content string, mode os.FileMode) {
	r.t.Helper()
	testutil.WriteFile(r.t, r.dir, p, content, mode)
}

func (r *rootfs) read(p string) string {
	r.t.Helper()
	b, err := os.ReadFile(filepath.Join(r.dir, p))
	if err != nil {
		r.t.Fatal(err)
	}
	return string(b)
}

// edit replaces a file with fn(its content), keeping its mode and owner.
func (r *rootfs) edit(p string, fn func(string) string) {
	r.t.Helper()
	full := filepath.Join(r.dir, p)
	st, err := os.Stat(full)
	if err != nil {
		r.t.Fatal(err)
	}
	r.write(p, fn(r.read(p)), st.Mode().Perm())
	sys := st.Sys().(*syscall.Stat_t)
	if err := os.Chown(full, int(sys.Uid), int(sys.Gid)); err != nil {
		r.t.Fatal(err)
	}
}

// chmod replaces a file by a copy with another mode.
func (r *rootfs) chmod(p string, mode os.FileMode) {
	r.t.Helper()
	r.edit(p, func(s string) string { return s })
	if err := os.Chmod(filepath.Join(r.dir, p), mode); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rootfs) appendTo(p, text string) { r.edit(p, func(s string) string { return s + text }) }

// replaceLine swaps every line starting with prefix for line.
func replaceLine(content, prefix, line string) string {
	var out []string
	for _, l := range strings.Split(content, "\n") {
		if strings.HasPrefix(l, prefix) {
			l = line
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// harden applies what the CIS benchmark asks for, for the mapped checks
// and a few more, the way an administrator would.
func harden(r *rootfs) {
	r.appendTo("etc/ssh/sshd_config", `
# CIS
PermitRootLogin no
PermitEmptyPasswords no
PermitUserEnvironment no
IgnoreRhosts yes
HostbasedAuthentication no
GSSAPIAuthentication no
LogLevel INFO
MaxAuthTries 4
MaxSessions 10
MaxStartups 10:30:60
LoginGraceTime 60
ClientAliveInterval 300
ClientAliveCountMax 3
Banner /etc/issue.net
AllowGroups sudo
DisableForwarding yes
Ciphers aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr
MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com
KexAlgorithms curve25519-sha256
`)
	r.chmod("etc/ssh/sshd_config", 0o600)
	r.edit("etc/login.defs", func(s string) string {
		s = replaceLine(s, "PASS_MAX_DAYS", "PASS_MAX_DAYS\t365")
		s = replaceLine(s, "PASS_MIN_DAYS", "PASS_MIN_DAYS\t1")
		s = replaceLine(s, "PASS_WARN_AGE", "PASS_WARN_AGE\t7")
		return replaceLine(s, "UMASK", "UMASK\t\t027")
	})
	r.write("etc/sysctl.d/60-cis.conf", "kernel.randomize_va_space = 2\nkernel.yama.ptrace_scope = 1\nnet.ipv4.ip_forward = 0\nnet.ipv4.tcp_syncookies = 1\n", 0o644)
	r.write("etc/modprobe.d/cis.conf", "install rds /bin/false\nblacklist rds\ninstall tipc /bin/false\nblacklist tipc\ninstall cramfs /bin/false\nblacklist cramfs\n", 0o644)
	r.edit("etc/fstab", func(s string) string {
		return s + `UUID=11111111-1111-1111-1111-111111111111 / ext4 errors=remount-ro 0 1
UUID=22222222-2222-2222-2222-222222222222 /home ext4 defaults,nodev,nosuid 0 2
UUID=33333333-3333-3333-3333-333333333333 /var ext4 defaults,nodev,nosuid 0 2
UUID=44444444-4444-4444-4444-444444444444 /var/tmp ext4 defaults,nodev,nosuid,noexec 0 2
UUID=55555555-5555-5555-5555-555555555555 /var/log ext4 defaults,nodev,nosuid,noexec 0 2
UUID=66666666-6666-6666-6666-666666666666 /var/log/audit ext4 defaults,nodev,nosuid,noexec 0 2
tmpfs /tmp tmpfs defaults,rw,nosuid,nodev,noexec,relatime 0 0
tmpfs /dev/shm tmpfs defaults,rw,nosuid,nodev,noexec,relatime 0 0
`
	})
	r.edit("etc/pam.d/common-auth", func(s string) string { return strings.ReplaceAll(s, " nullok", "") })
	r.write("etc/rsyslog.d/60-remote.conf", "*.* @@loghost.example.com:514\n", 0o644)
	r.chmod("etc/crontab", 0o600)
	r.write("etc/sudoers.d/cis", "Defaults use_pty\nDefaults logfile=/var/log/sudo.log\n", 0o440)
	r.edit("etc/audit/auditd.conf", func(s string) string {
		s = replaceLine(s, "max_log_file_action", "max_log_file_action = keep_logs")
		s = replaceLine(s, "disk_full_action", "disk_full_action = halt")
		return replaceLine(s, "admin_space_left_action", "admin_space_left_action = single")
	})
	r.write("etc/audit/rules.d/50-cis.rules", cisAuditRules, 0o640)
	r.write("etc/audit/rules.d/99-finalize.rules", "-e 2\n", 0o640)
}

// cisAuditRules are the audit rules of the CIS Debian 12 benchmark
// (section 6.2.3), as its remediations write them.
const cisAuditRules = `-w /etc/sudoers -p wa -k scope
-w /etc/sudoers.d -p wa -k scope
-a always,exit -F arch=b64 -C euid!=uid -F auid!=unset -S execve -k user_emulation
-a always,exit -F arch=b32 -C euid!=uid -F auid!=unset -S execve -k user_emulation
-a always,exit -F arch=b64 -S adjtimex,settimeofday,clock_settime -k time-change
-a always,exit -F arch=b32 -S adjtimex,settimeofday,clock_settime -k time-change
-w /etc/localtime -p wa -k time-change
-a always,exit -F arch=b64 -S sethostname,setdomainname -k system-locale
-a always,exit -F arch=b32 -S sethostname,setdomainname -k system-locale
-w /etc/issue -p wa -k system-locale
-w /etc/issue.net -p wa -k system-locale
-w /etc/hosts -p wa -k system-locale
-w /etc/networks -p wa -k system-locale
-w /etc/network/ -p wa -k system-locale
-a always,exit -F arch=b64 -S creat,open,openat,truncate,ftruncate -F exit=-EACCES -F auid>=1000 -F auid!=unset -k access
-a always,exit -F arch=b64 -S creat,open,openat,truncate,ftruncate -F exit=-EPERM -F auid>=1000 -F auid!=unset -k access
-a always,exit -F arch=b32 -S creat,open,openat,truncate,ftruncate -F exit=-EACCES -F auid>=1000 -F auid!=unset -k access
-a always,exit -F arch=b32 -S creat,open,openat,truncate,ftruncate -F exit=-EPERM -F auid>=1000 -F auid!=unset -k access
-w /etc/group -p wa -k identity
-w /etc/passwd -p wa -k identity
-w /etc/gshadow -p wa -k identity
-w /etc/shadow -p wa -k identity
-w /etc/security/opasswd -p wa -k identity
-w /etc/nsswitch.conf -p wa -k identity
-w /etc/pam.conf -p wa -k identity
-w /etc/pam.d -p wa -k identity
-a always,exit -F arch=b64 -S chmod,fchmod,fchmodat -F auid>=1000 -F auid!=unset -k perm_mod
-a always,exit -F arch=b64 -S chown,fchown,lchown,fchownat -F auid>=1000 -F auid!=unset -k perm_mod
-a always,exit -F arch=b32 -S chmod,fchmod,fchmodat -F auid>=1000 -F auid!=unset -k perm_mod
-a always,exit -F arch=b32 -S lchown,fchown,chown,fchownat -F auid>=1000 -F auid!=unset -k perm_mod
-a always,exit -F arch=b64 -S setxattr,lsetxattr,fsetxattr,removexattr,lremovexattr,fremovexattr -F auid>=1000 -F auid!=unset -k perm_mod
-a always,exit -F arch=b32 -S setxattr,lsetxattr,fsetxattr,removexattr,lremovexattr,fremovexattr -F auid>=1000 -F auid!=unset -k perm_mod
-a always,exit -F arch=b64 -S mount -F auid>=1000 -F auid!=unset -k mounts
-a always,exit -F arch=b32 -S mount -F auid>=1000 -F auid!=unset -k mounts
-w /var/run/utmp -p wa -k session
-w /var/log/wtmp -p wa -k session
-w /var/log/btmp -p wa -k session
-w /var/log/lastlog -p wa -k logins
-w /var/run/faillock -p wa -k logins
-a always,exit -F arch=b64 -S rename,unlink,unlinkat,renameat -F auid>=1000 -F auid!=unset -k delete
-a always,exit -F arch=b32 -S rename,unlink,unlinkat,renameat -F auid>=1000 -F auid!=unset -k delete
-w /etc/apparmor/ -p wa -k MAC-policy
-w /etc/apparmor.d/ -p wa -k MAC-policy
-a always,exit -F arch=b64 -S init_module,finit_module,delete_module,create_module -F auid>=1000 -F auid!=unset -k kernel_modules
-a always,exit -F arch=b32 -S init_module,finit_module,delete_module -F auid>=1000 -F auid!=unset -k kernel_modules
-a always,exit -F path=/usr/bin/kmod -F perm=x -F auid>=1000 -F auid!=unset -k kernel_modules
`

// breakIt makes mistakes on purpose: a second UID 0 account with an empty
// password, loose modes on the account files, a world-writable file, and
// sshd settings that a drop-in overrides.
func breakIt(r *rootfs) {
	r.appendTo("etc/passwd", "toor:x:0:0:root:/root:/bin/bash\n")
	r.appendTo("etc/shadow", "toor::19000:0:99999:7:::\n")
	r.chmod("etc/passwd", 0o666)
	r.chmod("etc/shadow", 0o644)
	r.write("opt/shared/drop.txt", "x\n", 0o666)
	r.appendTo("etc/ssh/sshd_config", "\nPermitRootLogin no\nPermitEmptyPasswords yes\nPermitUserEnvironment yes\nMaxAuthTries 10\n")
	// The Include at the top of Debian's sshd_config reads this first:
	// sshd takes PermitRootLogin yes.
	r.write("etc/ssh/sshd_config.d/50-cloud-init.conf", "PermitRootLogin yes\n", 0o644)
	r.edit("etc/login.defs", func(s string) string { return replaceLine(s, "PASS_WARN_AGE", "PASS_WARN_AGE\t3") })
	r.write("etc/sudoers.d/nopasswd", "%sudo ALL=(ALL:ALL) NOPASSWD: ALL\nDefaults:%sudo !authenticate\n", 0o440)
	// An account whose group does not exist, and the audit rules left
	// mutable.
	r.appendTo("etc/passwd", "ghost:x:1500:1500::/nonexistent:/usr/sbin/nologin\n")
	r.appendTo("etc/shadow", "ghost:!:19000:0:99999:7:::\n")
	r.edit("etc/audit/rules.d/99-finalize.rules", func(string) string { return "" })
	r.edit("etc/audit/auditd.conf", func(s string) string { return replaceLine(s, "max_log_file_action", "max_log_file_action = ROTATE") })
}
