package secrets

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// hitsOf lists every keyword occurrence the index reports, as
// "end:keyword", in report order.
func hitsOf(k *keywordIndex, keywords []string, buf []byte) []string {
	var out []string
	for _, h := range k.find(buf, nil) {
		out = append(out, fmt.Sprintf("%d:%s", h.End, keywords[h.Keyword]))
	}
	return out
}

// naiveHits lists the same by comparing every keyword at every end, the
// longest first at one end.
func naiveHits(keywords []string, buf []byte) []string {
	byLen := slices.Clone(keywords)
	slices.SortStableFunc(byLen, func(a, b string) int { return len(b) - len(a) })
	var out []string
	for end := 1; end <= len(buf); end++ {
		for _, kw := range byLen {
			if len(kw) <= end && asciiFoldEqual(buf[end-len(kw):end], kw) {
				out = append(out, fmt.Sprintf("%d:%s", end, kw))
			}
		}
	}
	return out
}

// asciiFoldEqual compares b and lower-case s, ASCII letters without case.
func asciiFoldEqual(b []byte, s string) bool {
	for i := range b {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// TestKeywordIndexFindsEveryOccurrence compares the index with a naive
// search on the built-in rules' keywords over text made of pieces of
// them (overlapping, nested, in both cases) and random bytes.
func TestKeywordIndexFindsEveryOccurrence(t *testing.T) {
	eng, err := DefaultEngine()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var keywords []string
	for _, r := range eng.Rules() {
		for _, kw := range r.Keywords {
			if kw = strings.ToLower(kw); !seen[kw] {
				seen[kw] = true
				keywords = append(keywords, kw)
			}
		}
	}
	k := newKeywordIndex(keywords)
	r := rand.New(rand.NewPCG(18, 5))
	for n := range 300 {
		var b []byte
		for len(b) < 200 {
			switch r.IntN(4) {
			case 0:
				kw := keywords[r.IntN(len(keywords))]
				b = append(b, kw[:1+r.IntN(len(kw))]...)
			case 1:
				b = append(b, strings.ToUpper(keywords[r.IntN(len(keywords))])...)
			case 2:
				b = append(b, keywords[r.IntN(len(keywords))]...)
			default:
				b = append(b, byte(r.IntN(256)))
			}
		}
		got, want := hitsOf(k, keywords, b), naiveHits(keywords, b)
		if !slices.Equal(got, want) {
			t.Fatalf("input %d %q:\n got %v\nwant %v", n, b, got, want)
		}
	}
	if got := hitsOf(k, keywords, []byte("const value = options;")); len(got) != 0 {
		t.Errorf("hits in keyword-free text: %v", got)
	}
}

// TestKeywordIndexShortAndManyClasses: keywords of one to four bytes
// drawn from all 256 byte values (more classes than the filter tells
// apart), on random content of every length up to 40 bytes.
func TestKeywordIndexShortAndManyClasses(t *testing.T) {
	r := rand.New(rand.NewPCG(18, 6))
	seen := map[string]bool{}
	var keywords []string
	for len(keywords) < 120 {
		b := make([]byte, 1+r.IntN(4))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		if kw := strings.ToLower(string(b)); !seen[kw] && kw == string(bytes.ToLower(b)) {
			seen[kw] = true
			keywords = append(keywords, kw)
		}
	}
	k := newKeywordIndex(keywords)
	for n := range 2000 {
		var b []byte
		for len(b) < n%41 {
			if r.IntN(3) == 0 {
				b = append(b, keywords[r.IntN(len(keywords))]...)
			} else {
				b = append(b, byte(r.IntN(256)))
			}
		}
		got, want := hitsOf(k, keywords, b), naiveHits(keywords, b)
		if !slices.Equal(got, want) {
			t.Fatalf("input %q:\n got %v\nwant %v", b, got, want)
		}
	}
}

// TestKeywordIndexNoKeywords: an index of no keywords reports nothing.
func TestKeywordIndexNoKeywords(t *testing.T) {
	if got := hitsOf(newKeywordIndex(nil), nil, []byte("any text")); len(got) != 0 {
		t.Errorf("got %v", got)
	}
}
