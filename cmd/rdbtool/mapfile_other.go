//go:build !unix

package main

import "os"

// mapFile reads f into memory where mmap is not available.
func mapFile(f *os.File) (*mapping, error) { return readAll(f) }

func (m *mapping) release()         { m.data = nil }
func (m *mapping) doneBefore(int64) {}
