//go:build unix

package cli

import (
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// A FIFO (like /dev/null or a terminal: not a regular file) is written in
// place; renaming a temp file over it would replace the pipe with a file.
func TestAtomicWritesSpecialFilesDirectly(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			got <- nil
			return
		}
		b, _ := io.ReadAll(f)
		f.Close()
		got <- b
	}()
	a, err := CreateAtomic(fifo, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write([]byte("through the pipe")); err != nil {
		t.Fatal(err)
	}
	if err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	if b := <-got; string(b) != "through the pipe" {
		t.Errorf("reader got %q", b)
	}
	st, err := os.Lstat(fifo)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("%s is now %v, want a named pipe", fifo, st.Mode())
	}
	if left := tempLeft(t, dir); len(left) != 0 {
		t.Errorf("temp files left: %v", left)
	}
}

// A symlink to a regular file stays a symlink; the file it points to gets
// the new content.
func TestAtomicFollowsSymlink(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	real := filepath.Join(other, "backup.rdb")
	if err := os.WriteFile(real, []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "latest.rdb")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	a, err := CreateAtomic(link, 0)
	if err != nil {
		t.Fatal(err)
	}
	if a.Name() != link {
		t.Errorf("Name() = %q, want the path as given %q", a.Name(), link)
	}
	a.Write([]byte("new"))
	if err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("link replaced: %v %v", st.Mode(), err)
	}
	b, err := os.ReadFile(real)
	if err != nil || string(b) != "new" {
		t.Errorf("target holds %q (%v), want \"new\"", b, err)
	}
	if st, _ := os.Stat(real); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the replaced file's 0640", st.Mode().Perm())
	}
	if left := append(tempLeft(t, dir), tempLeft(t, other)...); len(left) != 0 {
		t.Errorf("temp files left: %v", left)
	}
}

func TestAtomicRefusesDirectory(t *testing.T) {
	dir := t.TempDir()
	if _, err := CreateAtomic(dir, 0); err == nil {
		t.Fatal("CreateAtomic on a directory succeeded")
	}
	if left := tempLeft(t, filepath.Dir(dir)); len(left) != 0 {
		t.Errorf("temp files left: %v", left)
	}
}
