package secrets

import (
	"encoding/base64"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// Synthetic secrets, built by concatenation so that no whole fake key sits
// in the source.
var (
	fakeAKID     = "AKIA" + "Q3EGRHAZ" + "XMPL7Q2W"
	fakeAWSSec   = "q8Zr1" + "Kx7Lm2Pw9" + "Vt4Nb6Hc3Jd5Fg8Ys0Ea1Ru7Io"
	fakeGHP      = "ghp_" + "R7kx2Lm9Pq4Vt6Nb8Hc1" + "Jd3Fg5Ys7Ea9RuIo"
	fakeSlack    = "xoxb-" + "58203916472-" + "740219385613-" + "Ab3De5Gh7Jk9Mn1Pq3St5Vw7"
	fakeStripe   = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
	fakeJWTHead  = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	fakeJWT      = fakeJWTHead + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"1234567890"}`)) + "." + "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
	fakeRSABody  = strings.Repeat("MIIEpAIBAAKCAQEA7Vb3xK9mQ2Lr8Tz1Wc4Ny6Pd0Hf5Js7Ug3Ea9Ko2Rb8Xl1Vq4Mn6", 4)
	fakeAzureKey = strings.Repeat("Zk3Q9vLm2Rt8", 8)[:86] + "=="
	fakeRSA      = "-----BEGIN RSA PRIVATE KEY-----\n" + fakeRSABody[:64] + "\n" + fakeRSABody[64:128] + "\n" + fakeRSABody[128:] + "\n-----END RSA PRIVATE KEY-----\n"
)

func scan(t *testing.T, content string) []Match {
	t.Helper()
	eng, err := DefaultEngine()
	if err != nil {
		t.Fatal(err)
	}
	return eng.ScanBytes("file.txt", []byte(content))
}

func ruleIDs(ms []Match) []string {
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.Rule.ID)
	}
	return ids
}

func TestEngineFindsAndSkips(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []string // rule IDs, in order
		secret  string   // the first match's secret, when set
	}{
		{"aws key id", `key = "` + fakeAKID + `"`, []string{"aws-access-key-id"}, fakeAKID},
		{"aws key id in a word", `xx` + fakeAKID + `yy`, nil, ""},
		{"aws secret =", "aws_secret_access_key = " + fakeAWSSec, []string{"aws-secret-access-key"}, fakeAWSSec},
		{"aws secret :", `"aws_secret_access_key": "` + fakeAWSSec + `"`, []string{"aws-secret-access-key"}, fakeAWSSec},
		{"aws secret =>", `:secret_key => '` + fakeAWSSec + `'`, []string{"aws-secret-access-key"}, fakeAWSSec},
		{"aws account id", `aws_account_id: "609629065308"`, []string{"aws-account-id"}, "609629065308"},
		{"aws account id =>", `account => 609629065308`, []string{"aws-account-id"}, "609629065308"},
		{"aws example key", `key = "AKIAIOSFODNN7EXAMPLE"`, nil, ""},
		{"aws example secret", `aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`, nil, ""},
		{"github pat", "GITHUB_TOKEN=" + fakeGHP, []string{"github-pat"}, fakeGHP},
		{"github pat filler", "GITHUB_TOKEN=ghp_" + strings.Repeat("x", 36), nil, ""},
		{"slack bot", "token: " + fakeSlack, []string{"slack-bot-token"}, fakeSlack},
		{"stripe", `Stripe.api_key = "` + fakeStripe + `"`, []string{"stripe-secret-key"}, fakeStripe},
		{"jwt", "Authorization: Bearer " + fakeJWT, []string{"jwt"}, fakeJWT},
		{"not a jwt", "x = eyJub3Rqc29uIjoxMjM0NTY3.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36", nil, ""},
		{"rsa key", fakeRSA, []string{"private-key-rsa"}, ""},
		{"db url", "DATABASE_URL=postgres://app:Xy7" + "kP2qLm9@db:5432/app", []string{"database-url-password"}, "Xy7kP2qLm9"},
		{"db url placeholder", "postgres://user:password@localhost/db", nil, ""},
		{"db url template", "postgres://app:${DB_PASSWORD}@db/app", nil, ""},
		{"generic password", `db_password = "Tr0ub4dor&3` + `Horse"`, []string{"generic-password"}, "Tr0ub4dor&3Horse"},
		{"password env ref", `password = "${DB_PASSWORD}"`, nil, ""},
		{"password angle", `token = "<your-key>"`, nil, ""},
		{"password filler", `secret = "xxxxxxxxxxxxxxxx"`, nil, ""},
		{"password same char", `password = "aaaaaaaaaaaa"`, nil, ""},
		{"password call", `password = getPasswordFromVault(ctx)`, nil, ""},
		{"password low entropy word", `password: changeme`, nil, ""},
		{"docker auth", `{"auths":{"r.io":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("bot:S3cr"+"etPassw0rd")) + `"}}}`, []string{"docker-config-auth"}, ""},
		{"docker auth not basic", `"auth": "bm90LWJhc2ljLWF1dGg="`, nil, ""},
		{"kubernetes secret", "apiVersion: v1\nkind: Secret\ndata:\n  password: " + base64.StdEncoding.EncodeToString([]byte("k8s-Pa55w0rd-Zq9")) + "\n", []string{"kubernetes-secret-data"}, ""},
		{"azure and connection string once", "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=" + fakeAzureKey + ";EndpointSuffix=core.windows.net", []string{"azure-storage-connection-string"}, fakeAzureKey},
		{"no keyword", "just some text without anything", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms := scan(t, tt.content)
			got := ruleIDs(ms)
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("rules = %v, want %v", got, tt.want)
			}
			if tt.secret != "" && ms[0].Secret != tt.secret {
				t.Errorf("secret = %q, want %q", ms[0].Secret, tt.secret)
			}
		})
	}
}

