package secrets

import (
	"os"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/finding"
)

var fakeACME = "acme_" + "k3j9x2m7q8w4e5r1t6y0u3i8o2p7a9s4"

func TestLoadYAMLConfig(t *testing.T) {
	cfg, err := LoadConfig("testdata/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Rules) != 2 || !cfg.UseDefault || cfg.Allowlist == nil {
		t.Fatalf("config = %+v", cfg)
	}
	if cfg.Rules[0].Severity != finding.Critical || cfg.Rules[1].Paths == nil {
		t.Errorf("rules = %+v, %+v", cfg.Rules[0], cfg.Rules[1])
	}
	eng, err := cfg.Engine()
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, r := range eng.Rules() {
		ids[r.ID] = true
	}
	if !ids["acme-api-key"] || !ids["aws-access-key-id"] || ids["generic-secret"] {
		t.Errorf("engine rules: acme %v aws %v generic-secret %v", ids["acme-api-key"], ids["aws-access-key-id"], ids["generic-secret"])
	}
	ms := eng.ScanBytes("app/.env", []byte("k = "+fakeACME+"\nINTERNAL_DB_PASS=Zx9-q7Lw2\n"))
	if got := strings.Join(ruleIDs(ms), ","); got != "acme-api-key,internal-db-password" {
		t.Errorf("in .env: %s", got)
	}
	ms = eng.ScanBytes("app/main.go", []byte("INTERNAL_DB_PASS=Zx9-q7Lw2\nk = acme_sandbox"+fakeACME[13:]+"xxxxxxxx\n"))
	if len(ms) != 0 {
		t.Errorf("path rule or stopword not applied: %v", ruleIDs(ms))
	}
}

func TestConfigErrors(t *testing.T) {
	for name, doc := range map[string]string{
		"bad regex":     "rules: [{id: x, regex: '(['}]",
		"no id":         "rules: [{regex: 'x'}]",
		"bad severity":  "rules: [{id: x, regex: 'x', severity: urgent}]",
		"unknown field": "rulez: []",
		"bad group":     "rules: [{id: x, regex: 'x', secretGroup: 2}]",
		"bad allowlist": "allowlist: {paths: ['(']}",
	} {
		if _, err := ParseConfig([]byte(doc), "c.yaml"); err == nil || !strings.Contains(err.Error(), "c.yaml") {
			t.Errorf("%s: err = %v, want one naming c.yaml", name, err)
		}
	}
}

func TestGitleaksImport(t *testing.T) {
	cfg, err := LoadConfig("testdata/gitleaks.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Rules) != 1 || !cfg.UseDefault || len(cfg.Disabled) != 1 {
		t.Fatalf("config = %+v", cfg)
	}
	if !strings.Contains(strings.Join(cfg.Warnings, "\n"), "pkcs12-file") {
		t.Errorf("warnings = %q, want the path-only rule named", cfg.Warnings)
	}
	r := cfg.Rules[0]
	if r.Title != "ACME API key" || r.SecretGroup != 1 || len(r.Allow) != 1 || len(r.Stopwords) != 1 {
		t.Errorf("rule = %+v", r)
	}
	if cfg.Allowlist == nil || !cfg.Allowlist.matchPath("testdata/x") || len(cfg.Allowlist.Regexes) != 1 {
		t.Errorf("allowlist = %+v", cfg.Allowlist)
	}
	eng, err := cfg.Engine()
	if err != nil {
		t.Fatal(err)
	}
	ms := eng.ScanBytes("f", []byte("key = "+fakeACME+"\ntok = "+fakeJWT+"\n"))
	if got := strings.Join(ruleIDs(ms), ","); got != "acme-api-key" {
		t.Errorf("found %s, want acme-api-key only (jwt disabled)", got)
	}
	// Without useDefault, a gitleaks config replaces the built-in rules.
	cfg, err = ParseGitleaksConfig([]byte("[[rules]]\nid='x'\nregex='''zz[0-9]{4}'''\n"), "g.toml")
	must(t, err)
	eng, err = cfg.Engine()
	must(t, err)
	if len(eng.Rules()) != 1 {
		t.Errorf("%d rules, want 1", len(eng.Rules()))
	}
	if _, err := ParseGitleaksConfig([]byte("[[rules]]\nid='x'\nregex='''(['''\n"), "g.toml"); err == nil || !strings.Contains(err.Error(), "g.toml") {
		t.Errorf("bad regex: err = %v", err)
	}
}

