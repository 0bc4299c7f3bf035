// Command gen makes the benchmark tree of bench/secrets (source-like text
// with planted synthetic secrets and planted bait, from a seed) and scores
// the reports of bulwark and gitleaks against the planted truth.
//
//	go run ./bench/secrets/gen -out DIR -mb 110 -seed 1
//	go run ./bench/secrets/gen -score -truth DIR/../truth.json -bulwark b.json -gitleaks g.json
package main

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// planted is one planted line: a secret (Bait false) or bait that looks
// like one but is an example or placeholder (Bait true).
type planted struct {
	Path string `json:"path"`
	Line int    `json:"line"`
	Kind string `json:"kind"`
	Bait bool   `json:"bait,omitempty"`
}

const (
	upper  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	lower  = "abcdefghijklmnopqrstuvwxyz"
	digits = "0123456789"
	alnum  = upper + lower + digits
	b32    = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	hexch  = "0123456789abcdef"
	b64    = alnum + "+/"
)

type gen struct{ r *rand.Rand }

func (g *gen) s(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[g.r.IntN(len(alphabet))]
	}
	return string(b)
}

// secretKinds make one line holding a synthetic secret of a kind both
// tools are expected to support.
func (g *gen) secretKinds() map[string]func() []string {
	return map[string]func() []string{
		"aws-access-key-id": func() []string {
			return []string{`AWS_ACCESS_KEY_ID = "AKIA` + g.s(16, b32) + `"`}
		},
		"aws-secret-access-key": func() []string {
			return []string{`aws_secret_access_key = ` + g.s(40, b64)}
		},
		"github-pat":      func() []string { return []string{`GITHUB_TOKEN=ghp_` + g.s(36, alnum)} },
		"github-fine-pat": func() []string { return []string{`token: github_pat_` + g.s(22, alnum) + "_" + g.s(59, alnum)} },
		"gitlab-pat":      func() []string { return []string{`private_token = "glpat-` + g.s(20, alnum) + `"`} },
		"slack-bot-token": func() []string {
			return []string{`slack.New("xoxb-` + g.s(11, digits) + "-" + g.s(12, digits) + "-" + g.s(24, alnum) + `")`}
		},
		"slack-webhook": func() []string {
			return []string{`url = "https://hooks.slack.com/services/T` + g.s(8, upper+digits) + "/B" + g.s(8, upper+digits) + "/" + g.s(24, alnum) + `"`}
		},
		"stripe-secret": func() []string { return []string{`stripe.Key = "sk_live_` + g.s(24, alnum) + `"`} },
		"sendgrid-api-key": func() []string {
			return []string{`SENDGRID_API_KEY='SG.` + g.s(22, alnum) + "." + g.s(43, alnum) + `'`}
		},
		"gcp-api-key": func() []string { return []string{`"apiKey": "AIza` + g.s(35, alnum) + `",`} },
		"npm-token":   func() []string { return []string{`//registry.npmjs.org/:_authToken=npm_` + g.s(36, alnum)} },
		"pypi-token":  func() []string { return []string{`password = pypi-AgEIcHlwaS5vcmc` + g.s(70, alnum)} },
		"private-key-rsa": func() []string {
			lines := []string{"-----BEGIN RSA PRIVATE KEY-----"}
			for range 12 {
				lines = append(lines, g.s(64, b64))
			}
			return append(lines, "-----END RSA PRIVATE KEY-----")
		},
		"private-key-openssh": func() []string {
			lines := []string{"-----BEGIN OPENSSH PRIVATE KEY-----"}
			for range 6 {
				lines = append(lines, g.s(70, b64))
			}
			return append(lines, "-----END OPENSSH PRIVATE KEY-----")
		},
		"jwt": func() []string {
			h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
			p := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf(`{"sub":"%s","iat":%d}`, g.s(10, digits), 1700000000+g.r.IntN(1e6))))
			return []string{`Authorization: Bearer ` + h + "." + p + "." + g.s(43, alnum+"-_")}
		},
		"database-url": func() []string {
			return []string{`DATABASE_URL=postgres://app:` + g.s(16, alnum) + `@db.internal:5432/app`}
		},
		"generic-password": func() []string {
			return []string{`db_password = "` + g.s(6, alnum) + g.s(1, "!#%&*") + g.s(8, alnum) + `"`}
		},
		"twilio-api-key": func() []string { return []string{`twilio_api_key = "SK` + g.s(32, hexch) + `"`} },
		"azure-storage": func() []string {
			return []string{`DefaultEndpointsProtocol=https;AccountName=` + g.s(10, lower) + `;AccountKey=` + g.s(86, b64) + `==;EndpointSuffix=core.windows.net`}
		},
		"docker-config-auth": func() []string {
			auth := base64.StdEncoding.EncodeToString([]byte("ci-bot:" + g.s(20, alnum)))
			return []string{`{"auths": {"registry.example.io": {"auth": "` + auth + `"}}}`}
		},
		"age-secret-key": func() []string {
			return []string{"AGE-SECRET-KEY-1" + g.s(58, "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L")}
		},
	}
}

