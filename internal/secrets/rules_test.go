package secrets

import (
	"math/rand/v2"
	"regexp/syntax"
	"strings"
	"testing"
)

// sample writes a random string that the parsed regex matches, choosing
// printable ASCII wherever a class allows it.
func sample(r *rand.Rand, re *syntax.Regexp, b *strings.Builder) {
	switch re.Op {
	case syntax.OpLiteral:
		for _, c := range re.Rune {
			if re.Flags&syntax.FoldCase != 0 && r.IntN(2) == 0 {
				c = []rune(strings.ToUpper(string(c)))[0]
			}
			b.WriteRune(c)
		}
	case syntax.OpCharClass:
		var printable []rune
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for c := max(re.Rune[i], 32); c <= min(re.Rune[i+1], 126); c++ {
				printable = append(printable, c)
			}
		}
		if len(printable) > 0 {
			b.WriteRune(printable[r.IntN(len(printable))])
		} else if len(re.Rune) > 0 {
			b.WriteRune(re.Rune[0])
		}
	case syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		b.WriteByte(byte('a' + r.IntN(26)))
	case syntax.OpCapture:
		sample(r, re.Sub[0], b)
	case syntax.OpConcat:
		for _, s := range re.Sub {
			sample(r, s, b)
		}
	case syntax.OpAlternate:
		sample(r, re.Sub[r.IntN(len(re.Sub))], b)
	case syntax.OpQuest:
		if r.IntN(2) == 0 {
			sample(r, re.Sub[0], b)
		}
	case syntax.OpStar, syntax.OpPlus:
		n := r.IntN(3)
		if re.Op == syntax.OpPlus {
			n++
		}
		for range n {
			sample(r, re.Sub[0], b)
		}
	case syntax.OpRepeat:
		hi := re.Max
		if hi < 0 || hi > re.Min+3 {
			hi = re.Min + 3
		}
		for range re.Min + r.IntN(hi-re.Min+1) {
			sample(r, re.Sub[0], b)
		}
	}
}

// TestEveryRuleMatchesASample generates strings from each rule's own regex
// and checks that the engine reports the rule for one of them: a rule whose
// keywords, anchoring or filters keep it from ever firing fails here.
func TestEveryRuleMatchesASample(t *testing.T) {
	eng, err := DefaultEngine()
	if err != nil {
		t.Fatal(err)
	}
	// Rules whose validators a random sample cannot satisfy are covered
	// by hand-written cases in TestEngineFindsAndSkips.
	skip := map[string]bool{"jwt": true, "docker-config-auth": true, "kubernetes-secret-data": true, "gcp-service-account-key": true}
	r := rand.New(rand.NewPCG(1, 2))
	for _, rule := range eng.Rules() {
		if skip[rule.ID] || strings.HasPrefix(rule.ID, "private-key-") && rule.ID != "private-key-putty" {
			continue
		}
		t.Run(rule.ID, func(t *testing.T) {
			re, err := syntax.Parse(rule.Regex.String(), syntax.Perl)
			if err != nil {
				t.Fatal(err)
			}
			var tried []string
			for range 200 {
				var b strings.Builder
				sample(r, re, &b)
				s := b.String()
				if !rule.Regex.MatchString(s) {
					continue
				}
				for _, m := range eng.ScanBytes("sample.txt", []byte(" "+s+"\n")) {
					if m.Rule == rule {
						return
					}
				}
				if len(tried) < 3 {
					tried = append(tried, s)
				}
			}
			t.Errorf("no sample was reported; tried e.g. %q", tried)
		})
	}
}

// TestAnchoredCompile compiles the anchored regex of every built-in rule
// that has one (they are compiled on first use, and must not fail then).
func TestAnchoredCompile(t *testing.T) {
	eng, err := DefaultEngine()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, rule := range eng.Rules() {
		if rule.anchored == nil {
			continue
		}
		n++
		if re := rule.anchored(); re.NumSubexp() != rule.Regex.NumSubexp() {
			t.Errorf("%s: anchored regex has %d groups, the rule's %d", rule.ID, re.NumSubexp(), rule.Regex.NumSubexp())
		}
	}
	if n == 0 {
		t.Error("no rule is anchored")
	}
}
