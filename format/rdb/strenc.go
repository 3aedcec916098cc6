package rdb

import (
	"encoding/binary"
	"math"
	"strconv"
)

// String encoding (rdb.md §3.2): a length, or 11xxxxxx followed by
// INT8/INT16/INT32 (little-endian, returned as decimal text) or LZF
// (clen, ulen, clen bytes).
const (
	encInt8  = 0
	encInt16 = 1
	encInt32 = 2
	encLZF   = 3
)

// lzfMaxRatio bounds ulen/clen: an LZF back-reference of 3 bytes expands to
// at most 264 bytes, so a larger declared output is a lie we refuse before
// allocating it.
const lzfMaxRatio = 90

// readString reads a string, reusing buf's storage when it is big enough
// (pass nil to get a fresh slice the caller may keep). It records where the
// payload started in d.strOff for blob error offsets.
func (d *Decoder) readString(buf []byte) ([]byte, error) {
	if s := &d.br; s.w-s.r >= 2 && !d.recording {
		// The common case, inlined: a raw string under 16 KiB whose length
		// and data are in the input window.
		hdr, n := 1, int(s.buf[s.r]&0x3F)
		switch s.buf[s.r] >> 6 {
		case len6:
		case len14:
			hdr, n = 2, n<<8|int(s.buf[s.r+1])
		default:
			n = -1
		}
		if n >= 0 && s.w-s.r-hdr >= n && uint64(n) <= d.lim.MaxStringLen {
			switch {
			case buf == nil && d.alloc != nil:
				buf = d.alloc(n)
			case cap(buf) < n:
				buf = make([]byte, n)
			}
			buf = buf[:n]
			copy(buf, s.buf[s.r+hdr:])
			s.r += hdr + n
			d.off += int64(hdr + n)
			d.strOff, d.strLZF = d.off-int64(n), false
			return buf, nil
		}
	}
	off := d.off
	n, enc, err := d.readLen()
	if err != nil {
		return nil, err
	}
	if enc {
		d.strOff, d.strLZF = d.off, false
		var v int64
		switch n {
		case encInt8:
			b, err := d.readByte()
			if err != nil {
				return nil, err
			}
			v = int64(int8(b))
		case encInt16:
			p, err := d.readFixed(2)
			if err != nil {
				return nil, err
			}
			v = int64(int16(binary.LittleEndian.Uint16(p)))
		case encInt32:
			p, err := d.readFixed(4)
			if err != nil {
				return nil, err
			}
			v = int64(int32(binary.LittleEndian.Uint32(p)))
		case encLZF:
			return d.readLZF(off, buf)
		default:
			return nil, d.fail(off, d.ctx, errCorrupt("unknown string encoding "+strconv.FormatUint(n, 10)))
		}
		if buf == nil && d.alloc != nil {
			return d.allocInt(v), nil
		}
		return appendInt(buf[:0], v), nil
	}
	if n > d.lim.MaxStringLen {
		return nil, d.fail(off, d.ctx, errLimit("string length", n, d.lim.MaxStringLen))
	}
	d.strOff, d.strLZF = d.off, false
	if buf == nil && d.alloc != nil && n <= maxChunk {
		buf = d.alloc(int(n))
	}
	return d.readBytes(n, buf)
}

