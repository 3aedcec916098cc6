package main

import (
	"io"
	"os"
)

// mapping is a file's bytes for --fix and check's resync, which need
// random access to the whole file: mapped read-only where the platform
// allows (the pages stay in the page cache instead of a heap copy the size
// of the file), read into memory otherwise.
type mapping struct {
	data    []byte
	mapped  bool
	dropped int // data[:dropped] has been given back (page-aligned)
}

// mapPath maps the file at path.
func mapPath(path string) (*mapping, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close() // a mapping outlives its descriptor
	return mapFile(f)
}

func readAll(f *os.File) (*mapping, error) {
	data, err := io.ReadAll(f)
	return &mapping{data: data}, err
}

// dropBehind is how far the salvage may have moved past data it gives back
// (its decoders buffer a little ahead of the position they report), and
// dropEvery how much it gives back at once (variables for tests).
var (
	dropBehind = 1 << 20
	dropEvery  = 8 << 20
)
