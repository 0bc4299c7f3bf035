package host

import (
	"archive/tar"
	"bytes"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/inventory/dpkg"
)

// env is the file system with what several checks read parsed once.
type env struct {
	fs            *FS
	users         map[int]string
	groups        map[int]string
	pkgs          map[string]bool
	pkgPath       string
	sshdCfg       *SSHDConfig
	sysctls       map[string]Setting
	modprobeRules []Setting
	rules         []Setting
	parsed        map[string]bool
}

func newEnv(s *FS) *env {
	e := &env{fs: s, users: map[int]string{}, groups: map[int]string{}, pkgs: map[string]bool{}, parsed: map[string]bool{}}
	for _, r := range e.passwd() {
		if uid, err := strconv.Atoi(r[2]); err == nil {
			if _, dup := e.users[uid]; !dup {
				e.users[uid] = r[0]
			}
		}
	}
	for _, r := range e.group() {
		if gid, err := strconv.Atoi(r[2]); err == nil {
			if _, dup := e.groups[gid]; !dup {
				e.groups[gid] = r[0]
			}
		}
	}
	e.pkgPath = "var/lib/dpkg/status"
	if b, ok := s.Read(e.pkgPath); ok {
		pkgs, _, _ := dpkg.ParseStatus(bytes.NewReader(b), "/"+e.pkgPath)
		for _, p := range pkgs {
			e.pkgs[p.Name] = true
		}
	} else if s.RPMPath != "" {
		e.pkgPath = s.RPMPath
	}
	for n := range s.RPMPackages {
		e.pkgs[n] = true
	}
	return e
}

func (e *env) passwd() [][]string {
	b, _ := e.fs.Read("etc/passwd")
	r, _ := records("etc/passwd", b, 7)
	return r
}

func (e *env) group() [][]string {
	b, _ := e.fs.Read("etc/group")
	r, _ := records("etc/group", b, 4)
	return r
}

func (e *env) shadow() ([][]string, []Setting) {
	b, _ := e.fs.Read("etc/shadow")
	return records("etc/shadow", b, 2)
}

func (e *env) userName(uid int) string {
	if n, ok := e.users[uid]; ok {
		return n
	}
	return strconv.Itoa(uid)
}

func (e *env) groupName(gid int) string {
	if n, ok := e.groups[gid]; ok {
		return n
	}
	return strconv.Itoa(gid)
}

func (e *env) installed(name string) bool { return e.pkgs[name] }

func (e *env) sshd() *SSHDConfig {
	if e.sshdCfg == nil {
		if e.fs.Stat("etc/ssh/sshd_config") == nil {
			return nil
		}
		e.sshdCfg = ParseSSHD(e.fs, "etc/ssh/sshd_config")
		for _, w := range e.sshdCfg.Warnings {
			e.fs.Warnings = append(e.fs.Warnings, "host: "+w)
		}
	}
	return e.sshdCfg
}

// dropIns returns the files of the given folders, merged by file name
// (a name in a later folder replaces the same name in an earlier one),
// sorted by name, as systemd-sysctl and modprobe read them.
func (e *env) dropIns(ext string, dirs ...string) []string {
	byName := map[string]string{}
	for _, d := range dirs {
		for _, p := range e.fs.Glob(d + "/*" + ext) {
			byName[path.Base(p)] = p
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, byName[n])
	}
	return out
}

// sysctl returns the effective value of every key the configuration
// files set: the sysctl.d folders in systemd's order, then /etc/sysctl.conf
// (as procps' sysctl --system reads it last).
func (e *env) sysctl() map[string]Setting {
	if e.sysctls != nil {
		return e.sysctls
	}
	e.sysctls = map[string]Setting{}
	files := e.dropIns(".conf", "usr/lib/sysctl.d", "lib/sysctl.d", "run/sysctl.d", "etc/sysctl.d")
	seen := map[string]bool{}
	for _, f := range files {
		if r, ok := e.fs.Resolve(f); ok {
			seen[r] = true
		}
	}
	if r, ok := e.fs.Resolve("etc/sysctl.conf"); ok && !seen[r] {
		files = append(files, "etc/sysctl.conf")
	}
	for _, f := range files {
		b, _ := e.fs.Read(f)
		for _, st := range ParseSysctl(f, b) {
			e.sysctls[st.Key] = st
		}
	}
	return e.sysctls
}

func (e *env) modprobe() []Setting {
	if e.parsed["modprobe"] {
		return e.modprobeRules
	}
	e.parsed["modprobe"] = true
	for _, f := range e.dropIns(".conf", "usr/lib/modprobe.d", "lib/modprobe.d", "run/modprobe.d", "etc/modprobe.d") {
		b, _ := e.fs.Read(f)
		e.modprobeRules = append(e.modprobeRules, ParseAuditRules(f, b)...)
	}
	return e.modprobeRules
}

