package rdb

import (
	"bufio"
	"errors"
	"io"
	"sync"
)

// The decoder's input. A source is a window buf[r:w] of unread bytes that
// the decoder consumes directly (readByte, readFull, skip in length.go),
// refilled in one of three ways:
//
//   - the caller's *bufio.Reader: the window is a view of its buffer
//     (Peek), and what was consumed is Discarded at each refill, at the
//     footer and on error, so the caller's reader ends exactly after the
//     checksum (an AOF reader goes on after an RDB preamble);
//   - in-memory input (it has Len, like *bytes.Reader), or any other reader
//     without ConcurrentCRC: the decoder's own buffer, refilled and
//     checksummed synchronously;
//   - any other reader with ConcurrentCRC (a file, a pipe, a counting
//     wrapper): a goroutine (readAhead) reads chunks of up to 1 MiB into a
//     few recycled buffers and computes their CRC-64 while the decoder
//     parses earlier chunks. The reader is then called only from that
//     goroutine, one call at a time, never from the caller's: wrappers
//     that count bytes for progress must make the count safe to read
//     from another goroutine (internal/cli.CountingReader is atomic);
//   - fixed: the caller's memory (a ValueDecoder's data), never written
//     to; once it is used up, reading goes on from rd, if any, into a
//     buffer of the source's own (no checksum: a ValueDecoder has none).
//
// The CRC-64 is kept in bulk: crc covers every consumed byte before
// buf[crcAt], and buf[crcAt:r] is added at each refill and at the footer,
// instead of feeding the CRC per small read (which cost 14% of a check).
// With readAhead, each chunk comes with the CRC-64 of the input before it.
//
// Errors from the underlying reader surface as with a bufio.Reader: after
// the data that came with them, once; a later refill reads again (readAhead
// does not read past an error until the decoder asks for more).
type source struct {
	buf   []byte
	r, w  int
	crcAt int
	crc   uint64

	rd  io.Reader     // own buffer, refilled synchronously from rd
	bio *bufio.Reader // the caller's reader; buf is a view of its buffer
	ra  *readAhead    // reads and checksums chunks in the background
	err error         // held back until buf's data is consumed

	// With ra: the last chunk came with an error, so ra waits to be
	// resumed before reading again.
	paused bool
	// ra was stopped (footer, sticky error, Close): nothing is read again.
	stopped bool

	fixed bool   // buf is the caller's memory (see above)
	own   []byte // the buffer rd is read into after fixed memory
}

// maxEmptyReads is how many (0, nil) reads in a row give io.ErrNoProgress,
// as in bufio.
const maxEmptyReads = 100

// errBadRead is returned when a reader reports more bytes than it was given
// room for (or a negative count); bufio panics there.
var errBadRead = errors.New("rdb: reader returned an invalid count")

// crcNow is the CRC-64 of every byte consumed so far.
func (s *source) crcNow() uint64 {
	return CRC64(s.crc, s.buf[s.crcAt:s.r])
}

// fill makes more input available once the window is used up (r == w). It
// returns an error only when no byte could be had.
func (s *source) fill() error {
	switch {
	case s.ra != nil:
		return s.nextChunk()
	case s.stopped:
		return errClosed // not reached: the decoder's error is sticky by then
	case s.fixed:
		if s.rd == nil {
			return io.EOF
		}
		s.fixed = false
		if s.own == nil {
			s.own = make([]byte, readerSize)
		}
		s.buf, s.r, s.w, s.crcAt = s.own, 0, 0, 0
		return s.read()
	case s.bio != nil:
		s.crc = s.crcNow()
		s.bio.Discard(s.r) // cannot fail: r <= Buffered
		_, err := s.bio.Peek(1)
		s.buf, _ = s.bio.Peek(s.bio.Buffered())
		s.r, s.w, s.crcAt = 0, len(s.buf), 0
		if s.w == 0 {
			return err
		}
		return nil
	}
	s.crc = s.crcNow()
	s.w = copy(s.buf, s.buf[s.r:s.w])
	s.r, s.crcAt = 0, 0
	return s.read()
}

// read appends to buf[w:] what one read of rd gives, holding back an error
// that came with data.
func (s *source) read() error {
	if s.err != nil {
		err := s.err
		s.err = nil
		return err
	}
	n, err := readSome(s.rd, s.buf[s.w:])
	s.w += n
	if err != nil {
		if s.w > s.r {
			s.err = err
			return nil
		}
		return err
	}
	return nil
}

