package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/secrets"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// corpus generates a small, dense tree (a seed the benchmark does not
// use) and scans it with bulwark's directory scanner.
func corpus(t *testing.T, only ...string) (dir string, truth []planted, hs []hit) {
	t.Helper()
	dir = t.TempDir()
	o := options{out: filepath.Join(dir, "tree"), truth: filepath.Join(dir, "truth.json"), mb: 3, seed: 20261206, perMille: 40, only: only}
	if err := generate(o); err != nil {
		t.Fatal(err)
	}
	truth, err := readTruth(o.truth)
	if err != nil {
		t.Fatal(err)
	}
	res, err := secrets.ScanDir(context.Background(), o.out, secrets.DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Findings {
		hs = append(hs, hit{f.Location.Path, f.Location.Line})
	}
	return o.out, truth, hs
}

// TestRecallPrecision: on the generated corpus, every kind of secret is
// found at least 98% of the time, at least 98% of the findings are
// planted secrets, and no kind of bait is flagged more than 2% of the time.
func TestRecallPrecision(t *testing.T) {
	_, truth, hs := corpus(t)
	s := scoreHits(truth, hs)
	var out strings.Builder
	s.print(&out, "bulwark")
	t.Log(out.String())
	for k, n := range s.planted {
		if r := ratio(s.found[k], n); r < 0.98 {
			t.Errorf("%s: recall %.3f (%d/%d), want at least 0.98", k, r, s.found[k], n)
		}
	}
	if p := s.precision(); p < 0.98 {
		t.Errorf("precision %.3f, want at least 0.98", p)
	}
	for k, n := range s.baitHit {
		if r := ratio(n, s.bait[k]); r > 0.02 {
			t.Errorf("bait %s flagged %.3f of the time (%d/%d), want at most 0.02", k, r, n, s.bait[k])
		}
	}
	if len(s.planted) < 21 {
		t.Errorf("%d kinds planted, want at least 21", len(s.planted))
	}
}

// oracleExempt are the bait kinds whose values are AWS documentation
// examples or placeholders: the oracle flags them, bulwark need not.
var oracleExempt = map[string]bool{
	"aws-example-key": true, "aws-example-sec": true, "aws-example-account": true, "env-reference": true,
	"template-ref": true, "angle-filler": true, "xxx-filler": true, "changeme": true, "test-fixture": true,
}

// TestOracle runs the grep gate bulwark replaces (find-aws-secret.sh) on
// a generated corpus of AWS keys and account IDs (with all the bait) and
// requires that every line it flags for a secret
// access key or an account ID (its patterns 2 and 3) is flagged by
// bulwark, unless the value is a documentation example or a placeholder.
func TestOracle(t *testing.T) {
	root, err := filepath.Abs("../../../../shared/oracles/find-aws-secret")
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(root, "find-aws-secret.sh")
	if _, err := os.Stat(script); err != nil {
		if testutil.Integration() {
			t.Fatalf("the oracle is missing: %v", err)
		}
		t.Skipf("the oracle is not beside the clone (%v): skipped", err)
	}
	testutil.RequireTool(t, "grep")
	dir, truth, hs := corpus(t, "aws-access-key-id", "aws-secret-access-key", "aws-account-id")
	scriptOut, _ := exec.Command("bash", script, dir).Output() // exit 1: found
	patterns, err := os.ReadFile(filepath.Join(root, "credential-patterns"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(patterns)), "\n")
	if len(lines) != 3 {
		t.Fatalf("credential-patterns has %d patterns, want 3", len(lines))
	}
	// Patterns 2 and 3 alone, as the script runs them.
	keyOut, err := exec.Command("grep", "-d", "recurse", "-nwHEI", lines[1]+"\n"+lines[2], dir).Output()
	if err != nil {
		t.Fatalf("grep: %v", err)
	}
	flagged := map[hit]bool{}
	for _, h := range hs {
		flagged[h] = true
	}
	inBlock := func(h hit) (planted, bool) {
		for _, p := range truth {
			if p.Path == h.path && h.line >= p.Line && h.line <= p.End {
				return p, true
			}
		}
		return planted{}, false
	}
	n, exempt := 0, 0
	sc := bufio.NewScanner(bytes.NewReader(keyOut))
	for sc.Scan() {
		path, rest, _ := strings.Cut(strings.TrimPrefix(sc.Text(), dir+"/"), ":")
		num, text, _ := strings.Cut(rest, ":")
		line, err := strconv.Atoi(num)
		if err != nil {
			t.Fatalf("grep output %q", sc.Text())
		}
		if !bytes.Contains(scriptOut, []byte(path+":"+num+":")) {
			t.Errorf("%s:%d: grep flags it but the script does not", path, line)
		}
		n++
		h := hit{path, line}
		p, planted := inBlock(h)
		if planted && p.Bait && oracleExempt[p.Kind] {
			exempt++
			continue
		}
		if flagged[h] {
			continue
		}
		// A multi-line secret counts where bulwark starts it.
		found := false
		if planted {
			for l := p.Line; l <= p.End && !found; l++ {
				found = flagged[hit{path, l}]
			}
		}
		if !found {
			t.Errorf("%s:%d: the oracle flags %q, bulwark does not", path, line, text)
		}
	}
	t.Logf("the oracle flagged %d lines for secret keys and account IDs (%d documentation examples or placeholders)", n, exempt)
	if n-exempt < 50 {
		t.Errorf("only %d lines to compare: the corpus no longer exercises the oracle", n-exempt)
	}
}
