//go:build !linux

package cli

import "os"

// newDirectWriter: direct I/O is only used on Linux.
func newDirectWriter(*os.File) *directWriter { return nil }

func setDirect(*os.File, bool) error { return nil }

func isDirectRefused(error) bool { return false }

func (w *directWriter) release() {}
