package image

import (
	"hash/maphash"
	"path"
	"slices"
	"sync"
)

// Tree records, for every layer walked, which paths it adds, deletes
// (whiteouts) and hides (opaque directories), in 8 bytes a path, so that
// after one parallel pass over the layers it can say whether an entry of a
// given layer is what the final image shows.
type Tree struct {
	mu     sync.Mutex
	layers []layerPaths
	// Warnings lists what the walk skipped (unreadable files and the like).
	Warnings []string
}

// Kinds of path a layer records, kept in the low bits of the hash.
const (
	pathEntry    = 1 << iota // the layer has an entry at the path
	pathNonDir               // ... and it is not a directory
	pathWhiteout             // the layer deletes the path
	pathOpaque               // the layer hides everything lower layers had below the path
	pathKindBits = 4
)

var treeSeed = maphash.MakeSeed()

func pathHash(p string) uint64 { return maphash.String(treeSeed, p) &^ (1<<pathKindBits - 1) }

// layerPaths holds one layer's paths as hashes with the kind in the low bits.
type layerPaths struct {
	hashes []uint64
	// escapes are the entries that leave the root (see Escape), up to
	// maxEscapes; moreEscapes counts the rest.
	escapes     []Escape
	moreEscapes int
}

func (lp *layerPaths) add(p string, kind uint64) { lp.hashes = append(lp.hashes, pathHash(p)|kind) }

func (lp *layerPaths) sort() { sortHashes(lp.hashes) }

// sortHashes sorts a, in place. A layer of a file-heavy image holds
// hundreds of thousands of hashes, so large slices are radix sorted (eight
// passes of 8 bits, linear, about a tenth of slices.Sort's time on
// uniformly spread hashes); small ones go to slices.Sort.
func sortHashes(a []uint64) {
	if len(a) < radixMin {
		slices.Sort(a)
		return
	}
	var counts [8][256]int
	for _, v := range a {
		for d := range counts {
			counts[d][byte(v>>(8*d))]++
		}
	}
	src, dst := a, make([]uint64, len(a))
	for d := range counts {
		c := &counts[d]
		if c[byte(a[0]>>(8*d))] == len(a) {
			continue // every value has this digit: the pass would not move anything
		}
		pos := 0
		for i, n := range c {
			c[i], pos = pos, pos+n
		}
		for _, v := range src {
			k := byte(v >> (8 * d))
			dst[c[k]] = v
			c[k]++
		}
		src, dst = dst, src
	}
	if &src[0] != &a[0] {
		copy(a, src)
	}
}

// radixMin is the length from which sortHashes radix sorts.
const radixMin = 4096

// kind returns the union of the kinds recorded for a path hash.
func (lp *layerPaths) kind(h uint64) uint64 {
	i, _ := slices.BinarySearch(lp.hashes, h)
	var k uint64
	for ; i < len(lp.hashes) && lp.hashes[i]&^(1<<pathKindBits-1) == h; i++ {
		k |= lp.hashes[i] & (1<<pathKindBits - 1)
	}
	return k
}

// Visible reports whether the entry at path p of the given layer is part of
// the final filesystem: no later layer replaces it, deletes it or one of its
// parent directories, hides it behind an opaque directory, or puts a
// non-directory where one of its parents was.
func (t *Tree) Visible(layer int, p string) bool { return t.HiddenBy(layer, p) < 0 }

// HiddenBy returns the index of the first later layer that hides the entry
// at path p of the given layer (see Visible), or -1 when it is visible.
// Caches of per-layer results use it to know what a shorter stack of the
// same layers shows.
func (t *Tree) HiddenBy(layer int, p string) int {
	h := pathHash(p)
	for j := layer + 1; j < len(t.layers); j++ {
		lp := &t.layers[j]
		if lp.kind(h)&(pathEntry|pathWhiteout) != 0 {
			return j
		}
		for dir := path.Dir(p); dir != "." && dir != "/"; dir = path.Dir(dir) {
			if lp.kind(pathHash(dir))&(pathWhiteout|pathOpaque|pathNonDir) != 0 {
				return j
			}
		}
	}
	return -1
}
