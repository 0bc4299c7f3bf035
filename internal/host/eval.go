package host

import (
	"archive/tar"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// Status is the outcome of one check.
type Status string

// The outcomes. NotChecked means the files cannot tell (the check needs a
// running system or a person's review): it is never a pass.
const (
	Pass          Status = "pass"
	Fail          Status = "fail"
	NotChecked    Status = "notchecked"
	NotApplicable Status = "notapplicable"
)

// Result is the outcome of one check on one root file system.
type Result struct {
	Check  *Check
	Status Status
	// Detail says what was found ("PermitRootLogin yes").
	Detail string
	// Path and Line name the file (and line) judged, where there is one.
	Path string
	Line int
}

// evaluator judges one kind of check.
type evaluator func(c *Check, e *env) Result

// evaluators maps a check kind to its evaluator and the parameters it
// needs (checked when a profile is parsed).
var evaluators = map[string]struct {
	fn    evaluator
	needs []string
}{
	"manual":            {evalManual, []string{"reason"}},
	"file_mode":         {evalFileMode, []string{"path"}},
	"file_content":      {evalFileContent, []string{"path", "regex"}},
	"sysctl":            {evalSysctl, []string{"key", "value"}},
	"sshd":              {evalSSHD, []string{"key", "op"}},
	"package_absent":    {evalPackageAbsent, []string{"packages"}},
	"package_installed": {evalPackageInstalled, []string{"packages"}},
	"not_in_use":        {evalNotInUse, []string{"packages"}},
	"service_enabled":   {evalServiceEnabled, []string{"services"}},
	"mount":             {evalMount, []string{"mount"}},
	"kernel_module":     {evalKernelModule, []string{"module"}},
	"config_value":      {evalConfigValue, []string{"path", "key", "op"}},
	"pam":               {evalPAM, []string{"path", "module"}},
	"audit_rules":       {evalAuditRules, []string{"rules"}},
	"accounts":          {evalAccounts, []string{"test"}},
	"fs_inventory":      {evalInventory, []string{"test"}},
	"kernel_cmdline":    {evalKernelCmdline, []string{"args"}},
	"authselect":        {evalAuthselect, []string{"regex|args"}},
}

func validate(c *Check) error {
	ev, ok := evaluators[c.Kind]
	if !ok {
		return fmt.Errorf("unknown kind %q", c.Kind)
	}
	if c.Level != 1 && c.Level != 2 {
		return fmt.Errorf("level %d: want 1 or 2", c.Level)
	}
	if c.Section == "" || c.Title == "" {
		return fmt.Errorf("needs a section and a title")
	}
	for _, n := range ev.needs {
		var set bool
		switch n {
		case "reason":
			set = c.Reason != ""
		case "path":
			set = c.Path != "" || len(c.Paths) > 0
		case "regex":
			set = c.Regex != ""
		case "key":
			set = c.Key != ""
		case "value":
			set = c.Value != "" || len(c.Values) > 0
		case "op":
			set = c.Op != ""
		case "packages":
			set = len(c.Packages) > 0
		case "services":
			set = len(c.Services) > 0
		case "mount":
			set = c.Mount != ""
		case "module":
			set = c.Module != ""
		case "rules":
			set = len(c.Rules) > 0
		case "test":
			set = c.Test != ""
		case "args":
			set = len(c.Args) > 0
		case "regex|args":
			set = c.Regex != "" || len(c.Args) > 0
		}
		if !set {
			return fmt.Errorf("kind %s needs %s", c.Kind, n)
		}
	}
	if c.Regex != "" {
		if _, err := regexp.Compile(c.Regex); err != nil {
			return err
		}
	}
	for _, r := range c.Rules {
		if _, err := regexp.Compile(r); err != nil {
			return err
		}
	}
	if c.Mode != "" {
		if _, err := strconv.ParseUint(c.Mode, 8, 32); err != nil {
			return fmt.Errorf("mode %q: want octal", c.Mode)
		}
	}
	switch c.Missing {
	case "", "pass", "fail", "na", "notchecked":
	default:
		return fmt.Errorf("missing %q: want pass, fail, na or notchecked", c.Missing)
	}
	return nil
}

// Evaluate runs every check of the profile on the file system.
func Evaluate(p *Profile, s *FS) []Result {
	e := newEnv(s)
	out := make([]Result, 0, len(p.Checks))
	for i := range p.Checks {
		c := &p.Checks[i]
		r := evaluators[c.Kind].fn(c, e)
		r.Check = c
		out = append(out, r)
	}
	return out
}

func (c *Check) paths() []string {
	if c.Path != "" {
		return append([]string{c.Path}, c.Paths...)
	}
	return c.Paths
}

func (c *Check) missing(def Status, detail string) Result {
	switch c.Missing {
	case "pass":
		def = Pass
	case "fail":
		def = Fail
	case "na":
		def = NotApplicable
	case "notchecked":
		def = NotChecked
	}
	return Result{Status: def, Detail: detail}
}

func evalManual(c *Check, _ *env) Result { return Result{Status: NotChecked, Detail: c.Reason} }

// files expands the check's paths (globs allowed) to existing files.
func (e *env) files(c *Check) []string {
	var out []string
	for _, p := range c.paths() {
		p = strings.TrimPrefix(p, "/")
		if strings.ContainsAny(p, "*?[") {
			out = append(out, e.fs.Glob(p)...)
		} else if e.fs.Lstat(p) != nil || e.fs.Stat(p) != nil {
			out = append(out, p)
		}
	}
	return out
}

// unknownLink is the result for a check whose file is behind a symlink
// the disk reader could not read, or nil.
func (e *env) unknownLink(files []string) *Result {
	for _, p := range files {
		if e.fs.UnknownLink(p) {
			return &Result{Status: NotChecked, Path: p, Detail: "/" + p + " is a symlink whose target could not be read (damaged; see the warnings)"}
		}
	}
	return nil
}

func evalFileMode(c *Check, e *env) Result {
	files := e.files(c)
	if len(files) == 0 {
		return c.missing(Pass, "/"+strings.TrimPrefix(c.paths()[0], "/")+" does not exist")
	}
	var max uint64 = 0o7777
	if c.Mode != "" {
		max, _ = strconv.ParseUint(c.Mode, 8, 32)
	}
	unknownOwner := ""
	for _, p := range files {
		f := e.fs.Stat(p)
		if f == nil {
			continue
		}
		if f.UID < 0 && (c.Owner != "" || c.Group != "") {
			unknownOwner = f.Path
		}
		var bad []string
		perm := uint64(f.Mode.Perm())
		if f.Mode&fs.ModeSetuid != 0 {
			perm |= 0o4000
		}
		if f.Mode&fs.ModeSetgid != 0 {
			perm |= 0o2000
		}
		if f.Mode&fs.ModeSticky != 0 {
			perm |= 0o1000
		}
		if perm&^max != 0 {
			bad = append(bad, fmt.Sprintf("mode %04o (want %04o or stricter)", perm, max))
		}
		if c.Owner != "" && f.UID >= 0 && !nameIn(e.userName(f.UID), c.Owner) {
			bad = append(bad, fmt.Sprintf("owner %s (want %s)", e.userName(f.UID), c.Owner))
		}
		if c.Group != "" && f.GID >= 0 && !nameIn(e.groupName(f.GID), c.Group) {
			bad = append(bad, fmt.Sprintf("group %s (want %s)", e.groupName(f.GID), c.Group))
		}
		if len(bad) > 0 {
			return Result{Status: Fail, Path: f.Path, Detail: "/" + f.Path + ": " + strings.Join(bad, ", ")}
		}
	}
	if unknownOwner != "" {
		return Result{Status: NotChecked, Path: unknownOwner, Detail: "/" + unknownOwner + ": owner unknown: the reader of this file system gave none"}
	}
	if r := e.unknownLink(files); r != nil {
		return *r
	}
	return Result{Status: Pass, Path: files[0]}
}

func nameIn(name, alternatives string) bool {
	for _, a := range strings.Split(alternatives, "|") {
		if a == name {
			return true
		}
	}
	return false
}

func evalFileContent(c *Check, e *env) Result {
	re := regexp.MustCompile("(?m)" + c.Regex)
	files := e.files(c)
	if len(files) == 0 {
		if c.Absent {
			return c.missing(Pass, "no file to check")
		}
		return c.missing(Fail, "/"+strings.TrimPrefix(c.paths()[0], "/")+" does not exist")
	}
	for _, p := range files {
		b, ok := e.fs.Read(p)
		if !ok {
			continue
		}
		if loc := re.FindIndex(b); loc != nil {
			line := 1 + strings.Count(string(b[:loc[0]]), "\n")
			if c.Absent {
				return Result{Status: Fail, Path: p, Line: line, Detail: fmt.Sprintf("/%s:%d: %s", p, line, firstLine(string(b[loc[0]:loc[1]])))}
			}
			return Result{Status: Pass, Path: p, Line: line}
		}
	}
	if r := e.unknownLink(files); r != nil {
		return *r
	}
	if c.Absent {
		return Result{Status: Pass, Path: files[0]}
	}
	return Result{Status: Fail, Path: files[0], Detail: fmt.Sprintf("no line matching %s in /%s", c.Regex, strings.Join(files, ", /"))}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

func evalSysctl(c *Check, e *env) Result {
	st, ok := e.sysctl()[c.Key]
	if !ok {
		return Result{Status: Fail, Detail: fmt.Sprintf("%s is not set in sysctl.conf or sysctl.d (want %s)", c.Key, want(c))}
	}
	if !valueIn(st.Value, c) {
		return Result{Status: Fail, Path: st.Path, Line: st.Line, Detail: fmt.Sprintf("/%s:%d: %s = %s (want %s)", st.Path, st.Line, c.Key, st.Value, want(c))}
	}
	return Result{Status: Pass, Path: st.Path, Line: st.Line}
}

func want(c *Check) string {
	if len(c.Values) > 0 {
		return strings.Join(c.Values, " or ")
	}
	return c.Value
}

func valueIn(v string, c *Check) bool {
	for _, w := range append([]string{c.Value}, c.Values...) {
		if w != "" && strings.EqualFold(v, w) {
			return true
		}
	}
	return false
}

// compare applies op to a value found and the check's wanted value(s).
func compare(op, got string, c *Check) (bool, string) {
	switch op {
	case "eq":
		return valueIn(got, c), "want " + want(c)
	case "ne":
		return !valueIn(got, c), "want anything but " + want(c)
	case "le", "ge", "lt", "gt", "between":
		n, err := strconv.ParseFloat(strings.Fields(got + " x")[0], 64)
		w, _ := strconv.ParseFloat(c.Value, 64)
		if err != nil {
			return false, "want a number"
		}
		switch op {
		case "le":
			return n <= w, "want at most " + c.Value
		case "ge":
			return n >= w, "want at least " + c.Value
		case "lt":
			return n < w, "want less than " + c.Value
		case "gt":
			return n > w, "want more than " + c.Value
		default:
			lo, _ := strconv.ParseFloat(c.Values[0], 64)
			hi, _ := strconv.ParseFloat(c.Values[len(c.Values)-1], 64)
			return n >= lo && n <= hi, fmt.Sprintf("want %s to %s", c.Values[0], c.Values[len(c.Values)-1])
		}
	case "exclude":
		for _, item := range strings.Split(got, ",") {
			for _, w := range c.Values {
				if strings.EqualFold(strings.TrimSpace(item), w) {
					return false, "includes " + w
				}
			}
		}
		return true, ""
	case "set":
		return got != "", "want it set"
	case "match":
		return regexp.MustCompile(c.Value).MatchString(got), "want " + c.Value
	}
	return false, "unknown op " + op
}

func evalSSHD(c *Check, e *env) Result {
	if !e.installed("openssh-server") {
		return Result{Status: NotApplicable, Detail: "openssh-server is not installed"}
	}
	cfg := e.sshd()
	if cfg == nil {
		return Result{Status: Fail, Detail: "/etc/ssh/sshd_config does not exist"}
	}
	keys := strings.Split(strings.ToLower(c.Key), "|")
	if c.Op == "anyset" {
		for _, k := range keys {
			if st, ok := cfg.Values[k]; ok {
				return Result{Status: Pass, Path: st.Path, Line: st.Line}
			}
		}
		return Result{Status: Fail, Path: "etc/ssh/sshd_config", Detail: "none of " + c.Key + " is set"}
	}
	k := keys[0]
	st, ok := cfg.Values[k]
	got, where := st.Value, fmt.Sprintf("/%s:%d: ", st.Path, st.Line)
	if !ok {
		got, where = sshdDefaults[k], "not set; the default applies: "
		st.Path = "etc/ssh/sshd_config"
	}
	pass, why := compare(c.Op, got, c)
	if c.Op == "startups" {
		pass, why = maxStartups(got, c.Value)
	}
	if pass && !ok {
		return Result{Status: Pass, Path: st.Path, Detail: where + c.Key + " " + got}
	}
	if pass {
		return Result{Status: Pass, Path: st.Path, Line: st.Line}
	}
	return Result{Status: Fail, Path: st.Path, Line: st.Line, Detail: fmt.Sprintf("%s%s %s (%s)", where, c.Key, got, why)}
}

// sshdDefaults are OpenSSH 9.x's compiled-in defaults for the keywords
// the profiles check (sshd_config(5)).
var sshdDefaults = map[string]string{
	"permitrootlogin":         "prohibit-password",
	"permitemptypasswords":    "no",
	"permituserenvironment":   "no",
	"hostbasedauthentication": "no",
	"ignorerhosts":            "yes",
	"loglevel":                "INFO",
	"maxauthtries":            "6",
	"maxsessions":             "10",
	"maxstartups":             "10:30:100",
	"logingracetime":          "120",
	"clientaliveinterval":     "0",
	"clientalivecountmax":     "3",
	"usepam":                  "no",
	"x11forwarding":           "no",
	"allowtcpforwarding":      "yes",
	"disableforwarding":       "no",
	"gssapiauthentication":    "no",
	"banner":                  "none",
	"ciphers":                 "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com",
	"macs":                    "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1",
	"kexalgorithms":           "sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256",
}

// maxStartups compares start:rate:full with the most allowed.
func maxStartups(got, max string) (bool, string) {
	g, m := strings.Split(got, ":"), strings.Split(max, ":")
	for i := range m {
		if i >= len(g) {
			break
		}
		a, err1 := strconv.Atoi(g[i])
		b, _ := strconv.Atoi(m[i])
		if err1 != nil || a > b {
			return false, "want " + max + " or stricter"
		}
	}
	return true, ""
}

func evalPackageAbsent(c *Check, e *env) Result {
	for _, p := range c.Packages {
		if e.installed(p) {
			return Result{Status: Fail, Path: e.pkgPath, Detail: p + " is installed"}
		}
	}
	return Result{Status: Pass, Path: e.pkgPath}
}

func evalPackageInstalled(c *Check, e *env) Result {
	for _, p := range c.Packages {
		if e.installed(p) {
			return Result{Status: Pass, Path: e.pkgPath}
		}
	}
	return Result{Status: Fail, Path: e.pkgPath, Detail: strings.Join(c.Packages, " or ") + " is not installed"}
}

// evalNotInUse passes when none of the packages is installed, or none of
// their services is enabled.
func evalNotInUse(c *Check, e *env) Result {
	var inst []string
	for _, p := range c.Packages {
		if e.installed(p) {
			inst = append(inst, p)
		}
	}
	if len(inst) == 0 {
		return Result{Status: Pass, Path: e.pkgPath}
	}
	if len(c.Services) == 0 {
		return Result{Status: Fail, Path: e.pkgPath, Detail: strings.Join(inst, ", ") + " installed"}
	}
	for _, s := range c.Services {
		if link, ok := e.enabled(s); ok {
			return Result{Status: Fail, Path: link, Detail: fmt.Sprintf("%s installed and %s enabled (/%s)", strings.Join(inst, ", "), s, link)}
		}
	}
	return Result{Status: Pass, Path: e.pkgPath, Detail: strings.Join(inst, ", ") + " installed, its services not enabled"}
}

func evalServiceEnabled(c *Check, e *env) Result {
	if len(c.Packages) > 0 {
		if r := evalPackageInstalled(c, e); r.Status != Pass {
			return r
		}
	}
	for _, s := range c.Services {
		if link, ok := e.enabled(s); ok {
			return Result{Status: Pass, Path: link}
		}
	}
	return Result{Status: Fail, Detail: strings.Join(c.Services, " or ") + " is not enabled (no link in /etc/systemd/system/*.wants)"}
}

func evalMount(c *Check, e *env) Result {
	m, where := e.mount(c.Mount)
	if m == nil {
		if len(c.Options) > 0 {
			return Result{Status: NotApplicable, Detail: c.Mount + " is not a separate file system"}
		}
		return Result{Status: Fail, Path: "etc/fstab", Detail: c.Mount + " is not a separate file system (no /etc/fstab entry or enabled .mount unit)"}
	}
	var lack []string
	for _, o := range c.Options {
		has := false
		for _, x := range m.Options {
			has = has || x == o
		}
		if !has {
			lack = append(lack, o)
		}
	}
	if len(lack) > 0 {
		return Result{Status: Fail, Path: where, Line: m.Line, Detail: fmt.Sprintf("/%s:%d: %s mounted without %s", where, m.Line, c.Mount, strings.Join(lack, ","))}
	}
	return Result{Status: Pass, Path: where, Line: m.Line}
}

func evalKernelModule(c *Check, e *env) Result {
	name := strings.ReplaceAll(c.Module, "-", "_")
	var install, blacklist *Setting
	for _, st := range e.modprobe() {
		f := strings.Fields(st.Value)
		if len(f) < 2 || strings.ReplaceAll(f[1], "-", "_") != name {
			continue
		}
		st := st
		switch {
		case f[0] == "install" && len(f) >= 3 && (path.Base(f[2]) == "false" || path.Base(f[2]) == "true"):
			install = &st
		case f[0] == "blacklist":
			blacklist = &st
		}
	}
	if install != nil && blacklist != nil {
		return Result{Status: Pass, Path: install.Path, Line: install.Line}
	}
	if !e.moduleShipped(name) {
		return Result{Status: Pass, Detail: "no " + c.Module + " module in /lib/modules"}
	}
	var lack []string
	if install == nil {
		lack = append(lack, "install "+c.Module+" /bin/false")
	}
	if blacklist == nil {
		lack = append(lack, "blacklist "+c.Module)
	}
	return Result{Status: Fail, Detail: "the " + c.Module + " module is shipped and /etc/modprobe.d lacks " + strings.Join(lack, " and ")}
}

func evalConfigValue(c *Check, e *env) Result {
	var last *Setting
	for _, p := range e.files(c) {
		b, _ := e.fs.Read(p)
		for _, st := range ParseKeyValue(p, b, c.Format) {
			if strings.EqualFold(st.Key, c.Key) {
				st := st
				last = &st
			}
		}
	}
	got := c.Default
	st := Setting{Path: strings.TrimPrefix(c.paths()[0], "/")}
	where := "not set; the default applies: "
	if last != nil {
		got, st, where = last.Value, *last, fmt.Sprintf("/%s:%d: ", last.Path, last.Line)
	} else if c.Default == "" {
		return c.missing(Fail, fmt.Sprintf("%s is not set in /%s (%s)", c.Key, st.Path, wantText(c)))
	}
	pass, why := compare(c.Op, got, c)
	if pass {
		return Result{Status: Pass, Path: st.Path, Line: st.Line}
	}
	return Result{Status: Fail, Path: st.Path, Line: st.Line, Detail: fmt.Sprintf("%s%s %s (%s)", where, c.Key, got, why)}
}

func wantText(c *Check) string {
	_, why := compare(c.Op, "", c)
	return why
}

// evalPAM checks that a module is used in each PAM service file named
// (with its includes) and that its arguments, or the options in its
// configuration files (Conf), meet Args: "name" (present), "!name"
// (absent), "name=value", "name!=value" (absent or another value),
// "name<=N", "name>=N", "a|b" (either present). Every file must pass.
func evalPAM(c *Check, e *env) Result {
	var out Result
	for _, p := range c.paths() {
		r := evalPAMFile(c, e, strings.TrimPrefix(p, "/"))
		if r.Status == Fail {
			return r
		}
		if out.Status == "" || r.Status == NotChecked {
			out = r
		}
	}
	return out
}

func evalPAMFile(c *Check, e *env, p string) Result {
	if r := e.unknownLink([]string{p}); r != nil {
		return *r
	}
	if e.fs.Stat(p) == nil {
		return c.missing(Fail, "/"+p+" does not exist")
	}
	var uses []PAMLine
	for _, l := range ParsePAM(e.fs, p) {
		if (c.Type == "" || l.Type == c.Type) && strings.TrimSuffix(l.Module, ".so") == strings.TrimSuffix(c.Module, ".so") {
			uses = append(uses, l)
		}
	}
	if len(uses) == 0 {
		if c.Absent {
			return Result{Status: Pass, Path: p}
		}
		return Result{Status: Fail, Path: p, Detail: fmt.Sprintf("%s is not used for %s in /%s", c.Module, orAll(c.Type), p)}
	}
	if c.Absent {
		return Result{Status: Fail, Path: uses[0].Path, Line: uses[0].Line, Detail: fmt.Sprintf("/%s:%d uses %s", uses[0].Path, uses[0].Line, c.Module)}
	}
	opts := map[string]Setting{}
	for _, cf := range c.Conf {
		for _, f := range e.fs.Glob(strings.TrimPrefix(cf, "/")) {
			b, _ := e.fs.Read(f)
			for _, st := range ParseKeyValue(f, b, "equals") {
				if !strings.Contains(st.Key, " ") {
					opts[st.Key] = st
				}
			}
			lines(b, func(n int, l string) {
				if !strings.Contains(l, "=") && !strings.Contains(l, " ") {
					opts[l] = Setting{Key: l, Path: f, Line: n}
				}
			})
		}
	}
	for _, u := range uses {
		for _, a := range u.Args {
			k, v, _ := strings.Cut(a, "=")
			opts[k] = Setting{Key: k, Value: v, Path: u.Path, Line: u.Line}
		}
	}
	for _, cond := range c.Args {
		if ok, why := pamArg(cond, opts); !ok {
			return Result{Status: Fail, Path: uses[0].Path, Line: uses[0].Line, Detail: fmt.Sprintf("/%s:%d: %s %s", uses[0].Path, uses[0].Line, c.Module, why)}
		}
	}
	return Result{Status: Pass, Path: uses[0].Path, Line: uses[0].Line}
}

func orAll(t string) string {
	if t == "" {
		return "any type"
	}
	return t
}

var pamCond = regexp.MustCompile(`^([A-Za-z0-9_]+)(<=|>=|!=|=|<|>)(-?[0-9A-Za-z_]+)$`)

func pamArg(cond string, opts map[string]Setting) (bool, string) {
	if name, ok := strings.CutPrefix(cond, "!"); ok {
		if _, has := opts[name]; has {
			return false, "has " + name
		}
		return true, ""
	}
	if m := pamCond.FindStringSubmatch(cond); m != nil {
		st, ok := opts[m[1]]
		if m[2] == "!=" {
			return !ok || st.Value != m[3], fmt.Sprintf("sets %s=%s", m[1], m[3])
		}
		if !ok {
			return false, "does not set " + m[1]
		}
		if m[2] == "=" {
			return st.Value == m[3], fmt.Sprintf("sets %s=%s (want %s)", m[1], st.Value, m[3])
		}
		got, err := strconv.Atoi(st.Value)
		w, _ := strconv.Atoi(m[3])
		if err != nil {
			return false, fmt.Sprintf("sets %s=%s (want a number)", m[1], st.Value)
		}
		ok = map[string]bool{"<=": got <= w, ">=": got >= w, "<": got < w, ">": got > w}[m[2]]
		return ok, fmt.Sprintf("sets %s=%d (want %s%s)", m[1], got, m[2], m[3])
	}
	for _, alt := range strings.Split(cond, "|") {
		if _, ok := opts[alt]; ok {
			return true, ""
		}
	}
	return false, "lacks " + strings.ReplaceAll(cond, "|", " or ")
}

func evalAuditRules(c *Check, e *env) Result {
	rules := e.auditRules()
	if len(rules) == 0 {
		return Result{Status: Fail, Detail: "no audit rules in /etc/audit/rules.d"}
	}
	for _, want := range c.Rules {
		re := regexp.MustCompile(want)
		found := false
		for _, r := range rules {
			if re.MatchString(r.Value) {
				found = true
				break
			}
		}
		if !found {
			return Result{Status: Fail, Path: "etc/audit/rules.d", Detail: "no audit rule matching " + want + " in /etc/audit/rules.d"}
		}
	}
	return Result{Status: Pass, Path: "etc/audit/rules.d"}
}

func evalKernelCmdline(c *Check, e *env) Result {
	cmdlines := e.kernelCmdlines()
	if len(cmdlines) == 0 {
		return Result{Status: NotApplicable, Detail: "no GRUB configuration (/etc/default/grub) and no boot entries (/boot/loader/entries)"}
	}
	for _, l := range cmdlines {
		set := map[string]Setting{}
		for _, a := range strings.Fields(l.Value) {
			k, v, _ := strings.Cut(a, "=")
			set[k] = Setting{Key: k, Value: v}
		}
		for _, cond := range c.Args {
			if ok, why := pamArg(cond, set); !ok {
				return Result{Status: Fail, Path: l.Path, Line: l.Line, Detail: fmt.Sprintf("/%s:%d: the kernel command line %s", l.Path, l.Line, why)}
			}
		}
	}
	return Result{Status: Pass, Path: cmdlines[0].Path, Line: cmdlines[0].Line}
}

// evalAuthselect judges the authselect configuration
// (/etc/authselect/authselect.conf, or Path: the profile ID on its first
// line, then one enabled feature a line): Regex must match the profile
// ID and every feature in Args must be enabled. Without the file, PAM is
// not managed by authselect.
func evalAuthselect(c *Check, e *env) Result {
	p := "etc/authselect/authselect.conf"
	if c.Path != "" {
		p = strings.TrimPrefix(c.Path, "/")
	}
	b, ok := e.fs.Read(p)
	if !ok {
		return c.missing(Fail, "/"+p+" does not exist: PAM is not managed by authselect")
	}
	profile, line := "", 0
	features := map[string]bool{}
	lines(b, func(n int, l string) {
		if profile == "" {
			profile, line = l, n
		} else {
			features[l] = true
		}
	})
	if profile == "" {
		return Result{Status: Fail, Path: p, Detail: "/" + p + " names no profile"}
	}
	if c.Regex != "" && !regexp.MustCompile(c.Regex).MatchString(profile) {
		return Result{Status: Fail, Path: p, Line: line, Detail: fmt.Sprintf("/%s:%d: profile %s (want one matching %s)", p, line, profile, c.Regex)}
	}
	var lack []string
	for _, f := range c.Args {
		if !features[f] {
			lack = append(lack, f)
		}
	}
	if len(lack) > 0 {
		return Result{Status: Fail, Path: p, Line: line, Detail: fmt.Sprintf("/%s: profile %s without %s", p, profile, strings.Join(lack, ", "))}
	}
	return Result{Status: Pass, Path: p, Line: line}
}

func isDirEntry(f *File) bool { return f != nil && f.Type == tar.TypeDir }