func TestAllowlistAndBaseline(t *testing.T) {
	root := t.TempDir()
	write(t, root, "a.txt", "k1 = "+fakeAKID+"\nGITHUB_TOKEN="+fakeGHP+"\n")
	write(t, root, "vendor/lib.txt", "GITHUB_TOKEN="+fakeGHP+"\n")
	first, err := scanDirForTest(root, Options{})
	must(t, err)
	if len(first.Findings) != 3 {
		t.Fatalf("got %d findings, want 3", len(first.Findings))
	}
	al, err := ParseAllowlist([]byte("paths: ['^vendor/']\nfingerprints: ["+first.Findings[0].Fingerprint+"]\n"), "allow.yaml")
	must(t, err)
	res, err := scanDirForTest(root, Options{Allowlist: al})
	must(t, err)
	if len(res.Findings) != 2 || res.Findings[0].Suppressed == nil || res.Findings[0].Suppressed.Kind != "ignore" || res.Findings[1].Suppressed != nil {
		t.Errorf("allowlisted: %+v", res.Findings)
	}
	if res.Skipped[SkipAllowlisted] != 1 {
		t.Errorf("skipped = %v", res.Skipped)
	}

	// A baseline from the first run suppresses everything; a new secret is not suppressed.
	var fps []string
	for _, f := range first.Findings {
		fps = append(fps, `"`+f.Fingerprint+`"`)
	}
	bl, err := ParseBaseline([]byte(`{"findings":[{"fingerprint":`+strings.Join(fps, `},{"fingerprint":`)+`}]}`), "base.json")
	must(t, err)
	if bl.Len() != 3 {
		t.Fatalf("baseline has %d fingerprints", bl.Len())
	}
	write(t, root, "b.txt", "stripe = "+fakeStripe+"\n")
	// Moving the old secret down a line keeps its fingerprint.
	write(t, root, "a.txt", "\n\nk1 = "+fakeAKID+"\nGITHUB_TOKEN="+fakeGHP+"\n")
	res, err = scanDirForTest(root, Options{Baseline: bl})
	must(t, err)
	for _, f := range res.Findings {
		if wantNew := f.Location.Path == "b.txt"; (f.Suppressed == nil) != wantNew {
			t.Errorf("%s:%d suppressed = %+v", f.Location.Path, f.Location.Line, f.Suppressed)
		}
	}
	for _, doc := range []string{"[\"a\", \"b\"]", "# comment\nabc\ndef\n", ""} {
		if _, err := ParseBaseline([]byte(doc), "b"); err != nil {
			t.Errorf("ParseBaseline(%q): %v", doc, err)
		}
	}
	if _, err := ParseBaseline([]byte("{not json"), "b.json"); err == nil {
		t.Error("bad JSON baseline: no error")
	}
}

func scanDirForTest(root string, o Options) (*Result, error) {
	return ScanDir(t0ctx, root, DirOptions{Options: o})
}

func TestLoadErrorsNameFile(t *testing.T) {
	missing := "testdata/missing.yaml"
	for _, err := range []error{
		func() error { _, err := LoadConfig(missing); return err }(),
		func() error { _, err := LoadAllowlist(missing); return err }(),
		func() error { _, err := LoadBaseline(missing); return err }(),
	} {
		if err == nil || !strings.Contains(err.Error(), missing) {
			t.Errorf("err = %v, want one naming %s", err, missing)
		}
	}
	if _, err := os.Stat(missing); err == nil {
		t.Fatal("fixture should not exist")
	}
}
