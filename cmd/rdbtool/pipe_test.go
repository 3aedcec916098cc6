//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/persistkit/persistkit/internal/clitest"
)

// TestDiffFIFO compares an RDB read from a FIFO (as <(zcat dump.rdb.gz)
// gives) with the file itself: telling an AOF from an RDB must not read
// the FIFO's first bytes away.
func TestDiffFIFO(t *testing.T) {
	file := filepath.Join(corpusDir, "7.4.1", "types-small", "dump.rdb")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runCLI(t, false, "", "diff", clitest.FIFO(t, data), file)
	if code != 0 || !strings.Contains(stderr, "keyspaces are equal") {
		t.Errorf("diff FIFO FILE: exit %d: %s", code, stderr)
	}
}

// TestCheckFIFODamaged checks a damaged RDB from a FIFO: the report comes
// without the resync, which would open the FIFO again and wait for a writer
// that never comes; --fix --in-place is refused.
func TestCheckFIFODamaged(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(corpusDir, "7.4.1", "types-small", "dump.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	cut := data[:len(data)/2]
	out, _, code := runCLI(t, false, "", "check", clitest.FIFO(t, cut))
	if code != 3 || !strings.Contains(out, "RDB ERROR DETECTED") {
		t.Errorf("check FIFO: exit %d\n%s", code, out)
	}
	fifo := clitest.FIFO(t, cut)
	_, stderr, code := runCLI(t, false, "", "check", "--fix", "--in-place", fifo)
	if code != 2 || !strings.Contains(stderr, "needs a regular file") {
		t.Errorf("fix --in-place FIFO: exit %d: %s", code, stderr)
	}
	// Unblock the writer, which waits for a reader.
	if f, err := os.Open(fifo); err == nil {
		f.Close()
	}
}
