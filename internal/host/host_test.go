package host

import (
	"archive/tar"
	"fmt"
	"io/fs"
	"strings"
	"testing"
)

// fsOf builds an FS from path -> content ("DIR" makes a folder, "->x" a
// symlink to x); every file is root-owned with mode 0644 unless modes says.
func fsOf(files map[string]string, modes map[string]uint32) *FS {
	s := NewFS()
	for p, c := range files {
		f := &File{Path: p, Type: tar.TypeReg, Mode: 0o644, Content: []byte(c)}
		switch {
		case c == "DIR":
			f.Type, f.Mode, f.Content = tar.TypeDir, 0o755, nil
		case strings.HasPrefix(c, "->"):
			f.Type, f.Linkname, f.Content = tar.TypeSymlink, c[2:], nil
		}
		if m, ok := modes[p]; ok {
			f.Mode = f.Mode&^0o7777 | fsMode(m)
		}
		s.Add(f)
	}
	return s
}

const passwd = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nsshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n"
const group = "root:x:0:\ndaemon:x:1:\nshadow:x:42:\nnogroup:x:65534:\n"
const dpkgStatus = "Package: openssh-server\nStatus: install ok installed\nVersion: 1:9.2p1-2\nArchitecture: amd64\n\nPackage: rsyslog\nStatus: install ok installed\nVersion: 8.2302.0-1\nArchitecture: amd64\n"

func base() map[string]string {
	return map[string]string{
		"etc/passwd": passwd, "etc/group": group, "etc/shadow": "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n",
		"var/lib/dpkg/status": dpkgStatus,
		"etc/os-release":      `ID=debian` + "\n" + `VERSION_ID="12"` + "\n",
	}
}

func run(t *testing.T, s *FS, id string) Result {
	t.Helper()
	p, err := Lookup("debian-12")
	if err != nil {
		t.Fatal(err)
	}
	for i := range p.Checks {
		if p.Checks[i].ID == id {
			one := &Profile{ID: p.ID, Checks: []Check{p.Checks[i]}}
			return Evaluate(one, s)[0]
		}
	}
	t.Fatalf("no check %s", id)
	return Result{}
}

