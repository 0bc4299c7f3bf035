package image

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSortHashes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 5, radixMin - 1, radixMin, 100_000} {
		for _, shape := range []string{"random", "low bits", "equal", "sorted", "reversed"} {
			a := make([]uint64, n)
			for i := range a {
				switch shape {
				case "random":
					a[i] = r.Uint64()
				case "low bits": // high bytes all equal: those passes are skipped
					a[i] = 0xabcd<<48 | uint64(r.IntN(1<<20))
				case "equal":
					a[i] = 42
				case "sorted":
					a[i] = uint64(i) << 30
				case "reversed":
					a[i] = uint64(n-i) << 7
				}
			}
			want := slices.Clone(a)
			slices.Sort(want)
			sortHashes(a)
			if !slices.Equal(a, want) {
				t.Errorf("%d %s: not sorted as slices.Sort sorts", n, shape)
			}
		}
	}
}

func BenchmarkSortHashes(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	src := make([]uint64, 400_000)
	for i := range src {
		src[i] = r.Uint64()
	}
	a := make([]uint64, len(src))
	b.Run("radix", func(b *testing.B) {
		for b.Loop() {
			copy(a, src)
			sortHashes(a)
		}
	})
	b.Run("slices.Sort", func(b *testing.B) {
		for b.Loop() {
			copy(a, src)
			slices.Sort(a)
		}
	})
}
