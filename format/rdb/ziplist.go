package rdb

import (
	"encoding/binary"
	"math"
)

// Ziplist (ziplist.c), encodings.md §3: the pre-RDB-10 encoding of small
// hashes, zsets, lists and quicklist nodes.

const (
	zlHdrSize   = 10
	zlBigPrev   = 254 // prevlen >= this takes 0xFE + u32
	zlEnd       = 0xFF
	zlStrMask   = 0xC0
	zlStr06     = 0x00
	zlStr14     = 0x40
	zlStr32     = 0x80
	zlInt16     = 0xC0
	zlInt32     = 0xD0
	zlInt64     = 0xE0
	zlInt24     = 0xF0
	zlInt8      = 0xFE
	zlImmMin    = 0xF1 // immediate 0..12 is stored as 0xF1..0xFD
	zlImmMax    = 0xFD
	zlUnknownN  = 65535
	zlMaxIntStr = 31 // zipTryEncoding only tries strings shorter than 32 bytes
)

// walkZiplist validates blob like ziplistValidateIntegrity(deep) and calls
// fn for every element. It returns the number of elements walked.
func walkZiplist(blob []byte, fn func(i int, e blobEntry) error) (int, error) {
	const ctx = "ziplist header"
	if err := ziplistHeader(blob, blobErr); err != nil {
		return 0, err
	}
	end := len(blob) - 1 // offset of the terminator
	tail := binary.LittleEndian.Uint32(blob[4:])
	count := int(binary.LittleEndian.Uint16(blob[8:]))
	p, n, prevSize, last := zlHdrSize, 0, 0, -1
	for blob[p] != zlEnd {
		e, prevLen, size, err := zlEntryAt(blob, p, end, n)
		if err != nil {
			return n, err
		}
		if prevLen != uint64(prevSize) {
			return n, blobErr(p, entryContext("ziplist", n), "prevlen %d, previous entry has %d bytes", prevLen, prevSize)
		}
		if err := fn(n, e); err != nil {
			return n, err
		}
		last, prevSize = p, size
		p += size
		n++
	}
	if p != end {
		return n, blobErr(p, entryContext("ziplist", n), "terminator before the end of the ziplist")
	}
	// Like Redis, zltail is only checked against a last entry (an empty
	// ziplist normally has zltail 10, but any in-range value loads).
	if last >= 0 && uint64(tail) != uint64(last) {
		return n, blobErr(4, ctx, "zltail %d, last entry at %d", tail, last)
	}
	if count != zlUnknownN && count != n {
		return n, blobErr(8, ctx, "header counts %d entries, found %d", count, n)
	}
	return n, nil
}

// ziplistHeader checks what walkZiplist checks before the entries: the
// size, zlbytes, the terminator and a zltail inside the ziplist.
func ziplistHeader(blob []byte, fail headerFail) error {
	const ctx = "ziplist header"
	if len(blob) < zlHdrSize+1 {
		return fail(0, ctx, "ziplist of %d bytes is shorter than its header", len(blob))
	}
	if total := binary.LittleEndian.Uint32(blob); uint64(total) != uint64(len(blob)) {
		return fail(0, ctx, "zlbytes %d, blob has %d", total, len(blob))
	}
	end := len(blob) - 1 // offset of the terminator
	if blob[end] != zlEnd {
		return fail(end, ctx, "missing terminator")
	}
	if tail := binary.LittleEndian.Uint32(blob[4:]); uint64(tail) > uint64(end) {
		return fail(4, ctx, "zltail %d outside the ziplist", tail)
	}
	return nil
}

