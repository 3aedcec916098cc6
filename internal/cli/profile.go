package cli

import (
	"fmt"
	"os"
	"runtime/pprof"
	"runtime/trace"
)

// startProfile writes a CPU profile of the whole run to the file named by
// PERSISTKIT_CPUPROFILE, and an execution trace (where goroutines wait) to
// the one named by PERSISTKIT_TRACE, for the performance work in
// BENCHMARKS.md. They are environment variables, not flags, so no
// command's interface changes.
func startProfile() (stop func()) {
	stopCPU := startCPUProfile()
	stopTrace := startTrace()
	return func() {
		stopTrace()
		stopCPU()
	}
}

func startTrace() (stop func()) {
	path := os.Getenv("PERSISTKIT_TRACE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		if err = trace.Start(f); err != nil {
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "PERSISTKIT_TRACE: %v\n", err)
		return func() {}
	}
	return func() {
		trace.Stop()
		f.Close()
	}
}

func startCPUProfile() (stop func()) {
	path := os.Getenv("PERSISTKIT_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "PERSISTKIT_CPUPROFILE: %v\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "PERSISTKIT_CPUPROFILE: %v\n", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
