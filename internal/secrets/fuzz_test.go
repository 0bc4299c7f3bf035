package secrets

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

var t0ctx = context.Background()

// FuzzEngine feeds arbitrary content to the rule engine, through both the
// in-memory and the streaming paths, and checks that they agree and that
// every match lies within the content.
func FuzzEngine(f *testing.F) {
	f.Add([]byte("GITHUB_TOKEN=" + fakeGHP + "\n"))
	f.Add([]byte(fakeRSA))
	f.Add([]byte("password = \"Tr0ub4dor&3x\"\naws_secret_access_key=" + fakeAWSSec))
	f.Add([]byte("postgres://u:p4ssw0rdX@h/db bulwark:ignore"))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\\nMII"))
	f.Add([]byte("UPDATE s SET value = '" + fakeAWSSec + "' WHERE name = 's3_secret_access_key';\n- name: AWS_ACCOUNT_ID\n  value: 4829-1037-5561\n"))
	f.Add([]byte(fakeOpenSSH()))
	eng, err := DefaultEngine()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ms := eng.ScanBytes("f", data)
		streamed, err := eng.ScanReader("f", bytes.NewReader(data), nil, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != len(streamed) {
			t.Fatalf("ScanBytes found %d, ScanReader %d", len(ms), len(streamed))
		}
		for _, m := range ms {
			if m.Offset < 0 || int(m.Offset)+len(m.Secret) > len(data) || !bytes.Equal(data[m.Offset:int(m.Offset)+len(m.Secret)], []byte(m.Secret)) {
				t.Fatalf("match %q at %d is not in the content", m.Secret, m.Offset)
			}
			if m.Line < 1 || m.Line > bytes.Count(data, []byte("\n"))+1 {
				t.Fatalf("line %d out of range", m.Line)
			}
			if m.Column < 1 || m.EndLine < m.Line || m.EndLine == m.Line && m.EndColumn < m.Column {
				t.Fatalf("span %d:%d-%d:%d is not ordered", m.Line, m.Column, m.EndLine, m.EndColumn)
			}
			if r := Redact(m.Secret); len(m.Secret) >= 8 && strings.Contains(r, m.Secret) {
				t.Fatalf("redaction %q shows the secret", r)
			}
		}
	})
}

// FuzzParseConfig checks that no YAML rules file makes the loader or the
// engine panic.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("rules: [{id: a, regex: 'x(y)', keywords: [x]}]"))
	f.Add([]byte("useDefault: false\nrules:\n  - {id: b, regex: '(?s)a.*b', multiline: true, path: 'x', allow: ['z']}\nallowlist: {paths: [a], fingerprints: [b]}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data, "fuzz.yaml")
		if err != nil {
			return
		}
		cfg.UseDefault = false
		eng, err := cfg.Engine()
		if err != nil {
			return
		}
		eng.ScanBytes("x", []byte("xyz acme_ab test\n"))
	})
}

// FuzzParseGitleaksConfig does the same for gitleaks TOML imports.
func FuzzParseGitleaksConfig(f *testing.F) {
	f.Add([]byte("[[rules]]\nid='a'\nregex='''x(y)'''\nkeywords=['x']\n[allowlist]\npaths=['a']"))
	f.Add([]byte("[extend]\nuseDefault=true\n[[rules]]\nid='p'\npath='''\\.p12$'''"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseGitleaksConfig(data, "fuzz.toml")
		if err != nil {
			return
		}
		cfg.UseDefault = false
		eng, err := cfg.Engine()
		if err != nil {
			return
		}
		eng.ScanBytes("x", []byte("xyz\n"))
	})
}

// FuzzParseAllowlist checks the allowlist loader.
func FuzzParseAllowlist(f *testing.F) {
	f.Add([]byte("paths: ['^vendor/']\nrules: [jwt]\nregexes: [x]\nstopwords: [a]\nfingerprints: [f]\ncommits: [abcdef1]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseAllowlist(data, "fuzz.yaml")
		if err != nil {
			return
		}
		a.matchPath("vendor/x")
	})
}

// FuzzParseBaseline checks the baseline loader.
func FuzzParseBaseline(f *testing.F) {
	f.Add([]byte(`{"findings":[{"fingerprint":"abc"}]}`))
	f.Add([]byte(`["abc","def"]`))
	f.Add([]byte("abc\n# x\ndef\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBaseline(data, "fuzz")
		if err != nil {
			return
		}
		b.has("abc")
	})
}

// FuzzParseGitLog feeds arbitrary text to the git log parser.
func FuzzParseGitLog(f *testing.F) {
	f.Add([]byte(commitMark + "abc\x00A <a@b>\x002024-01-01\n\ndiff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -0,0 +1,2 @@\n+GITHUB_TOKEN=" + fakeGHP + "\n+b\n"))
	f.Add([]byte("+++ \"b/a\\tb\"\n@@ -1 +7 @@\n+x\nBinary files a/x and b/x differ\n"))
	eng, err := DefaultEngine()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := newCollector(&Options{})
		jobs := make(chan *gitDiff, 1)
		done := make(chan struct{})
		go func() {
			for d := range jobs {
				if len(d.lines) != bytes.Count(d.data, []byte("\n")) {
					t.Errorf("%d line numbers for %d lines", len(d.lines), bytes.Count(d.data, []byte("\n")))
				}
				scanDiff(eng, c, d)
			}
			close(done)
		}()
		if _, err := parseGitLog(bytes.NewReader(data), c, jobs); err != nil {
			t.Error(err)
		}
		close(jobs)
		<-done
	})
}

// FuzzParseFileList checks that no package file list makes the reader panic.
func FuzzParseFileList(f *testing.F) {
	f.Add("lib/apk/db/installed", []byte("P:a\nF:lib\nR:x\n\nR:y\n"))
	f.Add("var/lib/dpkg/status.d/a.md5sums", []byte("abc  usr/x\n"))
	f.Add("var/lib/dpkg/info/a.list", []byte("/.\n/usr/x\n"))
	f.Fuzz(func(t *testing.T, p string, data []byte) {
		for _, q := range parseFileList(p, data) {
			if q == "" || strings.HasPrefix(q, "/") {
				t.Fatalf("path %q", q)
			}
		}
	})
}
