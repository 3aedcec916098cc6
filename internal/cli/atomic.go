package cli

import (
	"errors"
	"io"
	"os"
	"path/filepath"
)

// AtomicFile is an output file written to a temp file in the target's
// directory, then fsynced and renamed over the target on Commit, so a
// reader never sees a half-written RDB, AOF or manifest. Abort (or a failed
// Commit) removes the temp file. Not safe for concurrent use.
//
// A target that exists and is not a regular file (/dev/null, a FIFO, a
// terminal) is written directly: renaming over it would replace the
// device or pipe with a plain file. A symlink to a regular file is
// followed, so the link stays and the file it points to is replaced.
type AtomicFile struct {
	f  *os.File
	wb *WriteBack    // page-cache writes, when dw is nil
	dw *directWriter // O_DIRECT writes (Linux), from directAfter on
	// tryDirect: switch to direct I/O once the output reaches directAfter
	tryDirect bool
	path      string // as the user gave it
	target    string // path with symlinks resolved: what Commit replaces
	direct    bool   // f is the target itself, not a temp file
	done      bool
}

// CreateAtomic starts writing path. The final file gets mode perm (0644
// when 0), or the mode of the file it replaces.
func CreateAtomic(path string, perm os.FileMode) (*AtomicFile, error) {
	if perm == 0 {
		perm = 0o644
	}
	target := path
	if st, err := os.Stat(path); err == nil {
		switch {
		case st.IsDir():
			return nil, &os.PathError{Op: "create", Path: path, Err: errors.New("is a directory")}
		case !st.Mode().IsRegular():
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				return nil, err
			}
			return &AtomicFile{f: f, path: path, target: path, direct: true}, nil
		}
		perm = st.Mode().Perm()
		if real, err := filepath.EvalSymlinks(path); err == nil {
			target = real
		}
	}
	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	a := &AtomicFile{f: f, path: path, target: target}
	a.wb, a.tryDirect = NewWriteBack(f), directIOEnabled
	if directAfter == 0 {
		a.startDirect()
	}
	return a, nil
}

// Write writes to the temp file: the first 32 MiB through the page cache,
// the rest with direct I/O where the system allows it (see directWriter),
// else through the page cache too, starting write-back of large outputs as
// they grow (see [WriteBack]). Either way Commit's fsync has little left
// to wait for.
func (a *AtomicFile) Write(p []byte) (int, error) {
	switch {
	case a.direct:
		return a.f.Write(p)
	case a.dw != nil:
		return a.dw.Write(p)
	case a.tryDirect && a.wb.off+int64(len(p)) >= directAfter:
		// Switch at directAfter (block-aligned): the rest goes direct.
		k := int(directAfter - a.wb.off)
		n, err := a.wb.Write(p[:k])
		if err != nil {
			return n, err
		}
		a.startDirect()
		m, err := a.Write(p[k:])
		return n + m, err
	}
	return a.wb.Write(p)
}

// startDirect switches to direct I/O from the current offset, if the file
// system allows it; else writing goes on through the page cache.
func (a *AtomicFile) startDirect() {
	a.tryDirect = false
	a.dw = newDirectWriter(a.f)
}

// Name is the final path.
func (a *AtomicFile) Name() string { return a.path }

// Commit fsyncs, closes and renames the temp file onto the target, then
// fsyncs the directory so the rename survives a crash.
func (a *AtomicFile) Commit() error {
	if a.done {
		return errors.New("cli: atomic file already finished")
	}
	a.done = true
	if a.direct {
		return a.f.Close()
	}
	tmp := a.f.Name()
	var err error
	if a.dw != nil {
		err = a.dw.finish()
	}
	if err == nil {
		err = a.f.Sync()
	}
	if cerr := a.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, a.target)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, derr := os.Open(filepath.Dir(a.target)); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Abort discards the temp file; it does nothing after Commit, so it can be
// deferred.
func (a *AtomicFile) Abort() {
	if a.done {
		return
	}
	a.done = true
	if a.dw != nil {
		a.dw.abort()
	}
	a.f.Close()
	if !a.direct {
		os.Remove(a.f.Name())
	}
}

// Output is a destination chosen by an -o flag: a file written atomically
// or stdout ("-").
type Output struct {
	io.Writer
	file *AtomicFile
}

// OpenOutput opens path for writing ("-" or "" means stdout). binary
// refuses to write to a terminal unless the user asked for it with "-o -"
// explicitly (explicit true).
func (e *Env) OpenOutput(path string, binary, explicit bool) (*Output, error) {
	if path == "" || path == "-" {
		if binary && e.IsTTY.Out && !(explicit && path == "-") {
			return nil, WithHint(Usagef("refusing to write binary output to a terminal"), "use -o FILE, or -o - to force")
		}
		return &Output{Writer: e.Out}, nil
	}
	f, err := CreateAtomic(path, 0)
	if err != nil {
		return nil, err
	}
	return &Output{Writer: f, file: f}, nil
}

// Commit finishes a file output (no-op for stdout).
func (o *Output) Commit() error {
	if o.file == nil {
		return nil
	}
	return o.file.Commit()
}

// Abort removes an unfinished file output (no-op for stdout or after Commit).
func (o *Output) Abort() {
	if o.file != nil {
		o.file.Abort()
	}
}
