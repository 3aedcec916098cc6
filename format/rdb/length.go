package rdb

import (
	"encoding/binary"
	"io"
	"strconv"
)

// Byte-level input. Every consumed byte passes through these functions, which
// count the offset and, while d.recording is set, append the raw bytes to
// d.rec (module opcode streams are kept byte-exact). They consume from the
// window of a source (see source.go), which also keeps the CRC-64: in bulk
// over large spans, not per read.

// maxChunk bounds how much a single read allocates ahead of the data
// actually arriving: a lying length costs at most what the file contains.
const maxChunk = 1 << 20

// fail builds the decoder's error type at off, naming the current key.
func (d *Decoder) fail(off int64, ctx string, err error) error {
	return &FormatError{Offset: off, Context: ctx, Key: d.curKey, Err: err}
}

// ioErr turns a short read into io.ErrUnexpectedEOF at the current offset.
func (d *Decoder) ioErr(err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return d.fail(d.off, d.ctx, err)
}

func (d *Decoder) record(p []byte) {
	if uint64(len(d.rec)+len(p)) > d.lim.MaxRawLen {
		if d.recErr == nil {
			d.recErr = d.fail(d.off, d.ctx, errLimit("raw module data", uint64(len(d.rec)+len(p)), d.lim.MaxRawLen))
		}
		return
	}
	d.rec = append(d.rec, p...)
}

func (d *Decoder) readByte() (byte, error) {
	s := &d.br
	if s.r >= s.w {
		if err := s.fill(); err != nil {
			return 0, d.ioErr(err)
		}
	}
	b := s.buf[s.r]
	s.r++
	d.off++
	if d.recording {
		d.record(s.buf[s.r-1 : s.r])
	}
	return b, nil
}

// readFull fills p. On a short read the bytes that did arrive count as
// consumed and the error is at the offset after them.
func (d *Decoder) readFull(p []byte) error {
	s := &d.br
	for len(p) > 0 {
		if s.r >= s.w {
			if err := s.fill(); err != nil {
				return d.ioErr(err)
			}
		}
		n := copy(p, s.buf[s.r:s.w])
		s.r += n
		d.off += int64(n)
		if d.recording {
			d.record(p[:n])
		}
		p = p[n:]
	}
	return nil
}

// readFixed reads n <= 16 bytes into the decoder's scratch array; the
// result is valid until the next read.
func (d *Decoder) readFixed(n int) ([]byte, error) {
	s := &d.br
	if s.w-s.r >= n && !d.recording {
		// The common case: no copy, the window holds all n bytes. The
		// slice is only read before the next read, like d.tmp.
		p := s.buf[s.r : s.r+n : s.r+n]
		s.r += n
		d.off += int64(n)
		return p, nil
	}
	p := d.tmp[:n]
	return p, d.readFull(p)
}

func (d *Decoder) readUint64LE() (uint64, error) {
	p, err := d.readFixed(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(p), nil
}

// readBytes reads n bytes into buf's storage (reallocated when too small).
// Beyond maxChunk the buffer grows as data arrives, never by n up front.
func (d *Decoder) readBytes(n uint64, buf []byte) ([]byte, error) {
	if n <= uint64(cap(buf)) || n <= maxChunk {
		if uint64(cap(buf)) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		return buf, d.readFull(buf)
	}
	buf = buf[:0]
	for uint64(len(buf)) < n {
		c := min(n-uint64(len(buf)), uint64(max(len(buf), maxChunk)))
		old := len(buf)
		if uint64(cap(buf)-old) < c {
			nb := make([]byte, old, uint64(old)+c)
			copy(nb, buf)
			buf = nb
		}
		buf = buf[:old+int(c)]
		if err := d.readFull(buf[old:]); err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// skip consumes n bytes without keeping them (they still feed the CRC).
func (d *Decoder) skip(n uint64) error {
	s := &d.br
	for n > 0 {
		if s.r >= s.w {
			if err := s.fill(); err != nil {
				return d.ioErr(err)
			}
		}
		k := uint64(s.w - s.r)
		if k > n {
			k = n
		}
		if d.recording {
			d.record(s.buf[s.r : s.r+int(k)])
		}
		s.r += int(k)
		d.off += int64(k)
		n -= k
	}
	return nil
}

// Length encoding (rdb.md §3.1): the top two bits of the first byte pick
// 6-bit, 14-bit, or 32/64-bit big-endian (htonl, unlike the little-endian
// ints inside blobs); 11xxxxxx marks a special string encoding.
const (
	len6   = 0
	len14  = 1
	len32  = 0x80
	len64  = 0x81
	lenEnc = 3
)

// readLen reads a length. enc reports the 11xxxxxx form, where n is the
// 6-bit encoding type.
func (d *Decoder) readLen() (n uint64, enc bool, err error) {
	b, err := d.readByte()
	if err != nil {
		return 0, false, err
	}
	switch b >> 6 {
	case len6:
		return uint64(b & 0x3F), false, nil
	case len14:
		b2, err := d.readByte()
		if err != nil {
			return 0, false, err
		}
		return uint64(b&0x3F)<<8 | uint64(b2), false, nil
	case lenEnc:
		return uint64(b & 0x3F), true, nil
	}
	switch b {
	case len32:
		p, err := d.readFixed(4)
		if err != nil {
			return 0, false, err
		}
		return uint64(binary.BigEndian.Uint32(p)), false, nil
	case len64:
		p, err := d.readFixed(8)
		if err != nil {
			return 0, false, err
		}
		return binary.BigEndian.Uint64(p), false, nil
	}
	return 0, false, d.fail(d.off-1, d.ctx, errCorrupt("unknown length encoding"))
}

// readUint reads a length used as a plain number (db, counters, IDs).
func (d *Decoder) readUint() (uint64, error) {
	off := d.off
	n, enc, err := d.readLen()
	if err == nil && enc {
		err = d.fail(off, d.ctx, errCorrupt("encoded string where a length is expected"))
	}
	return n, err
}

// readCount reads an element count and checks it against MaxElements.
func (d *Decoder) readCount() (uint64, error) {
	off := d.off
	n, err := d.readUint()
	if err != nil {
		return 0, err
	}
	if n > d.lim.MaxElements {
		return 0, d.fail(off, d.ctx, errLimit("element count", n, d.lim.MaxElements))
	}
	return n, nil
}

// capHint caps an up-front capacity taken from an untrusted count.
func capHint(n uint64) int {
	return int(min(n, 1024))
}

// causeError is a message with a sentinel cause (ErrCorrupt, ErrLimit, ...)
// for errors.Is; the message alone is shown.
type causeError struct {
	msg   string
	cause error
}

func (e *causeError) Error() string { return e.msg }
func (e *causeError) Unwrap() error { return e.cause }

func errCorrupt(msg string) error { return &causeError{msg, ErrCorrupt} }

func errUnsupported(msg string) error { return &causeError{msg + " (unsupported)", ErrUnsupported} }

func errLimit(what string, n, max uint64) error {
	return &causeError{what + " " + strconv.FormatUint(n, 10) + " exceeds limit " + strconv.FormatUint(max, 10), ErrLimit}
}
