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
//   - in-memory input (it has Len, like *bytes.Reader): the decoder's own
//     buffer, refilled and checksummed synchronously;
//   - any other reader (a file, a pipe, a counting wrapper): chunks of
//     1 MiB in two recycled buffers, and a goroutine computes the CRC-64 of
//     each chunk while the decoder parses it. The reader itself is only
//     called from the caller's goroutine, so wrappers that count bytes for
//     progress need no locking.
//
// The CRC-64 is kept in bulk: crc covers every consumed byte before
// buf[crcAt], and buf[crcAt:r] is added at each refill and at the footer,
// instead of feeding the CRC per small read (which cost 14% of a check).
// With the checksum goroutine, crc is brought up to the start of the
// current chunk only at the footer (crcNow).
//
// Errors from the underlying reader surface as with a bufio.Reader: after
// the data that came with them, once; a later refill reads again.
type source struct {
	buf   []byte
	r, w  int
	crcAt int
	crc   uint64

	rd  io.Reader     // own buffer(s), refilled synchronously from rd
	bio *bufio.Reader // the caller's reader; buf is a view of its buffer
	cw  *crcWorker    // checksums rd's chunks in the background
	err error         // held back until buf's data is consumed

	// With cw: chunks are numbered in read order; sent of them went to
	// the worker, done came back (crc then covers chunks [0, done)).
	sent, done int
	curSent    bool     // buf (chunk sent-1) went to the worker
	bufs       [][]byte // buffers not in use
	made       int
}

// maxEmptyReads is how many (0, nil) reads in a row give io.ErrNoProgress,
// as in bufio.
const maxEmptyReads = 100

// errBadRead is returned when a reader reports more bytes than it was given
// room for (or a negative count); bufio panics there.
var errBadRead = errors.New("rdb: reader returned an invalid count")

// crcNow is the CRC-64 of every byte consumed so far.
func (s *source) crcNow() uint64 {
	if s.cw != nil {
		// Wait for the chunks before the current one.
		last := s.sent
		if s.curSent {
			last--
		}
		for s.done < last {
			s.collect()
		}
	}
	return CRC64(s.crc, s.buf[s.crcAt:s.r])
}

// fill makes more input available once the window is used up (r == w). It
// returns an error only when no byte could be had.
func (s *source) fill() error {
	switch {
	case s.cw != nil:
		return s.nextChunk()
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
// was consumed back to the caller's *bufio.Reader, or stops the checksum
// goroutine.
func (s *source) release() {
	switch {
	case s.cw != nil:
		s.cw.stop()
		s.cw = nil
		s.bufs = nil
	case s.bio != nil:
		if s.r > 0 {
			s.crc = s.crcNow()
			s.bio.Discard(s.r)
			s.buf, _ = s.bio.Peek(s.bio.Buffered())
			s.r, s.w, s.crcAt = 0, len(s.buf), 0
		}
	}
}

// Checksum goroutine.

const (
	cwChunkSize = 1 << 20 // a read of at least a caller's 1 MiB bufio goes straight through it
	cwBuffers   = 2       // one parsed (and checksummed), one checksummed or free
)

// crcWorker checksums chunks in order. It holds no reference to the
// Decoder, so an abandoned Decoder can be collected and its cleanup stop
// the goroutine.
type crcWorker struct {
	in   chan []byte  // chunks to checksum, in input order
	out  chan cwChunk // the same chunks back, with the CRC-64 through them
	done chan struct{}
	once sync.Once
}

type cwChunk struct {
	buf []byte
	crc uint64
}

func startCRCWorker() *crcWorker {
	w := &crcWorker{
		in:   make(chan []byte, cwBuffers),
		out:  make(chan cwChunk, cwBuffers),
		done: make(chan struct{}),
	}
	go w.run()
	return w
}

func (w *crcWorker) stop() { w.once.Do(func() { close(w.done) }) }

func (w *crcWorker) run() {
	var crc uint64
	for {
		select {
		case b := <-w.in:
			// The decoder parses b meanwhile; both only read it.
			crc = CRC64(crc, b)
			w.out <- cwChunk{b, crc} // never blocks: at most cwBuffers exist
		case <-w.done:
			return
		}
	}
}

// collect takes the oldest chunk back from the worker.
func (s *source) collect() {
	c := <-s.cw.out
	s.crc, s.crcAt = c.crc, 0
	s.done++
	s.bufs = append(s.bufs, c.buf[:cap(c.buf)])
}

// nextChunk reads the next chunk into a free buffer and hands it to the
// worker.
func (s *source) nextChunk() error {
	if s.err != nil {
		return s.read()
	}
	var b []byte
	switch {
	case s.buf != nil && !s.curSent:
		b = s.buf[:cap(s.buf)] // the last read gave nothing
	case len(s.bufs) > 0:
		b, s.bufs = s.bufs[len(s.bufs)-1], s.bufs[:len(s.bufs)-1]
	case s.made < cwBuffers:
		b = make([]byte, cwChunkSize)
		s.made++
	default:
		s.collect()
		b, s.bufs = s.bufs[len(s.bufs)-1], s.bufs[:len(s.bufs)-1]
	}
	s.buf, s.r, s.w, s.curSent = b, 0, 0, false
	err := s.read()
	if s.w > 0 {
		s.cw.in <- b[:s.w] // never blocks, as out
		s.sent++
		s.curSent = true
	}
	return err
}
