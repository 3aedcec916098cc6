package rdb

import (
	"encoding/binary"
	"strconv"
)

// Zipmap (zipmap.c), encodings.md §5: Redis <= 2.4 small hashes, RDB type 9.

const (
	zmBigLen = 254 // a length byte >= this is followed by a u32
	zmEnd    = 0xFF
)

// walkZipmap validates blob like zipmapValidateIntegrity(deep) plus the
// duplicate-field check Redis does when converting a zipmap on load, and
// calls fn for every field/value pair (both alias blob). It returns the
// number of pairs.
func walkZipmap(blob []byte, fn func(k, v []byte) error) (int, error) {
	const ctx = "zipmap header"
	if err := zipmapHeader(blob, blobErr); err != nil {
		return 0, err
	}
	end := len(blob) - 1 // offset of the terminator
	seen := make(map[string]struct{})
	p, n := 1, 0
	for blob[p] != zmEnd {
		start := p
		bad := func(what string) error {
			return blobErr(start, "zipmap pair "+strconv.Itoa(n), "%s overflows the zipmap", what)
		}
		klen, next, ok := zmLen(blob, p, end)
		if !ok {
			return n, bad("field length")
		}
		p = next
		if uint64(klen) > uint64(end-p) {
			return n, bad("field")
		}
		k := blob[p : p+int(klen) : p+int(klen)]
		p += int(klen)
		vlen, next, ok := zmLen(blob, p, end)
		if !ok {
			return n, bad("value length")
		}
		p = next
		free := uint64(blob[p]) // unused bytes after the value
		p++
		if uint64(p)+uint64(vlen)+free > uint64(end) {
			return n, bad("value")
		}
		v := blob[p : p+int(vlen) : p+int(vlen)]
		p += int(vlen) + int(free)
		if _, dup := seen[string(k)]; dup {
			return n, blobErr(start, "zipmap pair "+strconv.Itoa(n), "duplicate field %q", k)
		}
		seen[string(k)] = struct{}{}
		if err := fn(k, v); err != nil {
			return n, err
		}
		n++
	}
	if n == 0 {
		return 0, blobErr(1, ctx, "empty zipmap")
	}
	if blob[0] != zmBigLen && int(blob[0]) != n {
		return n, blobErr(0, ctx, "header counts %d pairs, found %d", blob[0], n)
	}
	return n, nil
}

// zmLen decodes a zipmap length at blob[p]: one byte below 254, else (254 or,
// as Redis reads it, 255) a u32 in x86 byte order. The length field plus the
// byte after it must lie at or before end, as Redis' OUT_OF_RANGE(p+s) asks.
// zipmapHeader checks what walkZipmap checks before the pairs: the size
// and the terminator.
func zipmapHeader(blob []byte, fail headerFail) error {
	const ctx = "zipmap header"
	if len(blob) < 2 {
		return fail(0, ctx, "zipmap of %d bytes is too short", len(blob))
	}
	if blob[len(blob)-1] != zmEnd {
		return fail(len(blob)-1, ctx, "missing terminator")
	}
	return nil
}

func zmLen(blob []byte, p, end int) (uint32, int, bool) {
	if blob[p] < zmBigLen {
		return uint32(blob[p]), p + 1, p+1 <= end
	}
	if p+5 > end {
		return 0, 0, false
	}
	return binary.LittleEndian.Uint32(blob[p+1:]), p + 5, true
}

// appendZipmap appends a zipmap of the pairs (field, value, field, ...) with
// no free bytes, as zipmapSet builds a fresh one. Used by tests; encoders
// write hashes as listpacks or ziplists instead.
func appendZipmap(dst []byte, pairs [][]byte) []byte {
	n := len(pairs) / 2
	dst = append(dst, byte(min(n, zmBigLen)))
	for i := 0; i+1 < len(pairs); i += 2 {
		dst = zmAppendLen(dst, len(pairs[i]))
		dst = append(dst, pairs[i]...)
		dst = zmAppendLen(dst, len(pairs[i+1]))
		dst = append(dst, 0)
		dst = append(dst, pairs[i+1]...)
	}
	return append(dst, zmEnd)
}

func zmAppendLen(dst []byte, n int) []byte {
	if n < zmBigLen {
		return append(dst, byte(n))
	}
	return binary.LittleEndian.AppendUint32(append(dst, zmBigLen), uint32(n))
}