// baitKinds make lines that look like secrets but are not.
func (g *gen) baitKinds() map[string]func() string {
	return map[string]func() string{
		"aws-example-key":  func() string { return `AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"` },
		"aws-example-sec":  func() string { return `aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY` },
		"env-reference":    func() string { return `password = "${DB_PASSWORD}"` },
		"template-ref":     func() string { return `api_key: "{{ .Values.apiKey }}"` },
		"angle-filler":     func() string { return `token = "<your-token-here>"` },
		"xxx-filler":       func() string { return `secret = "xxxxxxxxxxxxxxxxxxxxxxxx"` },
		"same-char":        func() string { return `GITHUB_TOKEN=ghp_` + strings.Repeat("a", 36) },
		"changeme":         func() string { return `password: changeme` },
		"function-call":    func() string { return `password = getPasswordFromVault(ctx, name)` },
		"placeholder-conn": func() string { return `postgres://user:password@localhost/db` },
	}
}

// filler lines: code-like text, with words the rules look for in places
// where they are not secrets.
var filler = []string{
	`func (s *Server) handle%[1]s(w http.ResponseWriter, r *http.Request) error {`,
	`	token := lexer.Next%[1]s()`,
	`	if err := s.store.Put(ctx, key, value); err != nil {`,
	`		return fmt.Errorf("put %%q: %%w", key, err)`,
	`	}`,
	`// The password is read from the environment at start-up (see %[1]s).`,
	`	secretName := cfg.SecretRef.Name + "-%[1]s"`,
	`import { createClient } from "@%[1]s/client";`,
	`const apiKey = process.env.%[2]s_API_KEY;`,
	`    self.session_token = None  # refreshed by %[1]s`,
	`    "integrity": "sha512-%[3]s==",`,
	`github.com/%[1]s/lib v1.2.3 h1:%[4]s=`,
	`<a href="https://docs.example.com/%[1]s/account/settings">account settings</a>`,
	`	accountID := req.Header.Get("X-Account-Id")`,
	`commit %[5]s`,
	`    for i, item := range items { total += item.Price * float64(i) }`,
	`SELECT id, name, created_at FROM %[1]s WHERE deleted_at IS NULL;`,
	`  - name: %[1]s`,
	`    image: registry.example.io/team/%[1]s:1.4.2`,
	`The quick brown fox jumps over the lazy dog; lorem ipsum dolor sit amet %[1]s.`,
	`	log.Info("rotating key", "id", keyID, "service", "%[1]s")`,
	`password_hash = bcrypt.hash(form.password)`,
	`# TODO(%[1]s): move the token cache to redis`,
	`	return &Token{Value: v, Expires: time.Now().Add(ttl)}, nil`,
	`    "version": "%[6]d.%[6]d.%[6]d",`,
}

func main() {
	out := flag.String("out", "", "directory to create the tree in")
	mb := flag.Int("mb", 110, "size of the tree in MB")
	seed := flag.Uint64("seed", 1, "random seed")
	truthFile := flag.String("truth", "", "truth file (written with -out, read with -score)")
	score := flag.Bool("score", false, "score reports against the truth")
	bulwarkReport := flag.String("bulwark", "", "bulwark JSON report (-score)")
	gitleaksReport := flag.String("gitleaks", "", "gitleaks JSON report (-score)")
	flag.Parse()
	var err error
	if *score {
		err = scoreReports(*truthFile, *bulwarkReport, *gitleaksReport)
	} else {
		err = generate(*out, *mb, *seed, *truthFile)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func generate(out string, mb int, seed uint64, truthFile string) error {
	if out == "" || truthFile == "" {
		return fmt.Errorf("need -out and -truth")
	}
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x5eed))}
	kinds := g.secretKinds()
	baits := g.baitKinds()
	var kindNames, baitNames []string
	for k := range kinds {
		kindNames = append(kindNames, k)
	}
	for k := range baits {
		baitNames = append(baitNames, k)
	}
	sortStrings(kindNames)
	sortStrings(baitNames)
	exts := []string{".go", ".py", ".ts", ".yaml", ".env", ".json", ".md", ".sql", ".sh"}
	var truth []planted
	total, limit := 0, mb<<20
	for fi := 0; total < limit; fi++ {
		dir := filepath.Join(out, fmt.Sprintf("pkg%02d", fi%40), fmt.Sprintf("mod%03d", fi%97))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		rel := filepath.ToSlash(filepath.Join(fmt.Sprintf("pkg%02d", fi%40), fmt.Sprintf("mod%03d", fi%97), fmt.Sprintf("file%05d%s", fi, exts[fi%len(exts)])))
		if fi%50 == 7 {
			// A binary file: both tools should skip it.
			b := make([]byte, 20000+g.r.IntN(50000))
			for i := range b {
				b[i] = byte(g.r.IntN(256))
			}
			b[10] = 0
			if err := os.WriteFile(filepath.Join(out, rel), b, 0o644); err != nil {
				return err
			}
			total += len(b)
			continue
		}
		var sb strings.Builder
		size := 8000 + g.r.IntN(90000)
		line := 0
		for sb.Len() < size {
			switch n := g.r.IntN(1000); {
			case n < 3:
				k := kindNames[g.r.IntN(len(kindNames))]
				ls := kinds[k]()
				truth = append(truth, planted{Path: rel, Line: line + 1, Kind: k})
				for _, l := range ls {
					sb.WriteString(l + "\n")
					line++
				}
			case n < 5:
				k := baitNames[g.r.IntN(len(baitNames))]
				truth = append(truth, planted{Path: rel, Line: line + 1, Kind: k, Bait: true})
				sb.WriteString(baits[k]() + "\n")
				line++
			default:
				f := filler[g.r.IntN(len(filler))]
				sb.WriteString(fmt.Sprintf(f, g.s(6+g.r.IntN(6), lower), g.s(5, upper), g.s(86, b64), g.s(43, b64), g.s(40, hexch), g.r.IntN(20)) + "\n")
				line++
			}
		}
		if err := os.WriteFile(filepath.Join(out, rel), []byte(sb.String()), 0o644); err != nil {
			return err
		}
		total += sb.Len()
	}
	b, err := json.MarshalIndent(truth, "", " ")
	if err != nil {
		return err
	}
	secretsN, baitN := 0, 0
	for _, t := range truth {
		if t.Bait {
			baitN++
		} else {
			secretsN++
		}
	}
	fmt.Printf("generated %d MB in %s: %d planted secrets (%d kinds), %d planted bait lines\n", total>>20, out, secretsN, len(kindNames), baitN)
	return os.WriteFile(truthFile, b, 0o644)
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