// readLZF reads the rest of an LZF string whose header byte was at off,
// decompressing into buf's storage when it is big enough (like readString;
// nil gives a fresh slice).
func (d *Decoder) readLZF(off int64, buf []byte) ([]byte, error) {
	clen, err := d.readUint()
	if err != nil {
		return nil, err
	}
	ulen, err := d.readUint()
	if err != nil {
		return nil, err
	}
	if clen > d.lim.MaxStringLen {
		return nil, d.fail(off, d.ctx, errLimit("lzf compressed length", clen, d.lim.MaxStringLen))
	}
	if ulen > d.lim.MaxStringLen {
		return nil, d.fail(off, d.ctx, errLimit("lzf length", ulen, d.lim.MaxStringLen))
	}
	if clen == 0 || ulen/lzfMaxRatio > clen {
		return nil, d.fail(off, d.ctx, errCorrupt("impossible lzf lengths "+strconv.FormatUint(clen, 10)+"/"+strconv.FormatUint(ulen, 10)))
	}
	d.strOff, d.strLZF = d.off, false
	var in []byte
	if s := &d.br; clen <= uint64(s.w-s.r) && !d.recording {
		// Decompress straight from the input window (it stays put until
		// the next read), without copying the compressed bytes first.
		in = s.buf[s.r : s.r+int(clen) : s.r+int(clen)]
		s.r += int(clen)
		d.off += int64(clen)
	} else {
		if in, err = d.readBytes(clen, d.lzbuf); err != nil {
			return nil, err
		}
		d.lzbuf = in
	}
	if d.lzfCheckOnly {
		if err := lzfValidate(in, int(ulen)); err != nil {
			return nil, d.wrapInner(err, d.strOff, "lzf string")
		}
		d.strLZF = true
		return nil, nil
	}
	if buf == nil && d.alloc != nil && ulen <= maxChunk && ulen <= lzfMaxExpansion*clen {
		buf = d.alloc(int(ulen)) // bounded by input already read
	}
	out, err := lzfDecompressTo(buf, in, int(ulen))
	if err != nil {
		return nil, d.wrapInner(err, d.strOff, "lzf string")
	}
	// Offsets inside what came out can no longer be mapped to the file.
	d.strLZF = true
	return out, nil
}

// skipString consumes a string without materializing it.
func (d *Decoder) skipString() error {
	off := d.off
	n, enc, err := d.readLen()
	if err != nil {
		return err
	}
	if enc {
		switch n {
		case encInt8:
			return d.skip(1)
		case encInt16:
			return d.skip(2)
		case encInt32:
			return d.skip(4)
		case encLZF:
			clen, err := d.readUint()
			if err != nil {
				return err
			}
			if _, err := d.readUint(); err != nil {
				return err
			}
			if clen > d.lim.MaxStringLen {
				return d.fail(off, d.ctx, errLimit("lzf compressed length", clen, d.lim.MaxStringLen))
			}
			return d.skip(clen)
		}
		return d.fail(off, d.ctx, errCorrupt("unknown string encoding "+strconv.FormatUint(n, 10)))
	}
	if n > d.lim.MaxStringLen {
		return d.fail(off, d.ctx, errLimit("string length", n, d.lim.MaxStringLen))
	}
	return d.skip(n)
}

// peekStringEncoding reports how the next string is stored without
// consuming it (raw if it cannot tell).
func (d *Decoder) peekStringEncoding() Encoding {
	p, err := d.br.Peek(1)
	if err != nil || p[0]>>6 != lenEnc {
		return EncRaw
	}
	switch p[0] & 0x3F {
	case encInt8, encInt16, encInt32:
		return EncInt
	case encLZF:
		return EncLZF
	}
	return EncRaw
}

// readStringDouble reads a type-3 zset score: a length byte, 253/254/255
// for NaN/+Inf/-Inf, else that many bytes of %.17g text.
func (d *Decoder) readStringDouble() (float64, error) {
	off := d.off
	n, err := d.readByte()
	if err != nil {
		return 0, err
	}
	switch n {
	case 253:
		return math.NaN(), nil
	case 254:
		return math.Inf(1), nil
	case 255:
		return math.Inf(-1), nil
	}
	p := d.dbl[:n]
	if err := d.readFull(p); err != nil {
		return 0, err
	}
	f, ok := parseScore(p)
	if !ok {
		return 0, d.fail(off, d.ctx, errCorrupt("invalid score "+strconv.Quote(string(p))))
	}
	return f, nil
}

func (d *Decoder) readBinaryDouble() (float64, error) {
	v, err := d.readUint64LE()
	return math.Float64frombits(v), err
}
