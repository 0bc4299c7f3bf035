// Command gen makes the benchmark tree of bench/secrets (source-like text
// with planted synthetic secrets and planted bait, from a seed) and scores
// the reports of bulwark and gitleaks against the planted truth.
//
//	go run ./bench/secrets/gen -out DIR -mb 110 -seed 1
//	go run ./bench/secrets/gen -score -truth DIR/../truth.json -bulwark b.json -gitleaks g.json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// planted is one planted block: a secret (Bait false) or bait that looks
// like one but is an example or placeholder (Bait true), on lines Line to
// End (1-based, inclusive).
type planted struct {
	Path string `json:"path"`
	Line int    `json:"line"`
	End  int    `json:"end"`
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
	`UPDATE users SET last_login = now() WHERE name = '%[1]s';`,
	`define('%[2]s_TIMEOUT', 30);`,
	`    value: "%[1]s"`,
	`  secretKeyRef: {name: %[1]s, key: password}`,
}

func main() {
	out := flag.String("out", "", "directory to create the tree in")
	mb := flag.Int("mb", 110, "size of the tree in MB")
	seed := flag.Uint64("seed", 1, "random seed")
	truthFile := flag.String("truth", "", "truth file (written with -out, read with -score)")
	score := flag.Bool("score", false, "score reports against the truth")
	perMille := flag.Int("per-mille", 3, "lines in a thousand that start a planted secret")
	bulwarkReport := flag.String("bulwark", "", "bulwark JSON report (-score)")
	gitleaksReport := flag.String("gitleaks", "", "gitleaks JSON report (-score)")
	flag.Parse()
	var err error
	if *score {
		err = scoreReports(*truthFile, *bulwarkReport, *gitleaksReport)
	} else {
		err = generate(options{out: *out, truth: *truthFile, mb: *mb, seed: *seed, perMille: *perMille})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// options of a generated tree.
type options struct {
	out, truth string
	mb         int
	seed       uint64
	// perMille is how many lines in a thousand start a planted secret
	// (and two thirds as many, bait).
	perMille int
	// only, when set, limits the planted secrets to these kinds.
	only []string
}

func generate(o options) error {
	if o.out == "" || o.truth == "" {
		return fmt.Errorf("need -out and -truth")
	}
	g := &gen{r: rand.New(rand.NewPCG(o.seed, o.seed^0x5eed))}
	kinds := g.secretKinds()
	baits := g.baitKinds()
	kindNames := slices.Sorted(maps.Keys(kinds))
	if len(o.only) > 0 {
		kindNames = o.only
	}
	baitNames := slices.Sorted(maps.Keys(baits))
	exts := []string{".go", ".py", ".ts", ".js", ".java", ".cs", ".rb", ".php", ".sh", ".yaml", ".json", ".sql", ".tf", ".env", ".properties", ".xml", ".kt", ".rs", ".md"}
	var truth []planted
	total, limit := 0, o.mb<<20
	for fi := 0; total < limit; fi++ {
		dir := filepath.Join(o.out, fmt.Sprintf("pkg%02d", fi%40), fmt.Sprintf("mod%03d", fi%97))
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
			if err := os.WriteFile(filepath.Join(o.out, rel), b, 0o644); err != nil {
				return err
			}
			total += len(b)
			continue
		}
		var sb strings.Builder
		size := 8000 + g.r.IntN(90000)
		if o.mb < 20 {
			size /= 8
		}
		line := 0
		plant := func(kind string, bait bool, b block) {
			truth = append(truth, planted{Path: rel, Line: line + b.first + 1, End: line + b.end + 1, Kind: kind, Bait: bait})
			for _, l := range b.lines {
				sb.WriteString(l + "\n")
				line++
			}
		}
		for sb.Len() < size {
			switch n := g.r.IntN(1000); {
			case n < o.perMille:
				k := kindNames[g.r.IntN(len(kindNames))]
				plant(k, false, kinds[k]())
			case n < o.perMille*5/3:
				k := baitNames[g.r.IntN(len(baitNames))]
				plant(k, true, baits[k]())
			default:
				f := filler[g.r.IntN(len(filler))]
				l := fmt.Sprintf(f, g.s(6+g.r.IntN(6), lower), g.s(5, upper), g.s(86, b64), g.s(43, b64), g.s(40, hexch), g.r.IntN(20))
				l, _, _ = strings.Cut(l, "%!(EXTRA") // the arguments a line does not use
				sb.WriteString(l + "\n")
				line++
			}
		}
		if err := os.WriteFile(filepath.Join(o.out, rel), []byte(sb.String()), 0o644); err != nil {
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
	fmt.Fprintf(os.Stderr, "generated %d MB in %s: %d planted secrets (%d kinds), %d planted bait blocks (%d kinds)\n", total>>20, o.out, secretsN, len(kindNames), baitN, len(baitNames))
	return os.WriteFile(o.truth, b, 0o644)
}
