package host

import (
	"path"
	"strings"
)

// Setting is one key and value read from a configuration file, with where
// it was read.
type Setting struct {
	Key, Value string
	Path       string
	Line       int
}

// lines splits content into lines, numbered from 1, with comments
// (from a # at the start of the trimmed line) and blank lines dropped.
func lines(content []byte, fn func(n int, line string)) {
	for i, l := range strings.Split(string(content), "\n") {
		l = strings.TrimSpace(strings.TrimRight(l, "\r"))
		if l == "" || l[0] == '#' || l[0] == ';' {
			continue
		}
		fn(i+1, l)
	}
}

// ParseSysctl reads a sysctl.conf or sysctl.d file: "key = value" lines,
// keys with "/" or "." separators, a leading "-" ignoring errors.
func ParseSysctl(name string, content []byte) []Setting {
	var out []Setting
	lines(content, func(n int, l string) {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			return
		}
		k = strings.TrimPrefix(strings.TrimSpace(k), "-")
		k = strings.ReplaceAll(k, "/", ".")
		out = append(out, Setting{Key: k, Value: strings.Join(strings.Fields(v), " "), Path: name, Line: n})
	})
	return out
}

// ParseKeyValue reads a "KEY VALUE" file (login.defs, auditd.conf with
// format "equals": "key = value"; format "ini": systemd's [Section] files,
// keys prefixed "Section."). Keys keep their case.
func ParseKeyValue(name string, content []byte, format string) []Setting {
	var out []Setting
	section := ""
	lines(content, func(n int, l string) {
		var k, v string
		switch format {
		case "ini":
			if strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]") {
				section = strings.TrimSpace(l[1 : len(l)-1])
				return
			}
			var ok bool
			if k, v, ok = strings.Cut(l, "="); !ok {
				return
			}
			k = section + "." + strings.TrimSpace(k)
		case "equals":
			var ok bool
			if k, v, ok = strings.Cut(l, "="); !ok {
				return
			}
		default:
			f := strings.Fields(l)
			k, v = f[0], strings.Join(f[1:], " ")
		}
		out = append(out, Setting{Key: strings.TrimSpace(k), Value: strings.TrimSpace(v), Path: name, Line: n})
	})
	return out
}

// SSHDConfig is the effective global configuration of sshd: for each
// keyword (lower case), the first value given, as sshd takes it, with
// Include files read where they appear. Keywords inside Match blocks do
// not count.
type SSHDConfig struct {
	Values   map[string]Setting
	Warnings []string
	reads    int
}

// maxInclude bounds Include nesting, as sshd does; maxReads bounds how
// many files one configuration reads in all, so that files that include
// each other cannot make the work grow without bound.
const (
	maxInclude = 16
	maxReads   = 256
)

// ParseSSHD reads the sshd_config at p from fs with its Includes.
func ParseSSHD(s *FS, p string) *SSHDConfig {
	c := &SSHDConfig{Values: map[string]Setting{}}
	c.read(s, p, 0)
	return c
}

func (c *SSHDConfig) read(s *FS, p string, depth int) bool {
	c.reads++
	if depth > maxInclude || c.reads > maxReads {
		c.Warnings = append(c.Warnings, "/"+p+": Include nested too deep or too many included files; the rest was not read")
		return false
	}
	content, _ := s.Read(p)
	inMatch := false
	for i, l := range strings.Split(string(content), "\n") {
		l = strings.TrimSpace(strings.TrimRight(l, "\r"))
		if l == "" || l[0] == '#' {
			continue
		}
		k, v := splitSSHD(l)
		k = strings.ToLower(k)
		switch {
		case k == "match":
			inMatch = true
			continue
		case inMatch:
			continue
		case k == "include":
			for _, pat := range strings.Fields(v) {
				if !strings.HasPrefix(pat, "/") {
					pat = "/etc/ssh/" + pat
				}
				for _, inc := range s.Glob(pat) {
					if !c.read(s, inc, depth+1) {
						return false
					}
				}
			}
			continue
		}
		if _, ok := c.Values[k]; !ok {
			c.Values[k] = Setting{Key: k, Value: unquote(v), Path: p, Line: i + 1}
		}
	}
	return true
}