func (e *env) moduleShipped(name string) bool {
	for p := range e.fs.files {
		if !strings.HasPrefix(p, "lib/modules/") && !strings.HasPrefix(p, "usr/lib/modules/") {
			continue
		}
		base := path.Base(p)
		if i := strings.Index(base, ".ko"); i > 0 && strings.ReplaceAll(base[:i], "-", "_") == name {
			return true
		}
	}
	return false
}

func (e *env) auditRules() []Setting {
	if e.parsed["audit"] {
		return e.rules
	}
	e.parsed["audit"] = true
	for _, f := range e.fs.Glob("etc/audit/rules.d/*.rules") {
		b, _ := e.fs.Read(f)
		e.rules = append(e.rules, ParseAuditRules(f, b)...)
	}
	return e.rules
}

// enabled reports whether a systemd unit is enabled: a link to it in a
// .wants or .requires folder of /etc/systemd/system, and not masked.
func (e *env) enabled(unit string) (string, bool) {
	if !strings.Contains(unit, ".") {
		unit += ".service"
	}
	if f := e.fs.Lstat("etc/systemd/system/" + unit); f != nil && f.Type == tar.TypeSymlink && f.Linkname == "/dev/null" {
		return "", false
	}
	for _, p := range e.fs.Under("etc/systemd/system") {
		dir := path.Dir(p)
		if path.Base(p) == unit && (strings.HasSuffix(dir, ".wants") || strings.HasSuffix(dir, ".requires")) {
			return p, true
		}
	}
	return "", false
}

// mount returns the fstab entry for a mount point, or an enabled systemd
// .mount unit for it.
func (e *env) mount(dir string) (*Mount, string) {
	b, _ := e.fs.Read("etc/fstab")
	var found *Mount
	for _, m := range ParseFstab(b) {
		if m.Dir == dir {
			m := m
			found = &m
		}
	}
	if found != nil {
		return found, "etc/fstab"
	}
	unit := strings.ReplaceAll(strings.TrimPrefix(dir, "/"), "/", "-") + ".mount"
	if link, ok := e.enabled(unit); ok {
		for _, p := range []string{"etc/systemd/system/" + unit, "usr/lib/systemd/system/" + unit, "lib/systemd/system/" + unit} {
			if b, ok := e.fs.Read(p); ok {
				for _, st := range ParseKeyValue(p, b, "ini") {
					if st.Key == "Mount.Options" {
						return &Mount{Dir: dir, Options: strings.Split(st.Value, ","), Line: st.Line}, p
					}
				}
				return &Mount{Dir: dir, Line: 1}, p
			}
		}
		return &Mount{Dir: dir}, link
	}
	return nil, ""
}

// kernelCmdlines returns the kernel command lines the boot loader
// passes: the options of every Boot Loader Specification entry (as
// Fedora, RHEL and Amazon Linux 2023 boot through GRUB's blscfg), with
// grubenv's $kernelopts filled in; without entries, GRUB_CMDLINE_LINUX
// and GRUB_CMDLINE_LINUX_DEFAULT of /etc/default/grub and grub.d as one
// line (what grub-mkconfig writes into grub.cfg).
func (e *env) kernelCmdlines() []Setting {
	var out []Setting
	env := map[string]string{}
	for _, p := range []string{"boot/grub2/grubenv", "boot/grub/grubenv"} {
		b, _ := e.fs.Read(p)
		for _, st := range ParseKeyValue(p, b, "equals") {
			env[st.Key] = st.Value
		}
	}
	for _, p := range e.fs.Glob("boot/loader/entries/*.conf") {
		b, _ := e.fs.Read(p)
		for _, st := range ParseKeyValue(p, b, "") {
			if st.Key == "options" {
				st.Value = strings.ReplaceAll(st.Value, "$kernelopts", env["kernelopts"])
				out = append(out, st)
			}
		}
	}
	if len(out) > 0 {
		return out
	}
	var joined *Setting
	for _, p := range append([]string{"etc/default/grub"}, e.fs.Glob("etc/default/grub.d/*.cfg")...) {
		b, _ := e.fs.Read(p)
		for _, st := range ParseKeyValue(p, b, "equals") {
			if st.Key != "GRUB_CMDLINE_LINUX" && st.Key != "GRUB_CMDLINE_LINUX_DEFAULT" {
				continue
			}
			v := strings.Trim(st.Value, `"'`)
			if joined == nil {
				st.Value = v
				joined = &st
			} else {
				joined.Value += " " + v
			}
		}
	}
	if joined != nil {
		out = append(out, *joined)
	}
	return out
}
