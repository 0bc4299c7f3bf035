package secrets

import "slices"

// keywordIndex finds every occurrence of a set of keywords in content,
// ASCII letters compared without case, overlapping occurrences included.
// Looking for keywords is most of the CPU time of a scan of many small
// files, and most content holds none, so it is done in two steps:
//
//   - a filter reads the content once and stops only where three bytes
//     in a row may start a keyword: each byte maps to a class (bytes that
//     no keyword holds share class 0; upper and lower case share one), and
//     a bitmap indexed by three classes says which triples start some
//     keyword (a keyword of one or two bytes sets every triple it begins).
//     There is no state carried from byte to byte, so the processor
//     overlaps the look-ups of successive bytes (a DFA cannot: each step
//     waits for the previous one's table load);
//   - where the filter stops, a walk down the keywords' trie from that
//     byte reports the keywords that start there.
//
// On source code the filter stops about once in a hundred bytes.
type keywordIndex struct {
	// class maps a byte to its class, 0 for bytes no keyword holds.
	class [256]uint32
	// fclass maps a byte to its class in the filter: its class, or
	// filterClasses-1 for all classes from there on (fewer bits, same
	// answer for bytes not in keywords).
	fclass [256]uint32
	// starts has bit c0<<12|c1<<6|c2 set when a keyword starts with bytes
	// of filter classes c0, c1, c2.
	starts *[1 << 12]uint64
	// trie[n*stride+class] is the trie node after node n and a byte of
	// that class, 0 for none (the root is never a child).
	trie   []int32
	stride int
	// ends[n] lists the keywords that end at trie node n.
	ends [][]int
	// lens are the keywords' lengths.
	lens []int
}

// filterClasses is the number of byte classes the filter tells apart
// (6 bits a byte, 18 bits a triple).
const filterClasses = 64

// keywordHit is one occurrence of a keyword: it ends before End.
type keywordHit struct {
	Keyword, End int
}

// newKeywordIndex builds the index of keywords (lower case, not empty).
func newKeywordIndex(keywords []string) *keywordIndex {
	k := &keywordIndex{lens: make([]int, len(keywords)), starts: new([1 << 12]uint64)}
	nclass := uint32(1)
	for _, kw := range keywords {
		for i := 0; i < len(kw); i++ {
			if c := kw[i]; k.class[c] == 0 {
				k.class[c] = nclass
				k.class[upperOf(c)] = nclass
				nclass++
			}
		}
	}
	for b, c := range k.class {
		k.fclass[b] = min(c, filterClasses-1)
	}
	k.stride = int(nclass)
	// At most one node a keyword byte, plus the root: one allocation
	// instead of a growth copy every few nodes.
	nodes := 1
	for _, kw := range keywords {
		nodes += len(kw)
	}
	k.trie = make([]int32, k.stride, k.stride*nodes)
	k.ends = make([][]int, 1, nodes)
	for ki, kw := range keywords {
		k.lens[ki] = len(kw)
		n := 0
		for i := 0; i < len(kw); i++ {
			c := int(k.class[kw[i]])
			if k.trie[n*k.stride+c] == 0 {
				k.trie[n*k.stride+c] = int32(len(k.ends))
				k.trie = append(k.trie, make([]int32, k.stride)...)
				k.ends = append(k.ends, nil)
			}
			n = int(k.trie[n*k.stride+c])
		}
		k.ends[n] = append(k.ends[n], ki)
		k.setStarts(kw)
	}
	return k
}

// setStarts sets the filter bits of the triples a keyword starts.
func (k *keywordIndex) setStarts(kw string) {
	c0 := k.fclass[kw[0]]
	// The classes the second and third bytes may have: every one after
	// the end of a short keyword.
	span := func(i int) (lo, hi uint32) {
		if i < len(kw) {
			return k.fclass[kw[i]], k.fclass[kw[i]] + 1
		}
		return 0, filterClasses
	}
	lo1, hi1 := span(1)
	lo2, hi2 := span(2)
	for c1 := lo1; c1 < hi1; c1++ {
		for c2 := lo2; c2 < hi2; c2++ {
			x := c0<<12 | c1<<6 | c2
			k.starts[x>>6] |= 1 << (x & 63)
		}
	}
}

// upperOf returns the upper case of an ASCII lower-case letter, c otherwise.
func upperOf(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

// find appends to hits every keyword occurrence in buf, ordered by end,
// the longer first at one end, and returns hits.
func (k *keywordIndex) find(buf []byte, hits []keywordHit) []keywordHit {
	first := len(hits)
	n := len(buf)
	for i := k.skip(buf, 0); i < n-2; i = k.skip(buf, i+1) {
		hits = k.walk(buf, i, hits)
	}
	// The last two starts (or all of a short buf) have no full triple.
	for i := max(0, n-2); i < n; i++ {
		hits = k.walk(buf, i, hits)
	}
	if len(hits)-first > 1 {
		slices.SortFunc(hits[first:], func(a, b keywordHit) int {
			if a.End != b.End {
				return a.End - b.End
			}
			return k.lens[b.Keyword] - k.lens[a.Keyword]
		})
	}
	return hits
}

// skip returns the first start from i on where the filter says a keyword
// may start, or len(buf)-2 if there is none (the last two starts have no
// full triple). It is kept apart from the rest so that its loop has all
// the registers it needs.
func (k *keywordIndex) skip(buf []byte, i int) int {
	if len(buf) < 3 {
		return len(buf) - 2
	}
	fclass, starts := &k.fclass, k.starts
	c0, c1 := fclass[buf[i]], fclass[buf[i+1]]
	for j, b := range buf[i+2:] {
		c2 := fclass[b]
		if x := c0<<12 | c1<<6 | c2; starts[(x>>6)&(1<<12-1)]&(1<<(x&63)) != 0 {
			return i + j
		}
		c0, c1 = c1, c2
	}
	return len(buf) - 2
}

// walk appends the keywords that start at buf[i].
func (k *keywordIndex) walk(buf []byte, i int, hits []keywordHit) []keywordHit {
	n := 0
	for j := i; j < len(buf); j++ {
		n = int(k.trie[n*k.stride+int(k.class[buf[j]])])
		if n == 0 {
			break
		}
		for _, kw := range k.ends[n] {
			hits = append(hits, keywordHit{Keyword: kw, End: j + 1})
		}
	}
	return hits
}
