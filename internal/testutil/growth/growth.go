// Package growth reports, in Go benchmarks, how a cost grows with the size
// of its input, so that work that grows faster than its input shows up as a
// number in the benchmark output rather than as a slow run for a user.
package growth

import (
	"fmt"
	"syscall"
	"testing"
	"time"
)

// Sizes are the input sizes the output and merge benchmarks use.
var Sizes = []int{1_000, 10_000, 100_000}

// Report calls run once for each size per benchmark iteration and reports,
// for each size, the wall and CPU nanoseconds per item ("ns/item@10k",
// "cpu-ns/item@10k") and, from the second size on, the growth per 10x of
// input ("x10@10k"): the CPU time ratio to the previous size, scaled to a
// tenfold step. Linear work reads about 10, n log n a little more,
// quadratic work 100. The ratio uses the process's CPU time (GC included)
// so that it holds on a machine other jobs share, where wall time does not.
func Report(b *testing.B, sizes []int, run func(n int)) {
	b.Helper()
	wall := make([]time.Duration, len(sizes))
	cpu := make([]time.Duration, len(sizes))
	iters := 0
	for b.Loop() {
		for i, n := range sizes {
			start, startCPU := time.Now(), cpuTime()
			run(n)
			wall[i] += time.Since(start)
			cpu[i] += cpuTime() - startCPU
		}
		iters++
	}
	if iters == 0 {
		return
	}
	for i, n := range sizes {
		b.ReportMetric(float64(wall[i])/float64(iters)/float64(n), "ns/item@"+label(n))
		b.ReportMetric(float64(cpu[i])/float64(iters)/float64(n), "cpu-ns/item@"+label(n))
		if i > 0 {
			step := float64(n) / float64(sizes[i-1])
			ratio := float64(cpu[i]) / float64(max(cpu[i-1], 1))
			b.ReportMetric(ratio*10/step, "x10@"+label(n))
		}
	}
}

// cpuTime is the CPU time the process has used so far (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// label writes 1000 as 1k and 1000000 as 1M.
func label(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1_000 && n%1_000 == 0:
		return fmt.Sprintf("%dk", n/1_000)
	}
	return fmt.Sprint(n)
}
