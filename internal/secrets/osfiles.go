package secrets

import (
	"bufio"
	"bytes"
	"path"
	"strings"
)

// Files that OS packages install (a sudoers example under
// usr/share/doc, a test key of a library's own test suite) are the
// distribution's, not the image author's: their findings are left out of
// image scans unless Options.IncludeOSFiles. The package managers' file
// lists say which files those are: dpkg's and apk's here, rpm's databases
// through the inventory's reader.

// maxFileList bounds a package file list read whole.
const maxFileList = 16 << 20

// isFileList reports whether an image path is a package manager's list of
// installed files: dpkg's info/*.list and distroless status.d/*.md5sums,
// and apk's installed database.
func isFileList(p string) bool {
	if rest, ok := strings.CutPrefix(p, "var/lib/dpkg/info/"); ok {
		return strings.HasSuffix(rest, ".list") && !strings.Contains(rest, "/")
	}
	if rest, ok := strings.CutPrefix(p, "var/lib/dpkg/status.d/"); ok {
		return strings.HasSuffix(rest, ".md5sums") && !strings.Contains(rest, "/")
	}
	return p == "lib/apk/db/installed"
}

// parseFileList returns the paths (relative, without a leading slash) that
// a file list names.
func parseFileList(p string, data []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	apk := p == "lib/apk/db/installed"
	md5 := strings.HasSuffix(p, ".md5sums")
	dir := ""
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			dir = "" // apk: the next package
			continue
		}
		switch {
		case apk:
			if v, ok := strings.CutPrefix(line, "F:"); ok {
				dir = v
				continue
			}
			v, ok := strings.CutPrefix(line, "R:")
			if !ok {
				continue
			}
			if dir != "" {
				v = dir + "/" + v
			}
			line = v
		case md5:
			_, v, ok := strings.Cut(line, " ")
			if !ok {
				continue
			}
			line = strings.TrimLeft(v, " *")
		}
		if q := path.Clean("/" + line)[1:]; q != "" {
			out = append(out, q)
		}
	}
	return out
}