type hit struct {
	path string
	line int
}

func readBulwark(file string) ([]hit, error) {
	var rep struct {
		Findings []struct {
			Location struct {
				Path string `json:"path"`
				Line int    `json:"line"`
			} `json:"location"`
		} `json:"findings"`
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var hs []hit
	for _, f := range rep.Findings {
		hs = append(hs, hit{f.Location.Path, f.Location.Line})
	}
	return hs, nil
}

func readGitleaks(file, root string) ([]hit, error) {
	var rep []struct {
		File      string
		StartLine int
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var hs []hit
	for _, f := range rep {
		p := filepath.ToSlash(f.File)
		if i := strings.Index(p, "/pkg"); i >= 0 && !strings.HasPrefix(p, "pkg") {
			p = p[i+1:]
		}
		hs = append(hs, hit{p, f.StartLine})
	}
	return hs, nil
}

func scoreReports(truthFile, bulwarkFile, gitleaksFile string) error {
	b, err := os.ReadFile(truthFile)
	if err != nil {
		return err
	}
	var truth []planted
	if err := json.Unmarshal(b, &truth); err != nil {
		return err
	}
	for _, tool := range []struct{ name, file string }{{"bulwark", bulwarkFile}, {"gitleaks", gitleaksFile}} {
		if tool.file == "" {
			continue
		}
		var hs []hit
		if tool.name == "bulwark" {
			hs, err = readBulwark(tool.file)
		} else {
			hs, err = readGitleaks(tool.file, "")
		}
		if err != nil {
			return err
		}
		byLine := map[hit]bool{}
		for _, h := range hs {
			byLine[h] = true
		}
		plantedAt := map[hit]planted{}
		for _, t := range truth {
			plantedAt[hit{t.Path, t.Line}] = t
		}
		found, secretsN, baitHits := 0, 0, 0
		missedBy := map[string]int{}
		baitBy := map[string]int{}
		for _, t := range truth {
			h := hit{t.Path, t.Line}
			if t.Bait {
				if byLine[h] {
					baitHits++
					baitBy[t.Kind]++
				}
				continue
			}
			secretsN++
			if byLine[h] || t.Kind == "private-key-rsa" && byLine[hit{t.Path, t.Line + 1}] || t.Kind == "private-key-openssh" && byLine[hit{t.Path, t.Line + 1}] {
				found++
			} else {
				missedBy[t.Kind]++
			}
		}
		tp, fp := 0, 0
		for h := range byLine {
			t, ok := plantedAt[h]
			if !ok {
				if t2, ok2 := plantedAt[hit{h.path, h.line - 1}]; ok2 && strings.HasPrefix(t2.Kind, "private-key") {
					t, ok = t2, true
				}
			}
			if ok && !t.Bait {
				tp++
			} else {
				fp++
			}
		}
		precision := 100.0
		if tp+fp > 0 {
			precision = 100 * float64(tp) / float64(tp+fp)
		}
		fmt.Printf("%-8s recall %6.2f%% (%d/%d planted secrets)  precision %6.2f%% (%d false positives, %d on planted bait)\n",
			tool.name, 100*float64(found)/float64(secretsN), found, secretsN, precision, fp, baitHits)
		if len(missedBy) > 0 {
			fmt.Printf("         missed by kind: %v\n", missedBy)
		}
		if len(baitBy) > 0 {
			fmt.Printf("         bait flagged by kind: %v\n", baitBy)
		}
	}
	return nil
}