func TestSSHDEffectiveValues(t *testing.T) {
	cases := []struct {
		name   string
		files  map[string]string
		check  string
		status Status
		detail string
	}{
		{"default applies", map[string]string{"etc/ssh/sshd_config": "Port 22\n"}, "sshd-permit-root-login", Fail, "prohibit-password"},
		// A pass on OpenSSH's default says so: the OpenSCAP comparison
		// tells it from a value written in the file.
		{"default passes", map[string]string{"etc/ssh/sshd_config": "Port 22\n"}, "sshd-permit-empty-passwords", Pass, "not set; the default applies: PermitEmptyPasswords no"},
		{"set no", map[string]string{"etc/ssh/sshd_config": "PermitRootLogin no\n"}, "sshd-permit-root-login", Pass, ""},
		{"first value wins", map[string]string{"etc/ssh/sshd_config": "PermitRootLogin yes\nPermitRootLogin no\n"}, "sshd-permit-root-login", Fail, "sshd_config:1"},
		{"include before wins", map[string]string{
			"etc/ssh/sshd_config":             "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\n",
			"etc/ssh/sshd_config.d/50-x.conf": "permitrootlogin=yes\n",
		}, "sshd-permit-root-login", Fail, "50-x.conf:1"},
		{"relative include", map[string]string{
			"etc/ssh/sshd_config":             "Include sshd_config.d/*.conf\n",
			"etc/ssh/sshd_config.d/10-h.conf": "PermitRootLogin no\n",
		}, "sshd-permit-root-login", Pass, ""},
		{"match block ignored", map[string]string{"etc/ssh/sshd_config": "Match User x\n PermitRootLogin no\n"}, "sshd-permit-root-login", Fail, "default"},
		{"include loop bounded", map[string]string{"etc/ssh/sshd_config": "Include /etc/ssh/sshd_config\n"}, "sshd-permit-root-login", Fail, ""},
		{"max auth tries", map[string]string{"etc/ssh/sshd_config": "MaxAuthTries 4\n"}, "sshd-max-auth-tries", Pass, ""},
		{"max auth tries high", map[string]string{"etc/ssh/sshd_config": "MaxAuthTries 5\n"}, "sshd-max-auth-tries", Fail, "at most 4"},
		{"weak mac", map[string]string{"etc/ssh/sshd_config": "MACs hmac-sha2-512,hmac-md5\n"}, "sshd-macs", Fail, "hmac-md5"},
		{"strong macs", map[string]string{"etc/ssh/sshd_config": "MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com\n"}, "sshd-macs", Pass, ""},
		{"maxstartups", map[string]string{"etc/ssh/sshd_config": "MaxStartups 10:30:60\n"}, "sshd-max-startups", Pass, ""},
		{"maxstartups default", map[string]string{"etc/ssh/sshd_config": "\n"}, "sshd-max-startups", Fail, "10:30:100"},
		{"access", map[string]string{"etc/ssh/sshd_config": "AllowGroups ssh-users\n"}, "sshd-access", Pass, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files := base()
			for k, v := range c.files {
				files[k] = v
			}
			r := run(t, fsOf(files, nil), c.check)
			if r.Status != c.status || !strings.Contains(r.Detail, c.detail) {
				t.Fatalf("%s: got %s %q, want %s containing %q", c.check, r.Status, r.Detail, c.status, c.detail)
			}
		})
	}
	files := base()
	files["var/lib/dpkg/status"] = ""
	if r := run(t, fsOf(files, nil), "sshd-permit-root-login"); r.Status != NotApplicable {
		t.Fatalf("without openssh-server: %s", r.Status)
	}
}

func TestSysctlOrder(t *testing.T) {
	cases := []struct {
		files  map[string]string
		status Status
	}{
		{map[string]string{}, Fail},
		{map[string]string{"etc/sysctl.conf": "net.ipv4.ip_forward = 0\n"}, Pass},
		{map[string]string{"etc/sysctl.d/60-a.conf": "net/ipv4/ip_forward=0\n"}, Pass},
		// sysctl.conf is read last.
		{map[string]string{"etc/sysctl.d/60-a.conf": "net.ipv4.ip_forward=0\n", "etc/sysctl.conf": "net.ipv4.ip_forward=1\n"}, Fail},
		// /etc/sysctl.d replaces a file of the same name in /usr/lib/sysctl.d.
		{map[string]string{"usr/lib/sysctl.d/50-x.conf": "net.ipv4.ip_forward=1\n", "etc/sysctl.d/50-x.conf": "net.ipv4.ip_forward=0\n"}, Pass},
		// later file names win.
		{map[string]string{"etc/sysctl.d/10-a.conf": "net.ipv4.ip_forward=0\n", "usr/lib/sysctl.d/90-b.conf": "net.ipv4.ip_forward=1\n"}, Fail},
		// merged /usr: lib -> usr/lib
		{map[string]string{"lib": "->usr/lib", "usr/lib/sysctl.d/10-a.conf": "-net.ipv4.ip_forward = 0\n"}, Pass},
		{map[string]string{"etc/sysctl.conf": "# net.ipv4.ip_forward = 0\n"}, Fail},
	}
	for i, c := range cases {
		files := base()
		for k, v := range c.files {
			files[k] = v
		}
		if r := run(t, fsOf(files, nil), "sysctl-ip-forward"); r.Status != c.status {
			t.Errorf("case %d: got %s (%s), want %s", i, r.Status, r.Detail, c.status)
		}
	}
}

