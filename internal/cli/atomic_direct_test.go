package cli

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// useDirect turns direct I/O on or off for the test, switching at after.
func useDirect(t *testing.T, on bool, after int64) {
	t.Helper()
	oldOn, oldAfter := directIOEnabled, directAfter
	t.Cleanup(func() { directIOEnabled, directAfter = oldOn, oldAfter })
	directIOEnabled, directAfter = on, after
}

// writeOdd writes want to a in writes of random sizes, so that buffer and
// block ends fall inside writes.
func writeOdd(t *testing.T, a *AtomicFile, want []byte, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	for p := want; len(p) > 0; {
		n := min(len(p), 1+r.IntN(directBufSize+directBufSize/3))
		if r.IntN(4) == 0 {
			n = min(len(p), 1+r.IntN(5000))
		}
		if m, err := a.Write(p[:n]); m != n || err != nil {
			t.Fatalf("Write: %d, %v", m, err)
		}
		p = p[n:]
	}
}

// The committed file holds exactly what was written, with and without
// direct I/O, for sizes around buffer and block boundaries.
func TestAtomicDirectContent(t *testing.T) {
	defer func(every int) { directSyncEvery = every }(directSyncEvery)
	directSyncEvery = directBufSize // exercise the background fsyncs
	r := rand.New(rand.NewPCG(3, 4))
	data := make([]byte, 3*directBufSize+directBufSize/2+777)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	sizes := []int{0, 1, directAlign - 1, directAlign, directAlign + 1, directBufSize - 1, directBufSize,
		directBufSize + directAlign, 2*directBufSize + 5, len(data)}
	dir := t.TempDir()
	direct := 0
	// From the start, switching after a buffer and a bit, and off.
	modes := []struct {
		on    bool
		after int64
	}{{true, 0}, {true, directBufSize + 3*directAlign}, {false, 0}}
	for _, mode := range modes {
		on := mode.on
		useDirect(t, on, mode.after)
		for i, n := range sizes {
			target := filepath.Join(dir, "out.rdb")
			a, err := CreateAtomic(target, 0)
			if err != nil {
				t.Fatal(err)
			}
			writeOdd(t, a, data[:n], uint64(i))
			if a.dw != nil {
				direct++
				if !on {
					t.Fatal("direct I/O used while turned off")
				}
			}
			if err := a.Commit(); err != nil {
				t.Fatalf("direct %v, %d bytes: Commit: %v", on, n, err)
			}
			got, err := os.ReadFile(target)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data[:n]) {
				t.Fatalf("direct %v, %d bytes: file holds %d bytes, differing", on, n, len(got))
			}
		}
	}
	if left := tempLeft(t, dir); len(left) != 0 {
		t.Errorf("temp files left: %v", left)
	}
	t.Logf("%d of %d outputs used direct I/O", direct, 3*len(sizes))
}

// A write that fails (here: the file was closed underneath) surfaces from
// Write or Commit, the temp file goes, and the writer goroutine ends.
func TestAtomicDirectWriteError(t *testing.T) {
	useDirect(t, true, 0)
	dir := t.TempDir()
	base := runtime.NumGoroutine()
	a, err := CreateAtomic(filepath.Join(dir, "out.aof"), 0)
	if err != nil {
		t.Fatal(err)
	}
	a.f.Close()
	chunk := make([]byte, directBufSize/2+1)
	var werr error
	for range 12 {
		if _, werr = a.Write(chunk); werr != nil {
			break
		}
	}
	if cerr := a.Commit(); cerr == nil {
		t.Fatalf("Commit after a failed write succeeded (Write: %v)", werr)
	}
	if left := tempLeft(t, dir); len(left) != 0 {
		t.Errorf("temp files left: %v", left)
	}
	waitGoroutines(t, base)
}

// Abort in the middle of a direct write stops the goroutine and removes
// the temp file.
func TestAtomicDirectAbort(t *testing.T) {
	useDirect(t, true, 0)
	dir := t.TempDir()
	base := runtime.NumGoroutine()
	a, err := CreateAtomic(filepath.Join(dir, "out.aof"), 0)
	if err != nil {
		t.Fatal(err)
	}
	writeOdd(t, a, make([]byte, 2*directBufSize+100), 9)
	a.Abort()
	a.Abort()
	if left := tempLeft(t, dir); len(left) != 0 {
		t.Errorf("temp files left: %v", left)
	}
	waitGoroutines(t, base)
}

// waitGoroutines waits up to 5 s for the goroutine count to fall to base.
func waitGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		t.Errorf("%d goroutines, want %d", n, base)
	}
}

// A file system that refuses direct I/O after part of a block was written
// (EINVAL with a short count): the rest of that block and of the file go
// through the page cache, and the file is whole.
func TestAtomicDirectRefusedHalfWay(t *testing.T) {
	useDirect(t, true, 0)
	dir := t.TempDir()
	a, err := CreateAtomic(filepath.Join(dir, "out.aof"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if a.dw == nil {
		t.Skipf("no direct I/O on the file system of %s (the fallback at open is the path taken)", dir)
	}
	calls := 0
	a.dw.writeHook = func(b []byte) (int, error) {
		calls++
		if calls == 2 {
			n, err := a.f.Write(b[:2*directAlign])
			if err != nil {
				return n, err
			}
			return n, syscall.EINVAL
		}
		return a.f.Write(b)
	}
	r := rand.New(rand.NewPCG(5, 6))
	want := make([]byte, 3*directBufSize+12345)
	for i := range want {
		want[i] = byte(r.Uint32())
	}
	writeOdd(t, a, want, 7)
	if err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "out.aof"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("file holds %d bytes, want %d, differing", len(got), len(want))
	}
	if calls < 3 || !a.dw.fell {
		t.Errorf("%d writes, fell back %v: the refusal was not exercised", calls, a.dw.fell)
	}
}
