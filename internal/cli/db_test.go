package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/testutil"
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
	keys := keyPairDir(t, "pw")
	t.Setenv("COSIGN_PASSWORD", "pw")
	exported := filepath.Join(dir, "export.tar")
	if code, _, stderr = run(t, "db", "export", "--db", db, "-o", exported); code != 2 || !strings.Contains(stderr, "--key") {
		t.Errorf("export of an unsigned database: %d %s", code, stderr)
	}
	code, out, _ = run(t, "db", "export", "--db", db, "-o", exported, "--key", filepath.Join(keys, "cosign.key"))
	sum, _, _ := strings.Cut(out, " ")
	if code != 0 || len(sum) != 64 {
		t.Fatalf("export: %d %q", code, out)
	}
	if code, _, stderr = run(t, "db", "import", exported); code != 2 || !strings.Contains(stderr, "signature check failed") {
		t.Errorf("import checked with the embedded key: %d %s", code, stderr)
	}
	if code, _, stderr = run(t, "db", "import", "--db-key", filepath.Join(keys, "cosign.pub"), "--sha256", sum, exported); code != 0 {
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

// TestFreshMachine runs scan with an empty cache and no reachable
// database repository: the input is checked first, then one message names
// every way out, and a scan without the vulnerability gate still works.
func TestFreshMachine(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("BULWARK_CACHE_DIR", filepath.Join(dir, "cache"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String() + "/bulwark-sec/bulwark-db"
	ln.Close()
	t.Setenv("BULWARK_DB_REPOSITORY", down)
	t.Chdir(dir)
	root := filepath.Join(dir, "root")
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc", "os-release"), []byte("ID=debian\nVERSION_ID=12\n"), 0o644)

	code, _, stderr := run(t, "scan", "--input", "missing.tar")
	if code != 2 || !strings.Contains(stderr, "missing.tar") || strings.Contains(stderr, "database") {
		t.Errorf("missing input: %d %s", code, stderr)
	}
	// The repository is down: one attempt, then the ways out.
	for _, args := range [][]string{{"scan", "rootfs:" + root}, {"scan", "rootfs:" + root, "--offline"}} {
		code, _, stderr = run(t, args...)
		if code != 2 || strings.Count(stderr, "Ways out:") != 1 || strings.Contains(stderr, "db update") {
			t.Errorf("%v: %d\n%s", args, code, stderr)
		}
		for _, want := range []string{"--db-repository", "bulwark db import FILE", "--scanners secret,misconfig"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("%v: the message lacks %q:\n%s", args, want, stderr)
			}
		}
	}
	if code, _, stderr = run(t, "scan", "rootfs:"+root, "--scanners", "secret,misconfig"); code != 0 {
		t.Errorf("scan without vulnerabilities: %d %s", code, stderr)
	}
	if code, _, stderr = run(t, "db", "update"); code != 2 || !strings.Contains(stderr, "db import") || strings.Contains(stderr, "run 'bulwark db update'") {
		t.Errorf("db update: %d %s", code, stderr)
	}
}

// TestDBDefaultPath publishes a signed database in a real registry and
// lets a fresh cache get it the way CI does: only the repository and key
// are overridden (as a private mirror would be), nothing else.
func TestDBDefaultPath(t *testing.T) {
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	dir := t.TempDir()
	keys := keyPairDir(t, "pw")
	t.Setenv("COSIGN_PASSWORD", "pw")
	t.Setenv("BULWARK_CACHE_DIR", filepath.Join(dir, "publisher"))
	td := "../vulndb/testdata"
	built := filepath.Join(dir, "built.bwdb")
	if code, _, stderr := run(t, "db", "build", "-o", built, "--osv", td+"/osv", "--ghsa", td+"/ghsa"); code != 0 {
		t.Fatal(stderr)
	}
	repo := reg.Host + "/bulwark-sec/bulwark-db"
	code, out, stderr := run(t, "db", "push", "--db", built, repo, "--key", filepath.Join(keys, "cosign.key"))
	if code != 0 || !strings.Contains(out, repo+"@sha256:") {
		t.Fatalf("push: %d %s %s", code, out, stderr)
	}

	// A fresh machine: the first mirror is down, the second serves.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String() + "/bulwark-sec/bulwark-db"
	ln.Close()
	t.Setenv("BULWARK_CACHE_DIR", filepath.Join(dir, "ci"))
	t.Setenv("BULWARK_DB_REPOSITORY", down+","+repo)
	t.Setenv("BULWARK_DB_KEY", filepath.Join(keys, "cosign.pub"))
	root := filepath.Join(dir, "root")
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc", "os-release"), []byte("ID=debian\nVERSION_ID=12\n"), 0o644)
	code, out, stderr = run(t, "scan", "rootfs:"+root, "-f", "json")
	if code != 0 || !strings.Contains(stderr, "pulling the database from "+repo) {
		t.Fatalf("first scan: %d\n%s", code, stderr)
	}
	var rep struct {
		Database struct {
			SchemaVersion int
			BuiltAt       time.Time
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Database.SchemaVersion == 0 || rep.Database.BuiltAt.IsZero() {
		t.Errorf("the report does not record the database: %v %+v", err, rep.Database)
	}
	if code, out, _ = run(t, "scan", "rootfs:"+root, "-f", "sarif"); code != 0 || !strings.Contains(out, `"bulwarkDatabase"`) {
		t.Errorf("the SARIF report does not record the database: %d", code)
	}
	cached := filepath.Join(dir, "ci", "db", "vulndb.bwdb")
	data, err := os.ReadFile(cached)
	if err != nil {
		t.Fatal(err)
	}

	// The embedded key refuses a database signed with another key, and the
	// database stays as it was.
	t.Setenv("BULWARK_DB_KEY", "")
	if code, _, stderr = run(t, "db", "update"); code != 2 || !strings.Contains(stderr, "signature check") {
		t.Errorf("update checked with the embedded key: %d %s", code, stderr)
	}
	if now, _ := os.ReadFile(cached); !bytes.Equal(now, data) {
		t.Error("a refused update changed the database")
	}

	// Offline: the pulled database and its signature go to another
	// machine in one bundle.
	t.Setenv("BULWARK_DB_KEY", filepath.Join(keys, "cosign.pub"))
	bundle := filepath.Join(dir, "bulwark-db.tar")
	if code, _, stderr = run(t, "db", "export", "-o", bundle); code != 0 {
		t.Fatalf("export: %s", stderr)
	}
	t.Setenv("BULWARK_CACHE_DIR", filepath.Join(dir, "airgap"))
	if code, _, stderr = run(t, "db", "import", bundle); code != 0 {
		t.Fatalf("import: %s", stderr)
	}
	if code, _, stderr = run(t, "scan", "rootfs:"+root, "--offline"); code != 0 {
		t.Errorf("offline scan after import: %d %s", code, stderr)
	}
}
