//go:build unix

package clitest

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// FIFO returns a named pipe in a temp dir that serves data to one reader,
// as <(zcat file.gz) would: it can be read once, and only after the writer
// connects.
func FIFO(t testing.TB, data []byte) string {
	t.Helper()
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		f.Write(data)
		f.Close()
	}()
	return fifo
}
