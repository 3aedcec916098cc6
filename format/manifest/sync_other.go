//go:build !unix

package manifest

// Directory fsync is not available everywhere (Windows); ignore it there.
func isNotSupported(err error) bool { return true }