func TestFileModeOwner(t *testing.T) {
	files := base()
	files["etc/gshadow"] = "root:*::\n"
	s := fsOf(files, map[string]uint32{"etc/shadow": 0o640, "etc/gshadow": 0o644})
	s.Lstat("etc/shadow").GID = 42
	if r := run(t, s, "perms-shadow"); r.Status != Pass {
		t.Fatalf("shadow 0640 root:shadow: %s %s", r.Status, r.Detail)
	}
	if r := run(t, s, "perms-gshadow"); r.Status != Fail || !strings.Contains(r.Detail, "mode 0644") {
		t.Fatalf("gshadow 0644: %s %s", r.Status, r.Detail)
	}
	s.Lstat("etc/shadow").UID = 1
	if r := run(t, s, "perms-shadow"); r.Status != Fail || !strings.Contains(r.Detail, "owner daemon") {
		t.Fatalf("shadow owned by daemon: %s %s", r.Status, r.Detail)
	}
	if r := run(t, s, "perms-gshadow-backup"); r.Status != Pass {
		t.Fatalf("a missing backup file passes: %s", r.Status)
	}
}

func TestPAM(t *testing.T) {
	files := base()
	files["etc/pam.d/common-auth"] = "auth [success=1 default=ignore] pam_unix.so nullok\nauth requisite pam_deny.so\n"
	files["etc/pam.d/su"] = "@include common-auth\nauth required pam_wheel.so use_uid group=sugroup\n"
	files["etc/pam.d/common-password"] = "password requisite pam_pwquality.so retry=3 minlen=8\npassword [success=1 default=ignore] pam_unix.so obscure use_authtok yescrypt\n"
	files["etc/security/pwquality.conf"] = "minlen = 14\n# minlen = 1\n"
	s := fsOf(files, nil)
	for id, want := range map[string]Status{
		"pam-unix-no-nullok": Fail, "su-restricted": Pass, "pam-unix-hashing": Pass,
		"pam-unix-use-authtok": Pass, "pam-faillock-enabled": Fail,
		// the module argument (minlen=8) wins over pwquality.conf.
		"pwquality-minlen": Fail,
	} {
		if r := run(t, s, id); r.Status != want {
			t.Errorf("%s: got %s (%s), want %s", id, r.Status, r.Detail, want)
		}
	}
	files["etc/pam.d/common-password"] = "password requisite pam_pwquality.so retry=3\n"
	if r := run(t, fsOf(files, nil), "pwquality-minlen"); r.Status != Pass {
		t.Errorf("minlen from pwquality.conf: %s %s", r.Status, r.Detail)
	}
}

func TestAccountsAndInventory(t *testing.T) {
	files := base()
	files["etc/passwd"] = passwd + "toor:x:0:0::/root:/bin/sh\n"
	files["etc/shadow"] = "root:*:1::::::\ntoor::1::::::\n"
	s := fsOf(files, nil)
	for id, want := range map[string]Status{"uid0-only-root": Fail, "shadow-no-empty": Fail, "dup-uids": Fail, "passwd-shadowed": Pass, "system-accounts-nologin": Fail} {
		if r := run(t, s, id); r.Status != want {
			t.Errorf("%s: got %s (%s), want %s", id, r.Status, r.Detail, want)
		}
	}
	s.WorldWritable = []string{"opt/x"}
	s.Owners = map[[2]int][]string{{0, 0}: {"etc"}, {1234, 0}: {"opt/y"}}
	if r := run(t, s, "world-writable"); r.Status != Fail || !strings.Contains(r.Detail, "/opt/x") {
		t.Errorf("world-writable: %s %s", r.Status, r.Detail)
	}
	if r := run(t, s, "unowned-files"); r.Status != Fail || !strings.Contains(r.Detail, "/opt/y") {
		t.Errorf("unowned: %s %s", r.Status, r.Detail)
	}
	if r := run(t, s, "setid-review"); r.Status != NotChecked {
		t.Errorf("setid review must never pass: %s", r.Status)
	}
}

