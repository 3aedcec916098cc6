package rdb

import (
	"encoding/binary"
	"math"
)

// Listpack (listpack.c), encodings.md §2.

const (
	lpHdrSize       = 6
	lpNumeleUnknown = 65535
	lpEOF           = 0xFF
)

// walkListpack validates blob like lpValidateIntegrity(deep) and calls fn
// for every element. It returns the number of elements walked.
func walkListpack(blob []byte, fn func(i int, e blobEntry) error) (int, error) {
	const ctx = "listpack header"
	if err := listpackHeader(blob, blobErr); err != nil {
		return 0, err
	}
	numele := int(binary.LittleEndian.Uint16(blob[4:]))
	end := len(blob) - 1 // offset of the terminator
	p, n := lpHdrSize, 0
	for p < end {
		// Fast path for the common small entries, a 7-bit uint or a
		// string of up to 63 bytes: encoding+data is l <= 64 bytes, so
		// the backlen is the single byte l (what lpEntryAt checks).
		if b0 := blob[p]; b0 < 0xC0 {
			l := 1
			if b0 >= 0x80 {
				l += int(b0 & 0x3F)
			}
			if p+l < end && blob[p+l] == byte(l) {
				var e blobEntry
				if b0 < 0x80 {
					e = blobEntry{Int: int64(b0), IsInt: true}
				} else {
					e.Str = blob[p+1 : p+l : p+l]
				}
				if err := fn(n, e); err != nil {
					return n, err
				}
				p += l + 1
				n++
				continue
			}
		}
		e, size, err := lpEntryAt(blob, p, end, n)
		if err != nil {
			return n, err
		}
		if err := fn(n, e); err != nil {
			return n, err
		}
		p += size
		n++
	}
	if p != end {
		// An entry stopped on a 0xFF before the terminator.
		return n, blobErr(p, entryContext("listpack", n), "terminator before the end of the listpack")
	}
	if numele != lpNumeleUnknown && numele != n {
		return n, blobErr(4, ctx, "header counts %d elements, found %d", numele, n)
	}
	return n, nil
}

// listpackHeader checks what walkListpack checks before the entries: the
// size, the total-bytes field and the terminator.
func listpackHeader(blob []byte, fail headerFail) error {
	const ctx = "listpack header"
	if len(blob) < lpHdrSize+1 {
		return fail(0, ctx, "listpack of %d bytes is shorter than its header", len(blob))
	}
	if total := binary.LittleEndian.Uint32(blob); uint64(total) != uint64(len(blob)) {
		return fail(0, ctx, "total bytes %d, blob has %d", total, len(blob))
	}
	if blob[len(blob)-1] != lpEOF {
		return fail(len(blob)-1, ctx, "missing terminator")
	}
	return nil
}

// lpEntryAt decodes the entry at blob[p:], which must end (backlen included)
// at or before end, the offset of the terminator. It returns the element and
// the entry size including its backlen.
func lpEntryAt(blob []byte, p, end, i int) (blobEntry, int, error) {
	b0 := blob[p]
	var e blobEntry
	var hdr int    // encoding bytes
	var dlen int64 // data bytes after the encoding
	avail := int64(end - p)
	switch {
	case b0 < 0x80: // 7-bit uint
		e.Int, e.IsInt = int64(b0), true
		hdr = 1
	case b0 < 0xC0: // 6-bit string length
		hdr, dlen = 1, int64(b0&0x3F)
	case b0 < 0xE0: // 13-bit int
		hdr = 2
	case b0 < 0xF0: // 12-bit string length
		hdr = 2
		if avail >= 2 {
			dlen = int64(b0&0x0F)<<8 | int64(blob[p+1])
		}
	case b0 == 0xF0: // 32-bit string length
		hdr = 5
		if avail >= 5 {
			dlen = int64(binary.LittleEndian.Uint32(blob[p+1:]))
		}
	case b0 == 0xF1:
		hdr = 3
	case b0 == 0xF2:
		hdr = 4
	case b0 == 0xF3:
		hdr = 5
	case b0 == 0xF4:
		hdr = 9
	case b0 == lpEOF:
		return e, 0, blobErr(p, entryContext("listpack", i), "terminator before the end of the listpack")
	default:
		return e, 0, blobErr(p, entryContext("listpack", i), "invalid encoding byte %#02x", b0)
	}
	l := int64(hdr) + dlen // encoding+data size, what backlen stores
	bl := lpBacklenSize(uint64(l))
	if int64(hdr) > avail || l+int64(bl) > avail {
		return e, 0, blobErr(p, entryContext("listpack", i), "entry of %d bytes overflows the listpack", l+int64(bl))
	}
	size := int(l) + bl
	if got, ok := lpDecodeBacklen(blob, p+size-1); !ok || got != uint64(l) {
		return e, 0, blobErr(p+int(l), entryContext("listpack", i), "backlen does not match entry size %d", l)
	}
	d := blob[p+1 : p+hdr] // integer payload, little-endian
	switch {
	case b0 < 0x80:
	case b0 < 0xC0, b0 >= 0xE0 && b0 <= 0xF0:
		e.Str = blob[p+hdr : p+int(l) : p+int(l)]
	case b0 < 0xE0:
		u := int64(b0&0x1F)<<8 | int64(blob[p+1])
		if u >= 1<<12 {
			u -= 1 << 13
		}
		e.Int, e.IsInt = u, true
	case b0 == 0xF1:
		e.Int, e.IsInt = int64(int16(binary.LittleEndian.Uint16(d))), true
	case b0 == 0xF2:
		u := int32(uint32(d[0])|uint32(d[1])<<8|uint32(d[2])<<16) << 8 >> 8
		e.Int, e.IsInt = int64(u), true
	case b0 == 0xF3:
		e.Int, e.IsInt = int64(int32(binary.LittleEndian.Uint32(d))), true
	case b0 == 0xF4:
		e.Int, e.IsInt = int64(binary.LittleEndian.Uint64(d)), true
	}
	return e, size, nil
}

