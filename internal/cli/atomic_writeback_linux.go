//go:build linux && !arm

package cli

import "syscall"

// sync_file_range(2) flags (linux/fs.h); package syscall does not name
// them.
const (
	syncFileRangeWaitBefore = 1
	syncFileRangeWrite      = 2
	syncFileRangeWaitAfter  = 4
)

// writeBack starts writing [started, off) out and waits until the chunk
// before the previous one, [waited, lag), is on disk: waiting for the
// previous one would often stall the writer for a few milliseconds, while
// two chunks back has almost always finished. An error (a file system
// without support) turns write-back off; the caller's fsync still
// reports real I/O errors.
func (w *WriteBack) writeBack() {
	rc, err := w.f.SyscallConn()
	if err != nil {
		w.disabled = true
		return
	}
	prev, start, end := w.waited, w.started, w.off
	lag := w.lag
	cerr := rc.Control(func(fd uintptr) {
		err = syscall.SyncFileRange(int(fd), start, end-start, syncFileRangeWrite)
		if err == nil && lag > prev {
			err = syscall.SyncFileRange(int(fd), prev, lag-prev,
				syncFileRangeWaitBefore|syncFileRangeWrite|syncFileRangeWaitAfter)
		}
	})
	if err != nil || cerr != nil {
		w.disabled = true
		return
	}
	w.waited, w.lag, w.started = lag, start, end
}