func TestLineNumbersAndInline(t *testing.T) {
	content := "a\nb\nGITHUB_TOKEN=" + fakeGHP + "\n\nkey=" + fakeAKID + " # bulwark:ignore\n"
	ms := scan(t, content)
	if len(ms) != 2 {
		t.Fatalf("got %d matches (%v), want 2", len(ms), ruleIDs(ms))
	}
	if ms[0].Line != 3 || ms[0].Inline {
		t.Errorf("first match: line %d inline %v, want line 3 not inline", ms[0].Line, ms[0].Inline)
	}
	if ms[1].Line != 5 || !ms[1].Inline {
		t.Errorf("second match: line %d inline %v, want line 5 inline", ms[1].Line, ms[1].Inline)
	}
}

func TestAWSAccountFromKeyID(t *testing.T) {
	tests := []struct {
		key, want string
		ok        bool
	}{
		// The published example (Aidan Steele, Tal Be'ery).
		{"ASIAY34FZKBOKMUTVV7A", "609629065308", true},
		{"AKIA", "", false},
		{"AKIA0000000000000000", "", false}, // 0 is not base32
	}
	for _, tt := range tests {
		got, ok := AWSAccountFromKeyID(tt.key)
		if got != tt.want || ok != tt.ok {
			t.Errorf("AWSAccountFromKeyID(%q) = %q, %v; want %q, %v", tt.key, got, ok, tt.want, tt.ok)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		fakeAKID:   "AKIA*****",
		"short":    "*****",
		"abcdefgh": "ab*****",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
		if strings.Contains(Redact(in), in) {
			t.Errorf("Redact(%q) shows the whole secret", in)
		}
	}
}

// TestKeyFilePathIsNotASecret: a 40-character path after "key:" has the
// shape of an AWS secret access key (this once failed the pipeline's
// tests whenever a temporary directory name made the path 40 long).
func TestKeyFilePathIsNotASecret(t *testing.T) {
	eng, err := DefaultEngine()
	if err != nil {
		t.Fatal(err)
	}
	path := "/tmp/TestE2EScenarios718276008/002/other"
	if len(path) != 40 {
		t.Fatalf("fixture path is %d long, want 40", len(path))
	}
	ms, err := eng.ScanReader("bulwark.yaml", strings.NewReader("sign: {key: "+path+".pub}\naws_secret_access_key: "+fakeAWSSec+"\n"), nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Secret != fakeAWSSec {
		t.Errorf("matches %+v, want only the real-looking key on line 2", ms)
	}
}

func TestIsPlaceholder(t *testing.T) {
	for _, v := range []string{"AKIAIOSFODNN7EXAMPLE", "${AWS_SECRET}", "<your-key>", "xxxxxxxx", "aaaaaaaaaaaa", "{{ .Values.key }}", "$SECRET", "1234567890ab",
		"/tmp/TestE2EScenarios718276008/002/other", "./keys/deploy/ci-signing-key-01"} {
		if !IsPlaceholder(v) {
			t.Errorf("IsPlaceholder(%q) = false, want true", v)
		}
	}
	for _, v := range []string{fakeAKID, fakeAWSSec, fakeGHP, "Tr0ub4dor&3"} {
		if IsPlaceholder(v) {
			t.Errorf("IsPlaceholder(%q) = true, want false", v)
		}
	}
}

// TestKernelModuleList: lines of a Debian kernel's modules.dep (made by
// depmod, so no package lists it) hold no secret, though "hpwdt.ko:"
// looks like a pwd key.
func TestKernelModuleList(t *testing.T) {
	eng, err := DefaultEngine()
	if err != nil {
		t.Fatal(err)
	}
	dep := "kernel/drivers/watchdog/hpwdt.ko: kernel/drivers/watchdog/watchdog.ko\n" +
		"updates/dkms/pwdx.ko: kernel/drivers/watchdog/watchdog.ko\n"
	ms, err := eng.ScanReader("usr/lib/modules/6.1.0-50-amd64/modules.dep", strings.NewReader(dep), nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 0 {
		t.Errorf("matches %+v, want none", ms)
	}
}

// TestScanReaderChunks checks that a secret is found once whatever chunk
// boundary it straddles, and that line numbers hold across chunks.
func TestScanReaderChunks(t *testing.T) {
	eng, err := DefaultEngine()
	if err != nil {
		t.Fatal(err)
	}
	for _, pad := range []int{0, chunkSize - 30, chunkSize - 5, chunkSize + overlap - 10, 3 * chunkSize} {
		var b strings.Builder
		lines := 0
		for b.Len() < pad {
			b.WriteString(strings.Repeat("z", 99) + "\n")
			lines++
		}
		b.WriteString("GITHUB_TOKEN=" + fakeGHP + "\n")
		b.WriteString(strings.Repeat("y", 5000) + "\n")
		ms, err := eng.ScanReader("f", strings.NewReader(b.String()), nil, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 1 || ms[0].Line != lines+1 || ms[0].Secret != fakeGHP {
			t.Errorf("pad %d: got %d matches %+v, want 1 at line %d", pad, len(ms), ms, lines+1)
		}
	}
}

func TestScanReaderLongLine(t *testing.T) {
	eng, err := DefaultEngine()
	if err != nil {
		t.Fatal(err)
	}
	// One 5 MB line with secrets at both ends and in the middle.
	filler := strings.Repeat("q", 5<<20/2)
	content := fakeGHP + " " + filler + " " + fakeGHP + " " + filler + " " + fakeGHP
	ms, err := eng.ScanReader("f", strings.NewReader(content), nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 {
		t.Fatalf("got %d matches, want 3", len(ms))
	}
	for _, m := range ms {
		if m.Line != 1 {
			t.Errorf("line = %d, want 1", m.Line)
		}
	}
}

func TestBinarySkipped(t *testing.T) {
	eng, err := DefaultEngine()
	if err != nil {
		t.Fatal(err)
	}
	_, err = eng.ScanReader("f", strings.NewReader("\x00\x01"+fakeGHP), nil, true)
	if err != ErrBinary {
		t.Fatalf("err = %v, want ErrBinary", err)
	}
	// A large binary file is refused after its first sniffSize bytes, not
	// after a whole chunk.
	big := &countingReader{r: strings.NewReader("\x7fELF\x00" + strings.Repeat("x", 4<<20))}
	if _, err := eng.ScanReader("lib.so", big, nil, true); err != ErrBinary {
		t.Fatalf("large binary: err = %v, want ErrBinary", err)
	}
	if big.n > sniffSize {
		t.Errorf("large binary: %d bytes read before refusing it, want at most %d", big.n, sniffSize)
	}
	// A NUL after the sniffed start does not make text binary: the secret
	// after it is found.
	text := strings.Repeat("a", sniffSize) + "\x00\n" + strings.Repeat("b\n", 1<<19) + "token = " + fakeGHP + "\n"
	ms, err := eng.ScanReader("f.txt", strings.NewReader(text), nil, true)
	if err != nil || len(ms) == 0 {
		t.Errorf("NUL after the start: %d findings, %v; want the token", len(ms), err)
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestBuiltinRuleSet(t *testing.T) {
	rules := Builtin()
	if len(rules) < 120 {
		t.Fatalf("%d built-in rules, want at least 120", len(rules))
	}
	for _, r := range rules {
		if r.Title == "" || len(r.Keywords) == 0 || r.Severity == 0 {
			t.Errorf("rule %q lacks a title, keywords or severity", r.ID)
		}
	}
	if _, err := NewEngine(rules); err != nil {
		t.Fatal(err)
	}
}

// TestScanReaderWindows checks that content of several chunks scanned by
// several goroutines gives what one goroutine finds: each secret once, in
// order, with its line, whether it lies inside a chunk or straddles the
// edge between two chunks' reported parts (k*chunkSize+lineReach), its
// keyword on one side and its value on the other, or a private key block
// across the edge. A read error stops the scan with what came before.
func TestScanReaderWindows(t *testing.T) {
	eng, err := DefaultEngine()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	type want struct {
		secret string
		line   int
	}
	var wants []want
	lines := 0
	fill := func(upTo int) {
		for i := 0; b.Len() < upTo; i++ {
			// Lines of varied length, with some words the keyword filter
			// stops at.
			s := strings.Repeat("z", 40+i%90)
			if i%50 == 0 {
				s = "Description: a key and a token for https access"
			}
			if b.Len()+len(s)+1 > upTo {
				s = strings.Repeat("z", max(0, upTo-b.Len()-1))
			}
			b.WriteString(s + "\n")
			lines++
		}
	}
	add := func(prefix, secret string) {
		wants = append(wants, want{secret, lines + 1 + strings.Count(prefix, "\n")})
		b.WriteString(prefix + secret + "\n")
		lines += 1 + strings.Count(prefix, "\n")
	}
	edge := func(k int) int { return k*chunkSize + lineReach }
	fill(200)
	add("GITHUB_TOKEN=", fakeGHP)
	for k := 1; k <= 3; k++ {
		switch k {
		case 1: // the token itself across the edge
			fill(edge(k) - len("GITHUB_TOKEN=") - 10)
			add("GITHUB_TOKEN=", fakeGHP)
		case 2: // the keyword before the edge, the value after it
			fill(edge(k) - len("aws_secret_access_key = ") - 2)
			add("aws_secret_access_key = ", fakeAWSSec)
		case 3: // a private key block across the edge
			fill(edge(k) - 40)
			wants = append(wants, want{fakeRSABody[:20], lines + 1})
			b.WriteString(fakeRSA)
			lines += strings.Count(fakeRSA, "\n")
		}
		fill(edge(k) + chunkSize/2)
		add("token: ", fakeGHP)
	}
	content := b.String()
	one, err := eng.scanReader("f", strings.NewReader(content), nil, true, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{2, 4} {
		many, err := eng.scanReader("f", strings.NewReader(content), nil, true, workers)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(many, one) {
			t.Errorf("%d workers: %d matches, one goroutine %d; they differ", workers, len(many), len(one))
		}
	}
	if len(one) != len(wants) {
		t.Fatalf("got %d matches, want %d: %+v", len(one), len(wants), one)
	}
	for i, w := range wants {
		if m := one[i]; !strings.HasPrefix(m.Secret, w.secret) || m.Line != w.line {
			t.Errorf("match %d: %.40q at line %d, want %.40q at line %d", i, m.Secret, m.Line, w.secret, w.line)
		}
	}
	if n := len(windowSlots); n != 0 {
		t.Errorf("%d window slots still taken after the scans", n)
	}
	// With every window slot taken by other scans, the chunks are scanned
	// by the caller alone, with the same result.
	held := takeWindowSlots(cap(windowSlots))
	alone, err := eng.scanReader("f", strings.NewReader(content), nil, true, 4)
	for range held {
		<-windowSlots
	}
	if err != nil || !reflect.DeepEqual(alone, one) {
		t.Errorf("no free window slot: %d matches (%v), want the %d of one goroutine", len(alone), err, len(one))
	}
	// A read error after two chunks: the matches of what was read, and the error.
	cut := edge(2) + chunkSize/2 + 100
	r := io.MultiReader(strings.NewReader(content[:cut]), iotest.ErrReader(errors.New("disk gone")))
	ms, err := eng.scanReader("f", r, nil, true, 4)
	if err == nil || err.Error() != "disk gone" {
		t.Fatalf("err = %v, want disk gone", err)
	}
	if len(ms) == 0 || len(ms) > len(one) || !reflect.DeepEqual(ms, one[:len(ms)]) {
		t.Errorf("after a read error: %d matches, want the first ones of %d", len(ms), len(one))
	}
}