// readSome reads at least one byte into p unless it fails: one Read, or
// up to maxEmptyReads while they return nothing.
func readSome(rd io.Reader, p []byte) (int, error) {
	for range maxEmptyReads {
		n, err := rd.Read(p)
		if n < 0 || n > len(p) {
			return 0, errBadRead
		}
		if n > 0 || err != nil {
			return n, err
		}
	}
	return 0, io.ErrNoProgress
}

// Peek returns the next n bytes without consuming them (the decoder only
// peeks 1). Like bufio.Reader.Peek, an error it returns is not kept.
func (s *source) Peek(n int) ([]byte, error) {
	if s.w-s.r < n && s.r == s.w {
		if err := s.fill(); err != nil {
			return nil, err
		}
	}
	if s.w-s.r < n {
		return s.buf[s.r:s.w], bufio.ErrBufferFull
	}
	return s.buf[s.r : s.r+n], nil
}

// release ends reading at the footer or on a sticky error: it hands what
// was consumed back to the caller's *bufio.Reader, or stops the read-ahead
// goroutine.
func (s *source) release() {
	switch {
	case s.ra != nil:
		s.ra.stop()
		s.ra, s.stopped = nil, true
	case s.bio != nil:
		if s.r > 0 {
			s.crc = s.crcNow()
			s.bio.Discard(s.r)
			s.buf, _ = s.bio.Peek(s.bio.Buffered())
			s.r, s.w, s.crcAt = 0, len(s.buf), 0
		}
	}
}

// Read-ahead goroutine.

const (
	raChunkSize = 1 << 20 // a read of at least a caller's 1 MiB bufio goes straight through it
	// raBuffers bounds the memory: one chunk being parsed, one being read
	// and checksummed, one ready (reading and checksumming a chunk takes a
	// fraction of parsing it; each buffer more is live heap, which the
	// garbage collector doubles in its goal).
	raBuffers = 3
)

// readAhead reads the input into chunks and checksums them, in order, on
// its own goroutine. It holds no reference to the Decoder, so an abandoned
// Decoder can be collected and its cleanup stop the goroutine.
type readAhead struct {
	rd     io.Reader
	free   chan []byte   // buffers the decoder is done with
	out    chan raChunk  // chunks read, in input order
	resume chan struct{} // after a chunk with an error: read again
	done   chan struct{}
	once   sync.Once
}

// raChunk is one read's result.
type raChunk struct {
	buf []byte // the bytes read; empty only with err
	crc uint64 // CRC-64 of the input before buf
	err error  // what came with buf
}

func startReadAhead(rd io.Reader) *readAhead {
	w := &readAhead{
		rd:     rd,
		free:   make(chan []byte, raBuffers),
		out:    make(chan raChunk, raBuffers),
		resume: make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	go w.run()
	return w
}

// stop ends the goroutine. It does not wait: a read in progress (which
// may block, on a pipe) finishes in the background and its result is
// dropped; no read starts after the goroutine sees done.
func (w *readAhead) stop() { w.once.Do(func() { close(w.done) }) }

func (w *readAhead) run() {
	var crc uint64
	made := 0 // buffers are allocated as needed: a small file uses one or two
	for {
		select {
		case <-w.done:
			return
		default:
		}
		var b []byte
		select {
		case b = <-w.free:
		default:
			if made < raBuffers {
				b = make([]byte, raChunkSize)
				made++
			} else {
				select {
				case b = <-w.free:
				case <-w.done:
					return
				}
			}
		}
		n, err := readSome(w.rd, b)
		// Never blocks: out has room for every buffer. The decoder parses
		// b meanwhile; both only read it.
		w.out <- raChunk{b[:n], crc, err}
		crc = CRC64(crc, b[:n])
		if err != nil {
			// As with a bufio.Reader, the input is read again only when the
			// decoder needs more (a transient error may be swallowed).
			select {
			case <-w.resume:
			case <-w.done:
				return
			}
		}
	}
}

// nextChunk gives the consumed chunk's buffer back and takes the next
// chunk from the read-ahead goroutine.
func (s *source) nextChunk() error {
	if s.err != nil {
		err := s.err
		s.err = nil
		return err
	}
	if s.paused {
		s.paused = false
		s.ra.resume <- struct{}{} // never blocks: one pause at a time
	}
	if s.buf != nil {
		s.ra.free <- s.buf[:cap(s.buf)] // never blocks, as out
		s.buf = nil
	}
	c := <-s.ra.out
	s.buf, s.r, s.w = c.buf, 0, len(c.buf)
	s.crc, s.crcAt = c.crc, 0
	if c.err != nil {
		s.paused = true
		if s.w > 0 {
			s.err = c.err
			return nil
		}
		return c.err
	}
	return nil
}