// lpBacklenSize is how many bytes lpEncodeBacklen uses for l; note the odd
// bounds (2^14-1 already takes 3 bytes).
func lpBacklenSize(l uint64) int {
	switch {
	case l <= 127:
		return 1
	case l < 16383:
		return 2
	case l < 2097151:
		return 3
	case l < 268435455:
		return 4
	}
	return 5
}

// lpDecodeBacklen reads a backlen backwards from blob[last], like
// lpDecodeBacklen: 7 bits per byte, stop at a byte with bit 7 clear, at most
// 5 bytes. Like Redis it may read into the header when a corrupt backlen
// keeps bit 7 set, but never before the blob.
func lpDecodeBacklen(blob []byte, last int) (uint64, bool) {
	var v uint64
	shift := 0
	for p := last; p >= 0; p-- {
		v |= uint64(blob[p]&127) << shift
		if blob[p]&128 == 0 {
			return v, true
		}
		shift += 7
		if shift > 28 {
			return 0, false
		}
	}
	return 0, false
}

func lpAppendBacklen(dst []byte, l uint64) []byte {
	switch lpBacklenSize(l) {
	case 1:
		return append(dst, byte(l))
	case 2:
		return append(dst, byte(l>>7), byte(l&127)|128)
	case 3:
		return append(dst, byte(l>>14), byte(l>>7&127)|128, byte(l&127)|128)
	case 4:
		return append(dst, byte(l>>21), byte(l>>14&127)|128, byte(l>>7&127)|128, byte(l&127)|128)
	}
	return append(dst, byte(l>>28), byte(l>>21&127)|128, byte(l>>14&127)|128, byte(l>>7&127)|128, byte(l&127)|128)
}

// lpAppendInt appends the smallest listpack integer encoding of v and its
// backlen, as lpEncodeIntegerGetType chooses.
func lpAppendInt(dst []byte, v int64) []byte {
	switch {
	case v >= 0 && v <= 127:
		return append(dst, byte(v), 1)
	case v >= -4096 && v <= 4095:
		u := uint64(v) & 0x1FFF // negative values are stored as v + 8192
		return append(dst, 0xC0|byte(u>>8), byte(u), 2)
	case v >= math.MinInt16 && v <= math.MaxInt16:
		return append(dst, 0xF1, byte(v), byte(v>>8), 3)
	case v >= -1<<23 && v < 1<<23:
		return append(dst, 0xF2, byte(v), byte(v>>8), byte(v>>16), 4)
	case v >= math.MinInt32 && v <= math.MaxInt32:
		dst = append(dst, 0xF3)
		return append(binary.LittleEndian.AppendUint32(dst, uint32(v)), 5)
	}
	dst = append(dst, 0xF4)
	return append(binary.LittleEndian.AppendUint64(dst, uint64(v)), 9)
}

// lpAppendString appends a string entry, choosing the length form as
// lpEncodeString does; callers check parseCanonicalInt first.
func lpAppendString(dst []byte, s []byte) []byte {
	n := uint64(len(s))
	var l uint64
	switch {
	case n < 64:
		dst = append(dst, 0x80|byte(n))
		l = 1 + n
	case n < 4096:
		dst = append(dst, 0xE0|byte(n>>8), byte(n))
		l = 2 + n
	default:
		dst = append(dst, 0xF0)
		dst = binary.LittleEndian.AppendUint32(dst, uint32(n))
		l = 5 + n
	}
	dst = append(dst, s...)
	return lpAppendBacklen(dst, l)
}

// appendListpack appends a listpack holding entries, byte-identical to what
// Redis builds by appending them one by one: strings that are canonical
// integers (parseCanonicalInt) become integer entries, every integer takes
// its smallest encoding, and the count saturates at 65535 ("unknown"). The
// caller keeps the total under 4 GiB, the format's limit.
func appendListpack(dst []byte, entries []blobEntry) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0)
	for _, e := range entries {
		if e.IsInt {
			dst = lpAppendInt(dst, e.Int)
		} else if v, ok := parseCanonicalInt(e.Str); ok {
			dst = lpAppendInt(dst, v)
		} else {
			dst = lpAppendString(dst, e.Str)
		}
	}
	dst = append(dst, lpEOF)
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(dst)-start))
	binary.LittleEndian.PutUint16(dst[start+4:], uint16(min(len(entries), lpNumeleUnknown)))
	return dst
}
