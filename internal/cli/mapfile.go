package cli

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// Mapping is a file's bytes for the commands that need random access to
// the whole file (rdbtool check's resync and --fix, aoftool's salvage):
// mapped read-only where the platform allows (the pages stay in the page
// cache instead of a heap copy the size of the file), read into memory
// otherwise.
type Mapping struct {
	Data    []byte
	mapped  bool
	dropped int // data[:dropped] has been given back (page-aligned)
}

// MapPath maps the file at path. Release unmaps it.
func MapPath(path string) (*Mapping, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close() // a mapping outlives its descriptor
	return mapFile(f)
}

func readAll(r io.Reader) (*Mapping, error) {
	data, err := io.ReadAll(r)
	return &Mapping{Data: data}, err
}

// MapReader maps what r holds (stdin, a FIFO): where the platform maps
// files, r is copied into an unlinked temporary file in [os.TempDir]
// first, so the bytes take disk there, not memory; elsewhere they are read
// into memory.
func MapReader(r io.Reader) (*Mapping, error) {
	if !canMap {
		return readAll(r)
	}
	if f, ok := r.(*os.File); ok {
		// A regular file (stdin redirected from one) at its start is
		// mapped as it is.
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			if off, err := f.Seek(0, io.SeekCurrent); err == nil && off == 0 {
				return mapFile(f)
			}
		}
	}
	f, err := os.CreateTemp("", "persistkit-spool-")
	if err != nil {
		return nil, fmt.Errorf("spooling the input: %w", err)
	}
	defer f.Close() // a mapping outlives its descriptor
	os.Remove(f.Name())
	if _, err := io.Copy(f, r); err != nil {
		return nil, fmt.Errorf("spooling the input to %s: %w", os.TempDir(), err)
	}
	return mapFile(f)
}

// dropBehind is how far the salvage may have moved past data it gives back
// (its decoders buffer a little ahead of the position they report), and
// dropEvery how much it gives back at once (variables for tests).
var (
	dropBehind = 1 << 20
	dropEvery  = 8 << 20
)

// WithMapped runs fn, which reads a Mapping of path, and turns a fault
// while reading it into an error naming the file: a mapped file that
// another program truncates makes reading past its new end a bus error,
// which would otherwise end the process with a stack trace.
func WithMapped(path string, fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			if f, ok := r.(interface{ Addr() uintptr }); ok {
				err = fmt.Errorf("%s: the file changed while it was read (truncated by another program?): %v", Printable(path), f)
				return
			}
			panic(r)
		}
	}()
	return fn()
}
