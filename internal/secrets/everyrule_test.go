package secrets

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"regexp/syntax"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// handSamples are positive samples for the rules whose validators a
// random sample from the regex cannot satisfy.
func handSamples(t *testing.T) map[string]string {
	t.Helper()
	pem := func(label string) string {
		return "-----BEGIN " + label + "-----\n" + fakeRSABody[:64] + "\n" + fakeRSABody[64:128] + "\n" + fakeRSABody[128:] + "\n-----END " + label + "-----"
	}
	sa, err := json.Marshal(map[string]string{"type": "service_account", "private_key_id": "4f1c" + strings.Repeat("9a2e7b3d", 4) + "c0d1",
		"private_key": pem("PRIVATE KEY") + "\n"})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"jwt":                         "Authorization: Bearer " + fakeJWT,
		"docker-config-auth":          `{"auths":{"r.io":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("bot:S3cr"+"etPassw0rd")) + `"}}}`,
		"kubernetes-secret-data":      "apiVersion: v1\nkind: Secret\ndata:\n  password: " + base64.StdEncoding.EncodeToString([]byte("q8Zr1Kx7Lm2P"+"w9Vt4Nb6")),
		"gcp-service-account-key":     string(sa),
		"private-key-rsa":             pem("RSA PRIVATE KEY"),
		"private-key-ec":              pem("EC PRIVATE KEY"),
		"private-key-dsa":             pem("DSA PRIVATE KEY"),
		"private-key-openssh":         pem("OPENSSH PRIVATE KEY"),
		"private-key-pkcs8":           pem("PRIVATE KEY"),
		"private-key-pkcs8-encrypted": pem("ENCRYPTED PRIVATE KEY"),
		"private-key-pgp":             pem("PGP PRIVATE KEY BLOCK"),
		"private-key-ssh2":            pem("SSH2 ENCRYPTED PRIVATE KEY"),
	}
}

// fillerJS appends about n bytes of JavaScript-like text that holds no
// keyword of the built-in rules (the text of bench/scaling's files).
func fillerJS(b []byte, r *rand.Rand, n int) []byte {
	words := []string{"const", "return", "function", "value", "options", "this", "if", "=>", "null", "module.exports", "require('./m07')"}
	for end := len(b) + n; len(b) < end; {
		b = append(b, words[r.IntN(len(words))]...)
		if r.IntN(8) == 0 {
			b = append(b, ";\n"...)
		} else {
			b = append(b, ' ')
		}
	}
	return b
}

// ruleSamples returns one positive sample for every built-in rule: one
// the in-memory scan reports for the rule, from the rule's own regex or
// by hand.
func ruleSamples(t *testing.T, eng *Engine) map[string]string {
	t.Helper()
	hand := handSamples(t)
	r := rand.New(rand.NewPCG(18, 7))
	out := map[string]string{}
	for _, rule := range eng.Rules() {
		var re *syntax.Regexp
		if hand[rule.ID] == "" {
			var err error
			if re, err = syntax.Parse(rule.Regex.String(), syntax.Perl); err != nil {
				t.Fatal(err)
			}
		}
		for range 200 {
			c := hand[rule.ID]
			if re != nil {
				var b strings.Builder
				sample(r, re, &b)
				c = " " + b.String()
			}
			if hasRule(eng.ScanBytes("sample.txt", []byte(c+"\n")), rule.ID) {
				out[rule.ID] = c
				break
			}
			if re == nil {
				break
			}
		}
		if out[rule.ID] == "" {
			t.Errorf("%s: no sample is reported even from memory", rule.ID)
		}
	}
	return out
}

func hasRule(ms []Match, id string) bool {
	for _, m := range ms {
		if m.Rule.ID == id {
			return true
		}
	}
	return false
}

// readsAll is a second handler that wants every file, so that the walk
// hands content to several handlers, as `bulwark scan` does.
type readsAll struct{}

func (readsAll) Want(e *image.Entry) bool { return e.IsRegular() }
func (readsAll) Handle(_ *image.Entry, r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}

// TestEveryRuleThroughImageScan puts one positive sample of every
// built-in rule in a small JavaScript-like file of its own (filler before
// and after, of random length, none at times) in an image layer and
// requires that the image scan reports each: a keyword filter, a skip
// rule or a buffering shortcut in the walk that loses some rule's
// secrets fails here. It runs with the secrets handler alone (content
// streamed to it) and beside a handler that reads every file (content
// buffered once for both).
func TestEveryRuleThroughImageScan(t *testing.T) {
	eng, err := DefaultEngine()
	if err != nil {
		t.Fatal(err)
	}
	samples := ruleSamples(t, eng)
	r := rand.New(rand.NewPCG(18, 8))
	var files []testutil.File
	where := map[string]string{} // path -> rule
	for i, rule := range eng.Rules() {
		s, ok := samples[rule.ID]
		if !ok {
			continue
		}
		var body []byte
		if i%5 != 0 {
			body = fillerJS(body, r, r.IntN(1200))
			body = append(body, '\n')
		}
		body = append(body, s...)
		if i%7 != 0 {
			body = append(body, '\n')
			body = fillerJS(body, r, r.IntN(1200))
		}
		p := fmt.Sprintf("app/node_modules/pkg-%03d/lib/m%02d.js", i, i%40)
		files = append(files, testutil.File{Path: p, Content: string(body)})
		where[p] = rule.ID
	}
	img := openFixture(t, testutil.Image(t, v1.Config{}, testutil.Step{CreatedBy: "COPY app /app", Layer: testutil.Layer(t, files...)}))
	for name, extra := range map[string][]image.Handler{"alone": nil, "beside another handler": {readsAll{}}} {
		t.Run(name, func(t *testing.T) {
			h, err := NewImageHandler(Options{})
			must(t, err)
			tree, err := image.Walk(context.Background(), img, append([]image.Handler{h}, extra...), image.WalkOptions{})
			must(t, err)
			found := map[string]bool{}
			for _, f := range h.Finish(tree).Findings {
				if where[f.Location.Path] == f.ID {
					found[f.Location.Path] = true
				}
			}
			for p, id := range where {
				if !found[p] {
					t.Errorf("%s: the sample in %s was not reported", id, p)
				}
			}
		})
	}
}
