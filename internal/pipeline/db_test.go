package pipeline_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/bulwark-sec/bulwark/internal/demo"
	"github.com/bulwark-sec/bulwark/internal/pipeline"
	"github.com/bulwark-sec/bulwark/internal/sign"
	"github.com/bulwark-sec/bulwark/internal/testutil"
	"github.com/bulwark-sec/bulwark/internal/vulndb/build"
	"github.com/bulwark-sec/bulwark/internal/vulndb/update"
)

// TestScanStageFreshCache runs the scan stage on a machine with an empty
// cache and the default scan.db: the stage pulls the signed database the
// way 'bulwark scan' does (the first repository is down, the second
// serves) and gates with it.
func TestScanStageFreshCache(t *testing.T) {
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a bound on the test, not an assertion
	defer cancel()
	priv, pub, err := sign.GenerateKeyPair([]byte(password))
	if err != nil {
		t.Fatal(err)
	}
	keyFile, pubFile := filepath.Join(dir, "db.key"), filepath.Join(dir, "db.pub")
	os.WriteFile(keyFile, priv, 0o600)
	os.WriteFile(pubFile, pub, 0o644)
	signer, err := sign.LoadSigner(ctx, keyFile, sign.StaticPass([]byte(password)))
	if err != nil {
		t.Fatal(err)
	}
	built := filepath.Join(dir, "built.bwdb")
	if _, err := build.Build(ctx, build.Options{Output: built, GHSA: []string{"../demo/data"}}); err != nil {
		t.Fatal(err)
	}
	repo := reg.Host + "/bulwark-sec/bulwark-db"
	if _, err := update.Push(ctx, built, repo, nil, signer); err != nil {
		t.Fatal(err)
	}
	img, err := demo.BaseImage("1.2.5")
	if err != nil {
		t.Fatal(err)
	}
	input := filepath.Join(dir, "app.tar")
	if err := tarball.WriteToFile(input, mustRef(t, "app:1"), img); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String() + "/bulwark-sec/bulwark-db"
	ln.Close()

	cache := filepath.Join(dir, "cache")
	t.Setenv("BULWARK_CACHE_DIR", cache)
	yaml := "version: 1\nscan:\n  vulnerabilities: {failOn: critical}\n"
	f, err := pipeline.Parse(strings.NewReader(yaml), filepath.Join(dir, "bulwark.yaml"), pipeline.ValidateOptions{HasInput: true})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"BULWARK_DB_REPOSITORY": down + "," + repo, "BULWARK_DB_KEY": pubFile}
	var out, log bytes.Buffer
	run, err := pipeline.Execute(ctx, pipeline.Options{File: f, Input: input, Out: &out, Log: &log, Env: func(k string) string { return env[k] }})
	wantGateFailure(t, err)
	report, err := os.ReadFile(filepath.Join(dir, "bulwark-artifacts", "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(report), "GHSA-xvch-5gv4-984h") || !strings.Contains(string(report), `"database"`) || run.DBBuilt.IsZero() {
		t.Errorf("the gate did not use the pulled database, or the report does not say so:\n%s\n%s", out.String(), report)
	}
	if !strings.Contains(log.String(), "pulling the database from "+repo) {
		t.Errorf("log:\n%s", log.String())
	}
	if _, err := os.Stat(filepath.Join(cache, "db", "vulndb.bwdb")); err != nil {
		t.Error(err)
	}
}

// TestCheckDBKey: a scan.db.key that does not load fails the checks a run
// starts with.
func TestCheckDBKey(t *testing.T) {
	dir := t.TempDir()
	yaml := "version: 1\nscan:\n  vulnerabilities: {failOn: critical}\n  db: {key: missing.pub, maxAge: 3d, stale: fail}\n"
	f, err := pipeline.Parse(strings.NewReader(yaml), filepath.Join(dir, "bulwark.yaml"), pipeline.ValidateOptions{HasInput: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = pipeline.Check(context.Background(), pipeline.Options{File: f, Input: filepath.Join(dir, "app.tar"), Env: func(string) string { return "" }})
	if err == nil || !strings.Contains(err.Error(), "scan.db.key missing.pub loads") {
		t.Errorf("checks: %v", err)
	}
	for _, bad := range []string{"maxAge: 2 days", "stale: sometimes"} {
		y := "version: 1\nscan:\n  db: {" + bad + "}\n"
		if _, err := pipeline.Parse(strings.NewReader(y), filepath.Join(dir, "bulwark.yaml"), pipeline.ValidateOptions{HasInput: true}); err == nil || !strings.Contains(err.Error(), "scan.db.") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