func TestMountsModulesServices(t *testing.T) {
	files := base()
	files["etc/fstab"] = "UUID=1 / ext4 defaults 0 1\ntmpfs /tmp tmpfs defaults,nodev,nosuid 0 0\n"
	files["etc/modprobe.d/cramfs.conf"] = "install cramfs /bin/false\nblacklist cramfs\n"
	files["lib/modules/6.1.0-18-amd64/kernel/fs/hfs/hfs.ko.xz"] = ""
	files["lib/modules/6.1.0-18-amd64/kernel/fs/cramfs/cramfs.ko.xz"] = ""
	files["etc/systemd/system/multi-user.target.wants/rsyslog.service"] = "->/lib/systemd/system/rsyslog.service"
	s := fsOf(files, nil)
	for id, want := range map[string]Status{
		"mount-tmp": Pass, "mount-tmp-nodev": Pass, "mount-tmp-noexec": Fail, "mount-var-nodev": NotApplicable, "mount-var": Fail,
		"kmod-cramfs": Pass, "kmod-hfs": Fail, "kmod-jffs2": Pass,
		"rsyslog-enabled": Pass, "cron-enabled": Fail, "svc-rsync": Pass,
	} {
		if r := run(t, s, id); r.Status != want {
			t.Errorf("%s: got %s (%s), want %s", id, r.Status, r.Detail, want)
		}
	}
}

func TestProfiles(t *testing.T) {
	ps, err := Profiles()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if len(p.Checks) < 100 {
			t.Errorf("%s: only %d checks", p.ID, len(p.Checks))
		}
	}
	p, err := Select("debian", "12")
	if err != nil || p == nil || p.ID != "debian-12" {
		t.Fatalf("Select(debian, 12) = %v, %v", p, err)
	}
	if _, err := ParseProfile([]byte("id: x\nchecks:\n- {id: a, section: '1', level: 1, title: t, kind: sysctl, key: k}\n")); err == nil {
		t.Fatal("a sysctl check without a value was accepted")
	}
	if _, err := ParseProfile([]byte("id: x\nchecks:\n- {id: a, section: '1', level: 3, title: t, kind: manual, reason: r}\n")); err == nil {
		t.Fatal("level 3 was accepted")
	}
}

func TestAssessFindings(t *testing.T) {
	s := fsOf(base(), nil)
	a, err := Assess(s, "")
	if err != nil {
		t.Fatal(err)
	}
	n := a.Count()
	if n[Pass] == 0 || n[Fail] == 0 || n[NotChecked] == 0 {
		t.Fatalf("counts %v", n)
	}
	for _, f := range a.Findings() {
		if f.Host == nil || f.Host.Section == "" || (f.Host.Status != "fail" && f.Host.Status != "notchecked") {
			t.Fatalf("finding %+v", f)
		}
	}
	s = fsOf(map[string]string{"etc/os-release": "ID=alpine\nVERSION_ID=3.19\n"}, nil)
	if _, err := Assess(s, ""); err == nil || !strings.Contains(err.Error(), "--host-profile") {
		t.Fatalf("alpine: %v", err)
	}
}

func fsMode(m uint32) fs.FileMode { return fs.FileMode(m) }

func TestDerivedProfiles(t *testing.T) {
	for _, c := range []struct{ os, version, want string }{{"debian", "11", "debian-11"}, {"ubuntu", "22.04", "ubuntu-22.04"}, {"debian", "12.5", "debian-12"}, {"amzn", "2023", "amzn-2023"}} {
		p, err := Select(c.os, c.version)
		if err != nil || p == nil || p.ID != c.want {
			t.Fatalf("Select(%s, %s) = %v, %v; want %s", c.os, c.version, p, err, c.want)
		}
	}
	deb, _ := Lookup("debian-12")
	ubu, _ := Lookup("ubuntu-22.04")
	if len(ubu.Checks) != len(deb.Checks) {
		t.Fatalf("ubuntu-22.04 has %d checks, debian-12 %d", len(ubu.Checks), len(deb.Checks))
	}
	files := base()
	files["etc/issue"] = "Ubuntu 22.04.4 LTS \\n \\l\n"
	s := fsOf(files, nil)
	for _, r := range Evaluate(ubu, s) {
		if r.Check.ID == "issue-no-os-info" && r.Status != Fail {
			t.Errorf("ubuntu /etc/issue naming Ubuntu: %s", r.Status)
		}
		if r.Check.ID == "apport-disabled" && r.Status != Pass {
			t.Errorf("apport without /etc/default/apport: %s %s", r.Status, r.Detail)
		}
	}
}

