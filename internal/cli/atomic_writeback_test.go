package cli

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestAtomicWriteBack writes an output of several write-back chunks in
// writes of odd sizes (so chunk ends fall inside writes) and checks that
// the committed file holds exactly what was written.
func TestAtomicWriteBack(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 56 MiB")
	}
	defer func(on bool) { directIOEnabled = on }(directIOEnabled)
	directIOEnabled = false // write-back is the path without direct I/O
	dir := t.TempDir()
	target := filepath.Join(dir, "out.aof")
	a, err := CreateAtomic(target, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	want := make([]byte, 3*writeBackChunk+writeBackChunk/2)
	for i := range want {
		want[i] = byte(r.Uint32())
	}
	for p := want; len(p) > 0; {
		n := min(len(p), 1+r.IntN(3<<20))
		if m, err := a.Write(p[:n]); m != n || err != nil {
			t.Fatalf("Write: %d, %v", m, err)
		}
		p = p[n:]
	}
	if a.wb.off != int64(len(want)) {
		t.Errorf("counted %d bytes written, want %d", a.wb.off, len(want))
	}
	if !a.wb.disabled && (a.wb.started < 3*writeBackChunk || a.wb.waited == 0 || a.wb.waited > a.wb.lag || a.wb.lag > a.wb.started) {
		t.Errorf("write-back state off=%d started=%d lag=%d waited=%d", a.wb.off, a.wb.started, a.wb.lag, a.wb.waited)
	}
	if err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(target)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("file differs from what was written (%d bytes, want %d)", len(got), len(want))
	}
	if l := tempLeft(t, dir); len(l) != 0 {
		t.Errorf("left %v", l)
	}
}
