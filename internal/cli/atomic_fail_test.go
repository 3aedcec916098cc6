package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tempLeft lists hidden temp files CreateAtomic may have left in dir.
func tempLeft(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestAtomicFailures: every way an atomic write can fail leaves the
// previous target untouched and no temp file behind.
func TestAtomicFailures(t *testing.T) {
	t.Run("abort-keeps-previous", func(t *testing.T) {
		dir := t.TempDir()
		target := filepath.Join(dir, "out.rdb")
		os.WriteFile(target, []byte("old"), 0o600)
		a, err := CreateAtomic(target, 0)
		if err != nil {
			t.Fatal(err)
		}
		a.Write([]byte("half-written"))
		a.Abort()
		a.Abort() // idempotent
		if b, _ := os.ReadFile(target); string(b) != "old" {
			t.Errorf("target is %q", b)
		}
		if l := tempLeft(t, dir); len(l) != 0 {
			t.Errorf("left %v", l)
		}
		if err := a.Commit(); err == nil {
			t.Error("Commit after Abort succeeded")
		}
	})
	t.Run("commit-keeps-mode", func(t *testing.T) {
		dir := t.TempDir()
		target := filepath.Join(dir, "out.rdb")
		os.WriteFile(target, []byte("old"), 0o600)
		a, err := CreateAtomic(target, 0)
		if err != nil {
			t.Fatal(err)
		}
		a.Write([]byte("new"))
		if err := a.Commit(); err != nil {
			t.Fatal(err)
		}
		a.Abort() // no-op after Commit
		st, err := os.Stat(target)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("mode %v %v", st.Mode(), err)
		}
		if b, _ := os.ReadFile(target); string(b) != "new" {
			t.Errorf("target is %q", b)
		}
		if err := a.Commit(); err == nil {
			t.Error("second Commit succeeded")
		}
	})
	t.Run("rename-fails", func(t *testing.T) {
		// The target became a non-empty directory after CreateAtomic
		// (which refuses one up front): rename(2) fails after the data was
		// written and synced. The temp file must go.
		dir := t.TempDir()
		target := filepath.Join(dir, "out")
		a, err := CreateAtomic(target, 0)
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(target, "x"), 0o755)
		a.Write(bytes.Repeat([]byte("x"), 1<<16))
		if err := a.Commit(); err == nil {
			t.Fatal("Commit over a non-empty directory succeeded")
		}
		if l := tempLeft(t, dir); len(l) != 0 {
			t.Errorf("left %v", l)
		}
		if _, err := os.Stat(filepath.Join(target, "x")); err != nil {
			t.Errorf("target directory damaged: %v", err)
		}
	})
	t.Run("parent-missing", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := CreateAtomic(filepath.Join(dir, "no", "such", "out"), 0); err == nil {
			t.Fatal("CreateAtomic in a missing directory succeeded")
		}
	})
	t.Run("parent-is-file", func(t *testing.T) {
		dir := t.TempDir()
		f := filepath.Join(dir, "file")
		os.WriteFile(f, nil, 0o644)
		if _, err := CreateAtomic(filepath.Join(f, "out"), 0); err == nil {
			t.Fatal("CreateAtomic under a regular file succeeded")
		}
	})
	t.Run("dir-removed-before-commit", func(t *testing.T) {
		// The directory vanishes under a running write: Commit fails and
		// reports it; nothing to clean up remains.
		dir := filepath.Join(t.TempDir(), "d")
		os.Mkdir(dir, 0o755)
		a, err := CreateAtomic(filepath.Join(dir, "out"), 0)
		if err != nil {
			t.Fatal(err)
		}
		a.Write([]byte("data"))
		os.RemoveAll(dir)
		if err := a.Commit(); err == nil {
			t.Fatal("Commit into a removed directory succeeded")
		}
	})
	t.Run("output-stdout", func(t *testing.T) {
		var out bytes.Buffer
		env := Test(nil, &out, &bytes.Buffer{}, false)
		o, err := env.OpenOutput("-", true, true)
		if err != nil {
			t.Fatal(err)
		}
		o.Write([]byte("x"))
		if err := o.Commit(); err != nil {
			t.Fatal(err)
		}
		o.Abort()
		if out.String() != "x" {
			t.Errorf("stdout %q", out.String())
		}
	})
	t.Run("output-binary-to-tty", func(t *testing.T) {
		env := Test(nil, &bytes.Buffer{}, &bytes.Buffer{}, true)
		if _, err := env.OpenOutput("", true, false); ExitCode(err) != ExitUsage {
			t.Errorf("binary output to a terminal: %v (exit %d), want a usage error", err, ExitCode(err))
		}
	})
}