// TestIncludeExplosion: files that include each other many times must not
// make the work grow without bound.
func TestIncludeExplosion(t *testing.T) {
	files := base()
	many := strings.Repeat("Include /etc/ssh/sshd_config.d/*.conf\n", 50)
	for i := 0; i < 10; i++ {
		files[fmt.Sprintf("etc/ssh/sshd_config.d/%d.conf", i)] = many
	}
	files["etc/ssh/sshd_config"] = many
	files["etc/pam.d/common-auth"] = strings.Repeat("@include common-auth\n", 1000)
	s := fsOf(files, nil)
	if c := ParseSSHD(s, "etc/ssh/sshd_config"); len(c.Warnings) == 0 {
		t.Error("no warning for runaway Includes")
	}
	if n := len(ParsePAM(s, "etc/pam.d/common-auth")); n != 0 {
		t.Errorf("%d PAM lines from a file that only includes itself", n)
	}
}

// one evaluates a check that is not in a profile.
func one(s *FS, c Check) Result {
	c.ID, c.Section, c.Title, c.Level = "x", "1", "x", 1
	if err := validate(&c); err != nil {
		panic(err)
	}
	return Evaluate(&Profile{ID: "t", Checks: []Check{c}}, s)[0]
}

// TestRedHatFiles covers what the Amazon Linux 2023 profile reads where
// Debian has other files: authselect, PAM include/substack, BLS boot
// entries, and packages from the rpm database.
func TestRedHatFiles(t *testing.T) {
	files := base()
	delete(files, "var/lib/dpkg/status")
	files["etc/pam.d/sshd"] = "auth substack password-auth\npassword include password-auth\n"
	files["etc/pam.d/password-auth"] = "auth required pam_faillock.so preauth\npassword sufficient pam_unix.so sha512\n"
	s := fsOf(files, nil)
	for _, c := range []struct {
		check Check
		want  Status
	}{
		{Check{Kind: "authselect", Args: []string{"with-faillock"}}, Fail},
		{Check{Kind: "pam", Path: "/etc/pam.d/sshd", Type: "auth", Module: "pam_faillock.so"}, Pass},
		// include takes the lines of its own type only.
		{Check{Kind: "pam", Path: "/etc/pam.d/sshd", Type: "password", Module: "pam_faillock.so"}, Fail},
		{Check{Kind: "pam", Paths: []string{"/etc/pam.d/sshd", "/etc/pam.d/system-auth"}, Type: "auth", Module: "pam_faillock.so"}, Fail},
		{Check{Kind: "kernel_cmdline", Args: []string{"audit=1"}}, NotApplicable},
	} {
		if r := one(s, c.check); r.Status != c.want {
			t.Errorf("%+v: %s (%s), want %s", c.check, r.Status, r.Detail, c.want)
		}
	}
	files["etc/authselect/authselect.conf"] = "sssd\nwith-faillock\n"
	files["boot/grub2/grubenv"] = "# GRUB Environment Block\nkernelopts=root=/dev/xvda1 ro audit=1\n"
	files["boot/loader/entries/a-6.1.conf"] = "title A\noptions $kernelopts selinux=0\n"
	files["boot/loader/entries/b-6.1.conf"] = "title B\noptions root=/dev/xvda1 ro\n"
	files["etc/default/grub"] = "GRUB_CMDLINE_LINUX=\"audit=1 audit_backlog_limit=8192\"\n"
	s = fsOf(files, nil)
	s.RPMPackages, s.RPMPath = map[string]bool{"telnet-server": true}, "var/lib/rpm/rpmdb.sqlite"
	for _, c := range []struct {
		check  Check
		want   Status
		detail string
	}{
		{Check{Kind: "authselect", Args: []string{"with-faillock"}}, Pass, ""},
		{Check{Kind: "authselect", Regex: "^custom/"}, Fail, "profile sssd"},
		// Every BLS entry counts; /etc/default/grub is not what boots.
		{Check{Kind: "kernel_cmdline", Args: []string{"audit=1"}}, Fail, "b-6.1.conf:2"},
		{Check{Kind: "kernel_cmdline", Args: []string{"selinux!=0"}}, Fail, "a-6.1.conf:2"},
		{Check{Kind: "kernel_cmdline", Args: []string{"enforcing!=0"}}, Pass, ""},
		{Check{Kind: "package_absent", Packages: []string{"telnet-server"}}, Fail, "telnet-server is installed"},
	} {
		r := one(s, c.check)
		if r.Status != c.want || !strings.Contains(r.Detail, c.detail) {
			t.Errorf("%+v: %s (%s), want %s with %q", c.check, r.Status, r.Detail, c.want, c.detail)
		}
	}
	if r := one(s, Check{Kind: "package_absent", Packages: []string{"telnet-server"}}); r.Path != "var/lib/rpm/rpmdb.sqlite" {
		t.Errorf("package check judged %q", r.Path)
	}
	delete(files, "boot/loader/entries/a-6.1.conf")
	delete(files, "boot/loader/entries/b-6.1.conf")
	if r := one(fsOf(files, nil), Check{Kind: "kernel_cmdline", Args: []string{"audit_backlog_limit>=8192"}}); r.Status != Pass {
		t.Errorf("without BLS entries, /etc/default/grub: %s %s", r.Status, r.Detail)
	}
	if _, err := ParseProfile([]byte("id: x\nchecks:\n- {id: a, section: '1', level: 1, title: t, kind: authselect}\n")); err == nil {
		t.Fatal("an authselect check with neither regex nor args was accepted")
	}
}

