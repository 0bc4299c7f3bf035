package secrets

import (
	"math/rand/v2"
	"reflect"
	"regexp"
	"regexp/syntax"
	"strings"
	"testing"
)

func TestRequiredLiterals(t *testing.T) {
	for _, tc := range []struct {
		re       string
		keywords []string
		want     []literal
	}{
		// Literals of a concatenation; those every keyword holds are left out.
		{`(?:https?|ftp)://[^:/\s@]{1,64}:([^@/\s]{3,128})@[a-z]+\.[a-z]{2,}`, []string{"http://", "ftp://"}, []literal{{"@", false}, {".", false}}},
		// Case-folded: "s" and "k" also match U+017F and U+212A, so they
		// split a literal.
		{`(?i)github[\w.-]{0,20}secret`, []string{"github"}, []literal{{"ecret", true}}},
		{`(?i:api)_?key=(\w+)`, nil, []literal{{"key=", false}, {"api", true}}},
		// Optional and alternative parts hold nothing for sure; a part
		// repeated at least once does.
		{`a?(?:bb|cc)(?:dd)*(?:ee){2,3}x+`, nil, []literal{{"ee", false}, {"x", false}}},
		{`[0-9]{12}`, nil, nil},
	} {
		r := &Rule{ID: "t", Regex: regexp.MustCompile(tc.re), Keywords: tc.keywords}
		if got := requiredLiterals(r); !reflect.DeepEqual(got, tc.want) && (len(got) > 0 || len(tc.want) > 0) {
			t.Errorf("%s: got %+v, want %+v", tc.re, got, tc.want)
		}
	}
}

// TestRequiredLiteralsInEverySample checks on strings generated from each
// built-in rule's regex (those the regex matches) that they hold the
// literals the engine requires before it runs the regex.
func TestRequiredLiteralsInEverySample(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, rule := range Builtin() {
		lits := requiredLiterals(rule)
		if len(lits) == 0 {
			continue
		}
		re, err := syntax.Parse(rule.Regex.String(), syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		for range 50 {
			var b strings.Builder
			sample(r, re, &b)
			loc := rule.Regex.FindStringIndex(b.String())
			if loc == nil {
				continue
			}
			if m := []byte(b.String()[loc[0]:loc[1]]); !mayMatch(lits, m) {
				t.Errorf("%s: match %q lacks one of %+v", rule.ID, m, lits)
				break
			}
		}
	}
}

// TestRequiredLiteralsFoldNonASCII: under (?i), "s" matches "ſ" (U+017F);
// the secret after it is still found.
func TestRequiredLiteralsFoldNonASCII(t *testing.T) {
	eng, err := NewEngine([]*Rule{{ID: "t", Regex: regexp.MustCompile(`(?i)tok=s([a-z]{12})`), Keywords: []string{"tok="}}})
	if err != nil {
		t.Fatal(err)
	}
	ms := eng.ScanBytes("f", []byte("tok=ſqwhzkrtpvmbn\n"))
	if len(ms) != 1 || ms[0].Secret != "qwhzkrtpvmbn" {
		t.Errorf("got %+v, want the secret after ſ", ms)
	}
}
