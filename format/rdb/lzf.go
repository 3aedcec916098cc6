package rdb

import (
	"fmt"
	"math"
	"sync"
)

// LZF as used by Redis (liblzf 3.x, lzf_c.c / lzf_d.c), see encodings.md §7.

const (
	lzfMaxLit = 32                  // longest literal run
	lzfMaxOff = 1 << 13             // farthest back-reference
	lzfMaxRef = (1 << 8) + (1 << 3) // longest back-reference minus 2
	lzfHLog   = 16
	lzfHSize  = 1 << lzfHLog

	lzfMaxExpansion = (lzfMaxRef + 2) / 3 // output bytes per input byte, at most
)

// lzfDecompress inflates in into exactly outLen bytes, mirroring
// lzf_decompress' bounds checks plus Redis' rule that the result must be
// exactly the declared length. The caller checks outLen against its limits
// before calling; outLen bytes are allocated up front, but only after
// checking that in could possibly expand to that size (at most 88x). Errors are
// *FormatError with Offset relative to the start of in, wrapping ErrCorrupt.
func lzfDecompress(in []byte, outLen int) ([]byte, error) {
	return lzfDecompressTo(nil, in, outLen)
}

// lzfDecompressTo is lzfDecompress writing into dst's storage when it can
// hold outLen bytes (a fresh slice otherwise, or when dst is nil).
func lzfDecompressTo(dst, in []byte, outLen int) ([]byte, error) {
	return lzfRun(dst, in, outLen, true)
}

// lzfValidate runs lzfDecompressTo's checks, with the same errors, without
// writing the output: enough to know that a string would load (check spent
// a quarter of its decoding time on a file of compressed strings writing
// output nobody reads).
func lzfValidate(in []byte, outLen int) error {
	_, err := lzfRun(nil, in, outLen, false)
	return err
}

// lzfRun decodes in, checking every token against outLen; only with write
// does it produce the output (o counts its bytes either way).
func lzfRun(dst, in []byte, outLen int, write bool) ([]byte, error) {
	if outLen < 0 {
		return nil, lzfErr(0, "negative output length")
	}
	if outLen == 0 {
		// Redis checks lzf_decompress(...) != ulen, and lzf_decompress
		// returns 0 on error, so a declared length of 0 loads as the empty
		// string whatever the compressed bytes are.
		if dst != nil {
			return dst[:0], nil
		}
		return []byte{}, nil
	}
	// One 3-byte chunk yields at most 264 bytes, so a larger claim cannot be
	// met: refuse it before allocating anything.
	if uint64(outLen) > lzfMaxExpansion*uint64(len(in)) {
		return nil, lzfErr(0, fmt.Sprintf("declared length %d impossible for %d input bytes", outLen, len(in)))
	}
	var out []byte
	if write {
		out = dst[:0]
		if cap(dst) < outLen {
			out = make([]byte, 0, outLen)
		}
	}
	o, ip := 0, 0
	for ip < len(in) {
		start := ip
		c := int(in[ip])
		ip++
		if c < 32 {
			n := c + 1
			if o+n > outLen {
				return nil, lzfErr(start, "literal run overflows declared length")
			}
			if ip+n > len(in) {
				return nil, lzfErr(start, "truncated literal run")
			}
			if write {
				out = append(out, in[ip:ip+n]...)
			}
			o += n
			ip += n
			continue
		}
		n := c >> 5
		if ip >= len(in) {
			return nil, lzfErr(start, "truncated back-reference")
		}
		if n == 7 {
			n += int(in[ip])
			ip++
			if ip >= len(in) {
				return nil, lzfErr(start, "truncated back-reference")
			}
		}
		ref := o - (c&0x1F)<<8 - 1 - int(in[ip])
		ip++
		if o+n+2 > outLen {
			return nil, lzfErr(start, "back-reference overflows declared length")
		}
		if ref < 0 {
			return nil, lzfErr(start, "back-reference before start of output")
		}
		o += n + 2
		if !write {
			continue
		}
		if ref+n+2 <= len(out) {
			out = append(out, out[ref:ref+n+2]...)
		} else {
			// Overlapping (distance < length): the run repeats the last
			// dist bytes, so copy dist bytes at a time (the bytes
			// written by one step are the source of the next), not byte
			// by byte. out has room: cap >= outLen was checked above.
			pos, total := len(out), n+2
			out = out[:pos+total]
			for i := 0; i < total; {
				i += copy(out[pos+i:], out[ref+i:pos+i])
			}
		}
	}
	if o != outLen {
		return nil, lzfErr(len(in), fmt.Sprintf("decompressed %d bytes, declared %d", o, outLen))
	}
	return out, nil
}

func lzfErr(off int, msg string) error {
	return &FormatError{Offset: int64(off), Context: "lzf", Err: fmt.Errorf("%s: %w", msg, ErrCorrupt)}
}

