//go:build linux

package cli

import (
	"errors"
	"os"
	"syscall"
)

// newDirectWriter switches f (a new, empty file) to O_DIRECT and returns a
// writer for it, or nil where direct I/O is off or refused.
func newDirectWriter(f *os.File) *directWriter {
	if !directIOEnabled || setDirect(f, true) != nil {
		return nil
	}
	w := &directWriter{
		f:    f,
		free: make(chan []byte, directBufs),
		full: make(chan []byte, directBufs),
		done: make(chan error, 1),
	}
	// Anonymous mappings are page-aligned, as O_DIRECT needs, and outside
	// the Go heap; their pages are only touched as output arrives.
	for range directBufs {
		b, err := syscall.Mmap(-1, 0, directBufSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
		if err != nil {
			w.release()
			setDirect(f, false)
			return nil
		}
		w.bufs = append(w.bufs, b)
		w.free <- b[:0]
	}
	w.cur = <-w.free
	return w
}

// setDirect turns O_DIRECT on or off for f.
func setDirect(f *os.File, on bool) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	cerr := rc.Control(func(fd uintptr) {
		var flags int
		if flags, serr = fcntl(fd, syscall.F_GETFL, 0); serr != nil {
			return
		}
		if on {
			flags |= syscall.O_DIRECT
		} else {
			flags &^= syscall.O_DIRECT
		}
		_, serr = fcntl(fd, syscall.F_SETFL, flags)
	})
	if cerr != nil {
		return cerr
	}
	return serr
}

func fcntl(fd uintptr, cmd, arg int) (int, error) {
	r, _, errno := syscall.Syscall(syscall.SYS_FCNTL, fd, uintptr(cmd), uintptr(arg))
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}

// isDirectRefused: a file system that accepted the flag but not the write.
func isDirectRefused(err error) bool { return errors.Is(err, syscall.EINVAL) }

// release unmaps the buffers.
func (w *directWriter) release() {
	for _, b := range w.bufs {
		syscall.Munmap(b)
	}
	w.bufs, w.cur = nil, nil
}
