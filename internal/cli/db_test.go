package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Execute(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestDBCommands(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("BULWARK_CACHE_DIR", filepath.Join(dir, "cache"))
	td := "../vulndb/testdata"
	db := filepath.Join(dir, "v.bwdb")
	code, _, stderr := run(t, "db", "build", "-o", db, "--osv", td+"/osv", "--osv", td+"/bad", "--ghsa", td+"/ghsa",
		"--debian-tracker", td+"/distro/debian-tracker.json", "--kev", td+"/exploit/kev.json")
	if code != 0 || !strings.Contains(stderr, "skipped 2 (broken JSON/YAML), e.g. broken.json, broken.yaml") {
		t.Fatalf("build: %d\n%s", code, stderr)
	}
	code, out, _ := run(t, "db", "info", "--db", db)
	if code != 0 || !strings.Contains(out, "schema:     2") || !strings.Contains(out, "debian-tracker") {
		t.Errorf("info: %d\n%s", code, out)
	}
	exported := filepath.Join(dir, "export.bwdb")
	code, out, _ = run(t, "db", "export", "--db", db, "-o", exported)
	sum, _, _ := strings.Cut(out, " ")
	if code != 0 || len(sum) != 64 {
		t.Fatalf("export: %d %q", code, out)
	}
	if code, _, stderr = run(t, "db", "import", "--sha256", sum, exported); code != 0 {
		t.Fatalf("import: %d %s", code, stderr)
	}
	// The imported database is the default one now.
	if code, out, _ = run(t, "db", "info"); code != 0 || !strings.Contains(out, filepath.Join(dir, "cache")) {
		t.Errorf("info on the default database: %d %s", code, out)
	}
	if code, _, stderr = run(t, "db", "update", "--offline"); code != 0 || !strings.Contains(stderr, "not updating") {
		t.Errorf("update --offline: %d %s", code, stderr)
	}

	// A damaged database: exit 2 and advice.
	data, _ := os.ReadFile(db)
	bad := filepath.Join(dir, "bad.bwdb")
	os.WriteFile(bad, data[:len(data)-100], 0o644)
	code, _, stderr = run(t, "db", "info", "--db", bad)
	if code != 2 || !strings.Contains(stderr, "truncated") || !strings.Contains(stderr, "bulwark db update") {
		t.Errorf("corrupt database: %d %s", code, stderr)
	}
	for _, args := range [][]string{
		{"db", "build", "--osv", td + "/osv"},
		{"db", "update", "--db-key", "k.pub"},
		{"db", "import"},
	} {
		if code, _, _ := run(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
