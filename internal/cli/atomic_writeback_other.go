//go:build !linux || arm

package cli

// writeBack does nothing where sync_file_range(2) is missing (package
// syscall has it on every Linux port but 32-bit ARM): the final fsync
// writes everything.
func (w *WriteBack) writeBack() { w.disabled = true }