// TestUnknownOwnersAndLinks: a file whose owner is unknown (-1: a root
// folder read where the platform gives no owners) or a symlink whose
// target could not be read (a damaged inode); checks that need them are
// not checked, and a mode that is wrong still fails.
func TestUnknownOwnersAndLinks(t *testing.T) {
	files := base()
	files["etc/pam.d/system-auth"] = "->"
	files["etc/crontab"] = "SHELL=/bin/sh\n"
	files["etc/cron.d"] = "DIR"
	s := fsOf(files, map[string]uint32{"etc/cron.d": 0o755})
	for _, p := range []string{"etc/crontab", "etc/cron.d"} {
		f := s.Lstat(p)
		f.UID, f.GID = -1, -1
	}
	s.Owners = map[[2]int][]string{{-1, -1}: {"etc/crontab"}}
	for _, c := range []struct {
		check Check
		want  Status
	}{
		{Check{Kind: "file_mode", Path: "/etc/crontab", Mode: "0644", Owner: "root"}, NotChecked},
		{Check{Kind: "file_mode", Path: "/etc/cron.d", Mode: "0700", Owner: "root"}, Fail},
		{Check{Kind: "pam", Paths: []string{"/etc/pam.d/system-auth"}, Module: "pam_unix.so"}, NotChecked},
		{Check{Kind: "file_content", Path: "/etc/pam.d/system-auth", Regex: "nullok", Absent: true}, NotChecked},
		{Check{Kind: "fs_inventory", Test: "unowned"}, NotChecked},
	} {
		if r := one(s, c.check); r.Status != c.want {
			t.Errorf("%+v: %s (%s), want %s", c.check, r.Status, r.Detail, c.want)
		}
	}
}
