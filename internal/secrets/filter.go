package secrets

import (
	"bytes"
	"math"
	"strings"
)

// Entropy returns the Shannon entropy of s in bits per byte.
func Entropy(s string) float64 {
	if s == "" {
		return 0
	}
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	n := float64(len(s))
	var h float64
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// placeholderWords are parts of values that show an example, a template
// or a reference rather than a credential.
var placeholderWords = []string{
	"example", "placeholder", "changeme", "change_me", "change-me", "redacted",
	"dummy", "sample", "replace_me", "replaceme", "your_", "your-", "yourkey",
	"yourtoken", "yoursecret", "yourpassword", "${", "$(", "{{", "}}", "%s", "%(",
	"<", ">", "****", "....", "____", "----", "process.env", "os.environ",
	"getenv", "secretkeyref",
}

// sequences that placeholder values are often made of.
var placeholderSequences = []string{
	"0123456789", "1234567890", "abcdefghij", "qwertyuiop",
}

// placeholderValues are whole values that are placeholders.
var placeholderValues = map[string]bool{
	"password": true, "passwd": true, "pass": true, "secret": true, "token": true,
	"changeit": true, "admin": true, "root": true, "test": true, "user": true,
	"username": true, "none": true, "null": true, "nil": true, "true": true, "false": true,
	"pwd": true, "guest": true, "default": true, "empty": true, "undefined": true,
}

// pathRoots start values that are file paths (a key *file*, not a key):
// a real secret begins with one of them about once in 64^5.
var pathRoots = []string{
	"/tmp/", "/home/", "/etc/", "/var/", "/usr/", "/opt/", "/root/", "/srv/", "/run/",
	"/app/", "/mnt/", "/data/", "/workspace/", "/secrets/", "./", "../", "~/",
	// Module paths in depmod's lists (/usr/lib/modules/RELEASE/modules.dep:
	// "kernel/drivers/watchdog/hpwdt.ko: kernel/drivers/watchdog/watchdog.ko").
	"kernel/", "updates/",
}

// IsPlaceholder reports whether a matched value is an example, a
// template reference or a made-up filler rather than a real secret:
// AWS's documented example keys, ${VAR} / <your-key> / {{ .Value }}
// references, xxxxxxxx fillers, values made of one or two characters,
// long runs of one character or of an alphabet sequence, and file paths
// (key: /run/secrets/deploy.key names a secret, it does not hold one).
func IsPlaceholder(v string) bool {
	if v == "" {
		return true
	}
	for _, root := range pathRoots {
		if strings.HasPrefix(v, root) {
			return true
		}
	}
	if strings.Contains(v, "xxxx") || strings.Contains(v, "XXXX") {
		return true // a filler; xXxX in a random string is not one
	}
	lower := strings.ToLower(v)
	if placeholderValues[lower] {
		return true
	}
	for _, w := range placeholderWords {
		if strings.Contains(lower, w) {
			return true
		}
	}
	for _, s := range placeholderSequences {
		if strings.Contains(lower, s) {
			return true
		}
	}
	if strings.HasPrefix(v, "$") && len(v) > 1 && isIdentByte(v[1]) {
		return true // $VAR
	}
	var distinct [256]bool
	nd := 0
	run, maxRun := 0, 0
	for i := 0; i < len(lower); i++ {
		c := lower[i]
		if !distinct[c] {
			distinct[c] = true
			nd++
		}
		if i > 0 && lower[i-1] == c {
			run++
		} else {
			run = 1
		}
		maxRun = max(maxRun, run)
	}
	if nd <= 2 || maxRun >= 6 {
		return true
	}
	return false
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

// inlineIgnoreMarkers suppress a finding on the line that carries one.
var inlineIgnoreMarkers = [][]byte{[]byte("bulwark:ignore"), []byte("gitleaks:allow")}

// hasInlineIgnore reports whether a line carries an inline ignore comment.
func hasInlineIgnore(line []byte) bool {
	for _, m := range inlineIgnoreMarkers {
		if bytes.Contains(line, m) {
			return true
		}
	}
	return false
}

// Redact returns the secret as reports show it: its first 4 characters
// (2 for secrets under 12 characters, none under 8) followed by "*****".
func Redact(s string) string {
	n := 4
	switch {
	case len(s) < 8:
		n = 0
	case len(s) < 12:
		n = 2
	}
	return s[:n] + "*****"
}
