package cli

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// startProfiles writes a CPU profile to $BULWARK_CPUPROFILE and, when the
// returned function is called, the allocation profile to
// $BULWARK_ALLOCPROFILE (pprof format; for bench/ and issue work): all
// allocations, and the heap in use as of the last garbage collection.
func startProfiles() func() {
	var stops []func()
	if p := os.Getenv("BULWARK_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bulwark: BULWARK_CPUPROFILE:", err)
		} else {
			stops = append(stops, func() { pprof.StopCPUProfile(); f.Close() })
		}
	}
	if p := os.Getenv("BULWARK_ALLOCPROFILE"); p != "" {
		stops = append(stops, func() {
			f, err := os.Create(p)
			if err == nil {
				err = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "bulwark: BULWARK_ALLOCPROFILE:", err)
			}
		})
	}
	return func() {
		for _, stop := range stops {
			stop()
		}
	}
}
