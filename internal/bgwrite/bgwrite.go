// Package bgwrite writes buffers on a goroutine of its own, so that
// producing output overlaps writing it (aoftool convert's partition files
// and its merged RDB).
package bgwrite

import (
	"io"
	"sync"
)

// Queue writes the buffers handed to Submit, in order, on its goroutine.
// The first write error sticks: later buffers are dropped unwritten and
// Err and Close report it. Submit and Close are for one producer; Err may
// be called from anywhere.
type Queue struct {
	jobs chan job
	free chan []byte
	done chan struct{}
	keep int // the largest buffer capacity recycled
	mu   sync.Mutex
	err  error
}

type job struct {
	w io.Writer
	b []byte
}

// NewQueue starts a queue that holds up to queued buffers waiting to be
// written (Submit blocks beyond that) and recycles up to spares written
// buffers of at most keep bytes of capacity.
func NewQueue(queued, spares, keep int) *Queue {
	q := &Queue{jobs: make(chan job, queued), free: make(chan []byte, spares), done: make(chan struct{}), keep: keep}
	go q.run(q.jobs)
	return q
}

// run gets jobs as an argument: Close clears the field.
func (q *Queue) run(jobs <-chan job) {
	defer close(q.done)
	for j := range jobs {
		if q.Err() == nil {
			if _, err := j.w.Write(j.b); err != nil {
				q.mu.Lock()
				q.err = err
				q.mu.Unlock()
			}
		}
		if cap(j.b) <= q.keep {
			select {
			case q.free <- j.b[:0]:
			default:
			}
		}
	}
}

// Submit hands b over to be written to w, and returns an empty buffer to
// fill next: a recycled one, or nil when none is free. b must not be used
// after.
func (q *Queue) Submit(w io.Writer, b []byte) []byte {
	q.jobs <- job{w, b}
	select {
	case b = <-q.free:
		return b
	default:
		return nil
	}
}

// Err returns the first write error, if any.
func (q *Queue) Err() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.err
}

// Close waits for the queued writes and ends the goroutine; it returns
// the first write error. Calling it again only returns that error.
func (q *Queue) Close() error {
	if q.jobs != nil {
		close(q.jobs)
		q.jobs = nil
		<-q.done
	}
	return q.Err()
}

// Writer gathers writes into buffers of size bytes and writes each full
// one to w on a Queue of its own. Close writes the rest and must be
// called.
type Writer struct {
	q    *Queue
	w    io.Writer
	buf  []byte
	size int
}

// NewWriter returns a Writer to w with up to queued full buffers waiting.
func NewWriter(w io.Writer, size, queued int) *Writer {
	return &Writer{q: NewQueue(queued, queued+2, size), w: w, buf: make([]byte, 0, size), size: size}
}

// Write buffers p, handing over each buffer it fills (buffers never grow,
// so every one is recycled); it fails once a background write has failed.
func (w *Writer) Write(p []byte) (int, error) {
	if err := w.q.Err(); err != nil {
		return 0, err
	}
	n := len(p)
	for len(p) > 0 {
		k := copy(w.buf[len(w.buf):w.size], p)
		w.buf, p = w.buf[:len(w.buf)+k], p[k:]
		if len(w.buf) == w.size {
			if w.buf = w.q.Submit(w.w, w.buf); w.buf == nil {
				w.buf = make([]byte, 0, w.size)
			}
		}
	}
	return n, nil
}

// Close writes what is buffered, waits for the writes and returns the
// first error.
func (w *Writer) Close() error {
	if len(w.buf) > 0 && w.q.jobs != nil {
		w.q.Submit(w.w, w.buf)
		w.buf = nil
	}
	return w.q.Close()
}