// splitSSHD splits "Keyword value" or "Keyword=value".
func splitSSHD(l string) (string, string) {
	i := strings.IndexAny(l, " \t=")
	if i < 0 {
		return l, ""
	}
	k, v := l[:i], strings.TrimSpace(l[i:])
	v = strings.TrimSpace(strings.TrimPrefix(v, "="))
	return k, v
}

func unquote(v string) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}

// Mount is one fstab entry.
type Mount struct {
	Spec, Dir, Type string
	Options         []string
	Line            int
}

// ParseFstab reads /etc/fstab.
func ParseFstab(content []byte) []Mount {
	var out []Mount
	lines(content, func(n int, l string) {
		f := strings.Fields(l)
		if len(f) < 3 {
			return
		}
		m := Mount{Spec: f[0], Dir: path.Clean(strings.ReplaceAll(f[1], `\040`, " ")), Type: f[2], Line: n}
		if len(f) > 3 {
			m.Options = strings.Split(f[3], ",")
		}
		out = append(out, m)
	})
	return out
}

// PAMLine is one rule of a PAM service file.
type PAMLine struct {
	Type, Control, Module string
	Args                  []string
	Path                  string
	Line                  int
}

// ParsePAM reads a PAM service file, following Debian's @include lines
// and the include and substack controls (the lines of the named file's
// type), relative to /etc/pam.d, up to a small depth.
func ParsePAM(s *FS, p string) []PAMLine {
	reads := 0
	return parsePAM(s, p, 0, &reads)
}

func parsePAM(s *FS, p string, depth int, reads *int) []PAMLine {
	*reads++
	if depth > 8 || *reads > maxReads {
		return nil
	}
	content, _ := s.Read(p)
	var out []PAMLine
	lines(content, func(n int, l string) {
		f := pamFields(l)
		if len(f) >= 2 && f[0] == "@include" {
			out = append(out, parsePAM(s, "etc/pam.d/"+path.Base(f[1]), depth+1, reads)...)
			return
		}
		if len(f) < 3 {
			return
		}
		typ := strings.TrimPrefix(f[0], "-")
		if f[1] == "include" || f[1] == "substack" {
			for _, l := range parsePAM(s, "etc/pam.d/"+path.Base(f[2]), depth+1, reads) {
				if l.Type == typ {
					out = append(out, l)
				}
			}
			return
		}
		out = append(out, PAMLine{Type: typ, Control: f[1], Module: path.Base(f[2]), Args: f[3:], Path: p, Line: n})
	})
	return out
}

// pamFields splits a PAM line, keeping [bracketed controls] whole.
func pamFields(l string) []string {
	var out []string
	for len(l) > 0 {
		l = strings.TrimLeft(l, " \t")
		if l == "" {
			break
		}
		if l[0] == '[' {
			if i := strings.IndexByte(l, ']'); i > 0 {
				out = append(out, l[:i+1])
				l = l[i+1:]
				continue
			}
		}
		i := strings.IndexAny(l, " \t")
		if i < 0 {
			out = append(out, l)
			break
		}
		out = append(out, l[:i])
		l = l[i:]
	}
	return out
}

// ParseAuditRules reads an audit rules file and returns its rules, each
// with whitespace collapsed, in order.
func ParseAuditRules(name string, content []byte) []Setting {
	var out []Setting
	lines(content, func(n int, l string) {
		out = append(out, Setting{Value: strings.Join(strings.Fields(l), " "), Path: name, Line: n})
	})
	return out
}

// records splits a colon-separated account file (passwd, shadow, group,
// gshadow) into records with at least min fields.
func records(name string, content []byte, min int) ([][]string, []Setting) {
	var out [][]string
	var where []Setting
	for i, l := range strings.Split(string(content), "\n") {
		l = strings.TrimRight(l, "\r")
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		f := strings.Split(l, ":")
		if len(f) < min {
			continue
		}
		out = append(out, f)
		where = append(where, Setting{Key: f[0], Path: name, Line: i + 1})
	}
	return out, where
}
