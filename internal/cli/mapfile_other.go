//go:build !unix

package cli

import "os"

const canMap = false

// mapFile reads f into memory where mmap is not available.
func mapFile(f *os.File) (*Mapping, error) { return readAll(f) }

func (m *Mapping) Release()         { m.Data = nil }
func (m *Mapping) DoneBefore(int64) {}
func (m *Mapping) Rewind()          {}
