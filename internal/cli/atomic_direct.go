package cli

import (
	"errors"
	"os"
)

// Direct I/O for large outputs. Copying a GB of output into the page cache
// and writing it back costs more CPU than producing it: on the bench VM,
// dd of 1.7 GB with conv=fsync took 4.2 s, 3.3 s of it system time; with
// oflag=direct 1.7 s, 0.2 s system. A directWriter gathers the output in
// page-aligned buffers and a goroutine of its own writes each full buffer
// with O_DIRECT, so the device works while the caller goes on producing.
// The tail that does not fill a block is written through the page cache
// at the end, and the caller still fsyncs.

const (
	directBufSize = 4 << 20 // one write; a multiple of any block size
	directBufs    = 3       // in rotation: filling, writing, one spare
	directAlign   = 4096    // buffer address, size and file offset alignment
)

// directSyncEvery is how much is written between background fsyncs (a
// variable for tests).
var directSyncEvery = 256 << 20

// directAfter is where an output switches from the page cache to direct
// I/O (a variable for tests): smaller outputs gain little from it, and
// would pay the writer's 12 MiB of buffers in peak RSS (aoftool convert of
// the 10 MB bench AOF went from 35 to 41 MiB, above redis-server's 35).
var directAfter int64 = 32 << 20

// directIOEnabled turns direct I/O off when PERSISTKIT_DIRECT_IO=0 (for a
// file system that misbehaves with it), and lets tests compare both paths.
var directIOEnabled = os.Getenv("PERSISTKIT_DIRECT_IO") != "0"

// directWriter writes to a file through O_DIRECT. Not safe for concurrent
// use; its goroutine only runs between the first full buffer and finish.
type directWriter struct {
	f     *os.File
	bufs  [][]byte    // the mapped buffers, for release
	cur   []byte      // being filled
	free  chan []byte // written, ready to fill
	full  chan []byte // filled, to write
	done  chan error  // the writer goroutine's result, once full is closed
	err   error       // sticky: a write failed
	begun bool        // the goroutine runs
	fell  bool        // direct I/O was refused: writing through the cache
	// writeHook replaces the first attempt at each block's write in tests
	// (a file system that refuses direct I/O half way).
	writeHook func([]byte) (int, error)
}

var errDirectClosed = errors.New("cli: direct writer already finished")

// Write copies p into the buffers, handing each full one to the writer
// goroutine; it blocks while the device is behind by two buffers.
func (w *directWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n := len(p)
	for len(p) > 0 {
		k := copy(w.cur[len(w.cur):cap(w.cur)], p)
		w.cur = w.cur[:len(w.cur)+k]
		p = p[k:]
		if len(w.cur) == cap(w.cur) {
			if err := w.hand(w.cur); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

// hand passes a full buffer to the writer goroutine and takes a free one.
func (w *directWriter) hand(b []byte) error {
	if !w.begun {
		w.begun = true
		go w.run(w.full, w.free, w.done)
	}
	w.full <- b
	select {
	case w.cur = <-w.free:
	case err := <-w.done: // the goroutine stopped on an error
		w.err = err
		w.done = nil
		return err
	}
	return nil
}

// run writes the buffers it is handed, in order, until full is closed.
// It gets the channels as arguments: the producer clears its fields.
//
// Every directSyncEvery bytes it also starts an fsync on a goroutine of its
// own, while writing goes on: the device's cache is flushed as the file
// grows, so the caller's final fsync has little left (on the bench VM it
// took about a second for 1.7 GB written without them).
func (w *directWriter) run(full <-chan []byte, free chan<- []byte, done chan<- error) {
	var synced chan error // the fsync in flight, if any
	var since int
	wait := func() error {
		if synced == nil {
			return nil
		}
		err := <-synced
		synced = nil
		return err
	}
	for b := range full {
		err := w.writeBlock(b)
		if since += len(b); err == nil && since >= directSyncEvery {
			select {
			case err = <-synced: // the last one finished: start another
				synced = nil
			default:
			}
			if err == nil && synced == nil {
				since = 0
				synced = make(chan error, 1)
				go func(f *os.File, c chan<- error) { c <- f.Sync() }(w.f, synced)
			}
		}
		if err != nil {
			wait()
			// Stop the producer; keep draining until it closes full.
			done <- err
			for range full {
			}
			return
		}
		free <- b[:0]
	}
	done <- wait()
}

// writeBlock writes one aligned buffer. If the file system refuses direct
// I/O (EINVAL), at once or after a short write, the rest goes through the
// page cache, from where the file offset stands.
func (w *directWriter) writeBlock(b []byte) error {
	write := w.f.Write
	if w.writeHook != nil {
		write = w.writeHook
	}
	n, err := write(b)
	if err != nil && !w.fell && isDirectRefused(err) {
		if cerr := setDirect(w.f, false); cerr == nil {
			w.fell = true
			_, err = w.f.Write(b[n:])
		}
	}
	return err
}

// finish writes what is buffered (the last partial block through the page
// cache) and releases the buffers. It does not sync.
func (w *directWriter) finish() error {
	if w.full == nil {
		return errDirectClosed
	}
	err := w.err
	var tail []byte
	if err == nil {
		whole := len(w.cur) &^ (directAlign - 1)
		tail = append([]byte(nil), w.cur[whole:]...)
		if whole > 0 {
			err = w.hand(w.cur[:whole])
		}
	}
	if werr := w.stop(); err == nil {
		err = werr
	}
	if err == nil && len(tail) > 0 {
		if !w.fell {
			err = setDirect(w.f, false)
		}
		if err == nil {
			_, err = w.f.Write(tail)
		}
	}
	w.release()
	return err
}

// abort stops the goroutine and releases the buffers.
func (w *directWriter) abort() {
	if w.full == nil {
		return
	}
	w.stop()
	w.release()
}

// stop closes full and waits for the goroutine's result.
func (w *directWriter) stop() error {
	close(w.full)
	var err error
	if w.begun && w.done != nil {
		err = <-w.done
	}
	w.full = nil
	return err
}
