// Package osrelease identifies the operating system of an image from
// /etc/os-release and, where that is missing, /usr/lib/os-release and the
// distribution files (/etc/debian_version, /etc/alpine-release,
// /etc/redhat-release, /etc/lsb-release).
package osrelease

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/inventory"
)

// priorities of the files (lower wins).
var files = map[string]int{
	"etc/os-release":     0,
	"usr/lib/os-release": 1,
	"etc/lsb-release":    2,
	"etc/alpine-release": 3,
	"etc/debian_version": 4,
	"etc/redhat-release": 5,
	"etc/centos-release": 5,
	"etc/fedora-release": 5,
	"etc/system-release": 6,
}

// Analyzer reads the OS identification files.
type Analyzer struct{}

// Name implements inventory.Analyzer.
func (Analyzer) Name() string { return "os-release" }

// Version implements inventory.Analyzer.
func (Analyzer) Version() int { return 1 }

// Modes implements inventory.Analyzer.
func (Analyzer) Modes() inventory.Mode { return inventory.ModeImage }

// Want implements inventory.Analyzer.
func (Analyzer) Want(p string, size int64, _ fs.FileMode) bool {
	_, ok := files[p]
	return ok && size < 64<<10
}

// Analyze implements inventory.Analyzer.
func (Analyzer) Analyze(_ context.Context, f *inventory.File) (*inventory.Result, error) {
	b, err := inventory.ReadLimited(f.R, 64<<10)
	if err != nil {
		return nil, err
	}
	os, err := Parse(f.Path, string(b))
	if err != nil {
		return nil, err
	}
	if os == nil {
		return nil, nil
	}
	return &inventory.Result{OS: &inventory.OSRelease{OS: *os, Priority: files[f.Path]}}, nil
}

var releaseRE = regexp.MustCompile(`^(.*?) release ([0-9][0-9.]*)`)

// Parse identifies the OS from the content of one of the files above;
// it returns nil when the file names no OS.
func Parse(p, content string) (*inventory.OS, error) {
	content = strings.TrimSpace(content)
	switch p {
	case "etc/os-release", "usr/lib/os-release", "etc/lsb-release":
		kv, err := parseKV(content)
		if err != nil {
			return nil, err
		}
		if p == "etc/lsb-release" {
			if kv["DISTRIB_ID"] == "" {
				return nil, nil
			}
			return &inventory.OS{ID: strings.ToLower(kv["DISTRIB_ID"]), Name: kv["DISTRIB_DESCRIPTION"],
				Version: kv["DISTRIB_RELEASE"], Codename: kv["DISTRIB_CODENAME"]}, nil
		}
		if kv["ID"] == "" {
			return nil, nil
		}
		os := &inventory.OS{ID: kv["ID"], Name: kv["PRETTY_NAME"], Version: kv["VERSION_ID"], Codename: kv["VERSION_CODENAME"]}
		if os.Name == "" {
			os.Name = kv["NAME"]
		}
		if os.Codename == "" && kv["UBUNTU_CODENAME"] != "" {
			os.Codename = kv["UBUNTU_CODENAME"]
		}
		return os, nil
	case "etc/alpine-release":
		v := firstLine(content)
		if v == "" {
			return nil, nil
		}
		return &inventory.OS{ID: "alpine", Name: "Alpine Linux v" + v, Version: v}, nil
	case "etc/debian_version":
		v := firstLine(content)
		if v == "" {
			return nil, nil
		}
		os := &inventory.OS{ID: "debian", Name: "Debian GNU/Linux " + v}
		if _, err := strconv.ParseFloat(v, 64); err == nil {
			os.Version = strings.SplitN(v, ".", 2)[0]
			os.Codename = debianCodenames[os.Version]
		} else if c, _, ok := strings.Cut(v, "/"); ok {
			// Testing and unstable say "trixie/sid".
			os.Codename = c
		}
		return os, nil
	default:
		line := firstLine(content)
		m := releaseRE.FindStringSubmatch(line)
		if m == nil || strings.TrimSpace(m[1]) == "" {
			return nil, nil
		}
		id := strings.ToLower(strings.Fields(m[1])[0])
		switch {
		case strings.HasPrefix(line, "Red Hat"):
			id = "rhel"
		case strings.HasPrefix(line, "Amazon Linux"):
			id = "amzn"
		}
		return &inventory.OS{ID: id, Name: line, Version: m[2]}, nil
	}
}

var debianCodenames = map[string]string{
	"8": "jessie", "9": "stretch", "10": "buster", "11": "bullseye", "12": "bookworm", "13": "trixie", "14": "forky",
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(l)
}

// parseKV reads shell-style KEY=value lines, with optional single or
// double quotes.
func parseKV(s string) (map[string]string, error) {
	kv := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d is not KEY=value", n)
		}
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
			if line[len(k)+1] == '"' {
				r := strings.NewReplacer(`\"`, `"`, `\\`, `\`, `\$`, `$`, "\\`", "`")
				v = r.Replace(v)
			}
		}
		kv[strings.TrimSpace(k)] = v
	}
	return kv, sc.Err()
}