// lzfCompress returns the LZF form of in as Redis' rdbSaveLzfStringObject
// would store it, or nil when Redis stores the string plain: Redis only tries
// strings longer than 20 bytes (rdbSaveRawString) and gives lzf_compress an
// output buffer of len(in)-4 bytes, so compression is kept only when
// lzf_compress succeeds within that buffer: it saves at least 4 bytes, and
// since liblzf's in-loop space checks are conservative, an output that would
// just fit can still be refused (the string is then stored plain, as Redis
// does). Integer-encodable strings are the caller's concern.
func lzfCompress(in []byte) []byte {
	if len(in) <= 20 {
		return nil
	}
	return lzfCompressLimit(in, len(in)-4)
}

// lzfCompressLimit is lzf_compress (VERY_FAST, HLOG 16, fresh hash table)
// with an output buffer of outLen bytes; it returns nil where lzf_compress
// returns 0 (empty input or output does not fit in outLen).
func lzfCompressLimit(in []byte, outLen int) []byte {
	inLen := len(in)
	if inLen == 0 || outLen <= 0 || uint64(inLen) > math.MaxUint32 {
		return nil // positions must fit the 32-bit hash slots
	}
	st := lzfStatePool.Get().(*lzfState)
	defer lzfStatePool.Put(st)
	st.gen++
	if st.gen == 0 { // wrapped: stale stamps could look current
		clear(st.htab[:])
		st.gen = 1
	}
	htab, gen := &st.htab, uint64(st.gen)<<32
	// Three bytes of slack: liblzf may reserve a run header at out_end, and
	// the exact C checks below decide failure, not the slice length.
	out := make([]byte, outLen+3)
	op, lit, ip := 1, 0, 0
	idx := func(h uint32) uint32 { return (h>>8 - h*5) & (lzfHSize - 1) }
	var h uint32
	if inLen >= 2 {
		h = uint32(in[0])<<8 | uint32(in[1])
	}
	for ip < inLen-2 {
		h = h<<8 | uint32(in[ip+2])
		slot := idx(h)
		ref := -1
		if v := htab[slot]; v>>32 == gen>>32 {
			ref = int(uint32(v))
		}
		htab[slot] = gen | uint64(ip)
		off := ip - ref - 1
		if ref > 0 && off < lzfMaxOff &&
			in[ref+2] == in[ip+2] && in[ref] == in[ip] && in[ref+1] == in[ip+1] {
			l := 2
			maxlen := min(inLen-ip-l, lzfMaxRef)
			if op+3+1 >= outLen {
				d := 0
				if lit == 0 {
					d = 1
				}
				if op-d+3+1 >= outLen {
					return nil
				}
			}
			out[op-lit-1] = byte(lit - 1) // close the literal run
			if lit == 0 {
				op-- // drop the empty run header
			}
			matched := false
			if maxlen > 16 {
				matched = true
				for range 16 {
					l++
					if in[ref+l] != in[ip+l] {
						matched = false
						break
					}
				}
			}
			if maxlen <= 16 || matched {
				for {
					l++
					if !(l < maxlen && in[ref+l] == in[ip+l]) {
						break
					}
				}
			}
			l -= 2 // the copy length is stored minus 2
			ip++
			if l < 7 {
				out[op] = byte(off>>8 + l<<5)
				op++
			} else {
				out[op] = byte(off>>8 + 7<<5)
				out[op+1] = byte(l - 7)
				op += 2
			}
			out[op] = byte(off)
			op++
			lit = 0
			op++ // reserve the next run header
			ip += l + 1
			if ip >= inLen-2 {
				break
			}
			ip -= 2
			h = uint32(in[ip])<<8 | uint32(in[ip+1])
			h = h<<8 | uint32(in[ip+2])
			htab[idx(h)] = gen | uint64(ip)
			ip++
			h = h<<8 | uint32(in[ip+2])
			htab[idx(h)] = gen | uint64(ip)
			ip++
		} else {
			if op >= outLen {
				return nil
			}
			lit++
			out[op] = in[ip]
			op++
			ip++
			if lit == lzfMaxLit {
				out[op-lit-1] = byte(lit - 1)
				lit = 0
				op++
			}
		}
	}
	if op+3 > outLen {
		return nil
	}
	for ip < inLen {
		lit++
		out[op] = in[ip]
		op++
		ip++
		if lit == lzfMaxLit {
			out[op-lit-1] = byte(lit - 1)
			lit = 0
			op++
		}
	}
	out[op-lit-1] = byte(lit - 1)
	if lit == 0 {
		op--
	}
	return out[:op]
}

// lzfState is the compressor's hash table. liblzf as built by Redis leaves
// it uninitialized, but output must not depend on earlier calls, so every
// slot is stamped with the call's generation and older stamps read as empty:
// a fresh table without clearing 512 KiB per call (most RDB strings are
// short). Position 0 can never be a match source (liblzf wants ref > 0).
type lzfState struct {
	gen  uint32
	htab [lzfHSize]uint64 // gen<<32 | input position
}

var lzfStatePool = sync.Pool{New: func() any { return new(lzfState) }}