// zlEntryAt decodes the entry at blob[p:], which must end at or before end
// (the terminator's offset), like zipEntrySafe. It returns the element, the
// stored prevlen and the entry size.
func zlEntryAt(blob []byte, p, end, i int) (blobEntry, uint64, int, error) {
	var e blobEntry
	bad := func(format string, args ...any) (blobEntry, uint64, int, error) {
		return e, 0, 0, blobErr(p, entryContext("ziplist", i), format, args...)
	}
	avail := end - p // bytes the entry may use
	prevSize := 1
	if blob[p] >= zlBigPrev {
		prevSize = 5
	}
	if prevSize >= avail { // the encoding byte must also fit before end
		return bad("entry header overflows the ziplist")
	}
	prevLen := uint64(blob[p])
	if prevSize == 5 {
		prevLen = uint64(binary.LittleEndian.Uint32(blob[p+1:]))
	}
	q := p + prevSize
	enc := blob[q]
	if enc < zlStrMask {
		enc &= zlStrMask // the low bits of a string encoding are its length
	}
	var lenSize int // encoding bytes
	var dlen uint64 // data bytes
	switch {
	case enc == zlStr06:
		lenSize, dlen = 1, uint64(blob[q]&0x3F)
	case enc == zlStr14:
		lenSize = 2
		if q+2 <= end {
			dlen = uint64(blob[q]&0x3F)<<8 | uint64(blob[q+1]) // big-endian
		}
	case enc == zlStr32:
		lenSize = 5
		if q+5 <= end {
			dlen = uint64(binary.BigEndian.Uint32(blob[q+1:]))
		}
	case enc == zlInt8:
		lenSize, dlen = 1, 1
	case enc == zlInt16:
		lenSize, dlen = 1, 2
	case enc == zlInt24:
		lenSize, dlen = 1, 3
	case enc == zlInt32:
		lenSize, dlen = 1, 4
	case enc == zlInt64:
		lenSize, dlen = 1, 8
	case enc >= zlImmMin && enc <= zlImmMax:
		lenSize = 1
	default:
		return bad("invalid encoding byte %#02x", blob[q])
	}
	hdr := prevSize + lenSize
	if hdr > avail || uint64(hdr)+dlen > uint64(avail) {
		return bad("entry overflows the ziplist")
	}
	size := hdr + int(dlen)
	d := blob[p+hdr : p+size : p+size]
	switch enc {
	case zlStr06, zlStr14, zlStr32:
		e.Str = d
	case zlInt8:
		e = blobEntry{Int: int64(int8(d[0])), IsInt: true}
	case zlInt16:
		e = blobEntry{Int: int64(int16(binary.LittleEndian.Uint16(d))), IsInt: true}
	case zlInt24:
		u := int32(uint32(d[0])|uint32(d[1])<<8|uint32(d[2])<<16) << 8 >> 8
		e = blobEntry{Int: int64(u), IsInt: true}
	case zlInt32:
		e = blobEntry{Int: int64(int32(binary.LittleEndian.Uint32(d))), IsInt: true}
	case zlInt64:
		e = blobEntry{Int: int64(binary.LittleEndian.Uint64(d)), IsInt: true}
	default:
		e = blobEntry{Int: int64(enc&0x0F) - 1, IsInt: true}
	}
	return e, prevLen, size, nil
}

// zlAppendPrevlen appends prevlen in its minimal form.
func zlAppendPrevlen(dst []byte, prev int) []byte {
	if prev < zlBigPrev {
		return append(dst, byte(prev))
	}
	return binary.LittleEndian.AppendUint32(append(dst, zlBigPrev), uint32(prev))
}

// zlAppendInt appends the encoding and data of v as zipTryEncoding picks.
func zlAppendInt(dst []byte, v int64) []byte {
	switch {
	case v >= 0 && v <= 12:
		return append(dst, zlImmMin+byte(v))
	case v >= math.MinInt8 && v <= math.MaxInt8:
		return append(dst, zlInt8, byte(v))
	case v >= math.MinInt16 && v <= math.MaxInt16:
		return append(dst, zlInt16, byte(v), byte(v>>8))
	case v >= -1<<23 && v < 1<<23:
		return append(dst, zlInt24, byte(v), byte(v>>8), byte(v>>16))
	case v >= math.MinInt32 && v <= math.MaxInt32:
		return binary.LittleEndian.AppendUint32(append(dst, zlInt32), uint32(v))
	}
	return binary.LittleEndian.AppendUint64(append(dst, zlInt64), uint64(v))
}

// zlAppendString appends the encoding and bytes of a string entry.
func zlAppendString(dst []byte, s []byte) []byte {
	n := len(s)
	switch {
	case n <= 0x3F:
		dst = append(dst, zlStr06|byte(n))
	case n <= 0x3FFF:
		dst = append(dst, zlStr14|byte(n>>8), byte(n))
	default:
		dst = binary.BigEndian.AppendUint32(append(dst, zlStr32), uint32(n))
	}
	return append(dst, s...)
}

// appendZiplist appends a ziplist holding entries as a fresh Redis ziplist:
// minimal prevlens, canonical-integer strings (shorter than 32 bytes) and
// integers in their smallest integer encoding, count saturating at 65535.
func appendZiplist(dst []byte, entries []blobEntry) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, zlHdrSize)...)
	tail, prev := zlHdrSize, 0
	for _, e := range entries {
		p := len(dst)
		tail = p - start
		dst = zlAppendPrevlen(dst, prev)
		if e.IsInt {
			dst = zlAppendInt(dst, e.Int)
		} else if v, ok := parseCanonicalInt(e.Str); ok && len(e.Str) <= zlMaxIntStr {
			dst = zlAppendInt(dst, v)
		} else {
			dst = zlAppendString(dst, e.Str)
		}
		prev = len(dst) - p
	}
	dst = append(dst, zlEnd)
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(dst)-start))
	binary.LittleEndian.PutUint32(dst[start+4:], uint32(tail))
	binary.LittleEndian.PutUint16(dst[start+8:], uint16(min(len(entries), zlUnknownN)))
	return dst
}
