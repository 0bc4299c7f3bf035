package host

import (
	"testing"
)

func FuzzParseSysctl(f *testing.F) {
	f.Add([]byte("net.ipv4.ip_forward = 0\n-kernel/yama/ptrace_scope=1\n# c\n"))
	f.Fuzz(func(t *testing.T, b []byte) { ParseSysctl("x", b) })
}

func FuzzParseKeyValue(f *testing.F) {
	f.Add([]byte("PASS_MAX_DAYS 99999\n[Journal]\nStorage=auto\nmax_log_file = 8\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, format := range []string{"", "equals", "ini"} {
			ParseKeyValue("x", b, format)
		}
	})
}

func FuzzParseFstab(f *testing.F) {
	f.Add([]byte("UUID=1 / ext4 defaults 0 1\ntmpfs /tmp tmpfs nodev,nosuid\n/dev/x /a\\040b xfs\n"))
	f.Fuzz(func(t *testing.T, b []byte) { ParseFstab(b) })
}

func FuzzParseAuditRules(f *testing.F) {
	f.Add([]byte("-w /etc/passwd -p wa -k identity\n-a always,exit -F arch=b64 -S mount\n-e 2\n"))
	f.Fuzz(func(t *testing.T, b []byte) { ParseAuditRules("x", b) })
}

// FuzzParseSSHD feeds sshd_config and an included file; Include loops
// must end.
func FuzzParseSSHD(f *testing.F) {
	f.Add([]byte("Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\nMatch User x\n X11Forwarding yes\n"), []byte("Include /etc/ssh/sshd_config\nCiphers=\"aes256-ctr\"\n"))
	f.Fuzz(func(t *testing.T, main, inc []byte) {
		s := fsOf(map[string]string{"etc/ssh/sshd_config": string(main), "etc/ssh/sshd_config.d/a.conf": string(inc)}, nil)
		ParseSSHD(s, "etc/ssh/sshd_config")
	})
}

// FuzzParsePAM feeds a service file that may include itself.
func FuzzParsePAM(f *testing.F) {
	f.Add([]byte("@include common-auth\nauth [success=1 default=ignore] pam_unix.so nullok\n-session optional pam_systemd.so\n"))
	f.Add([]byte("auth substack common-auth\npassword include login\naccount include\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := fsOf(map[string]string{"etc/pam.d/common-auth": string(b), "etc/pam.d/login": "@include common-auth\n"}, nil)
		ParsePAM(s, "etc/pam.d/login")
	})
}

// FuzzEvaluate runs the whole debian-12 and amzn-2023 profiles on fuzzed
// account, login.defs, sshd, authselect and BLS entry files.
func FuzzEvaluate(f *testing.F) {
	f.Add([]byte(passwd), []byte("root:*:1::::::\n"), []byte("UID_MIN 1000\nPASS_MAX_DAYS 9\n"), []byte("PermitRootLogin no\n"), []byte("custom/cis\nwith-faillock\n"), []byte("options $kernelopts audit=1 selinux=0\n"))
	var ps []*Profile
	for _, id := range []string{"debian-12", "amzn-2023"} {
		p, err := Lookup(id)
		if err != nil {
			f.Fatal(err)
		}
		ps = append(ps, p)
	}
	f.Fuzz(func(t *testing.T, pw, sh, defs, sshd, authselect, bls []byte) {
		files := base()
		files["etc/passwd"], files["etc/shadow"], files["etc/login.defs"], files["etc/ssh/sshd_config"] = string(pw), string(sh), string(defs), string(sshd)
		files["etc/authselect/authselect.conf"], files["boot/loader/entries/a.conf"] = string(authselect), string(bls)
		for _, p := range ps {
			Evaluate(p, fsOf(files, nil))
		}
	})
}
