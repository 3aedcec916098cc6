package rdb

import (
	"encoding/binary"
	"errors"
)

// Framing without a decoder. A tool that looks for where records start in
// damaged bytes (rdbtool check's resynchronisation) asks at every byte
// whether a record could start there; a Decoder per position would copy
// whatever length the noise declares. FrameRecord reads the record in
// place, lengths and blob headers only, with the same rules as the
// decoder and the walkers.

// IsRecordStart says whether b can begin a record: a value type byte or
// an opcode other than EOF.
func IsRecordStart(b byte) bool {
	return (b <= byte(TypeStreamListpacks4) && b != byte(TypeModulePreGA) && b != 8) ||
		(b >= OpKeyMeta && b < OpEOF && b != OpFunctionPreGA)
}

// FrameRecord reads the record at data[p] (an opcode with its operands, or
// a value type, key and value) without decoding or copying it, and returns
// where it ends. The end is -1 for a record it does not read: type 22 (a
// Redis 7.4-RC hash or a Valkey one) and KEY_META (numbered differently by
// Valkey). ok is false when the record is malformed or leaves data, or its
// key is longer than maxKey bytes as stored.
//
// Blob values are checked as far as their walk's header checks; an
// LZF-compressed blob passes unread.
func FrameRecord(data []byte, p int64, maxKey int64) (end int64, ok bool) {
	size := int64(len(data))
	q := p + 1
	switch data[p] {
	case OpSelectDB, OpIdle:
		_, q, ok = lenAt(data, q)
		return q, ok
	case OpResizeDB:
		if _, q, ok = lenAt(data, q); ok {
			_, q, ok = lenAt(data, q)
		}
		return q, ok
	case OpSlotInfo:
		for range 3 {
			if _, q, ok = lenAt(data, q); !ok {
				return q, false
			}
		}
		return q, true
	case OpExpireTimeMs:
		return q + 8, q+8 <= size
	case OpExpireTime:
		return q + 4, q+4 <= size
	case OpFreq:
		return q + 1, q+1 <= size
	case OpAux:
		if q, ok = stringEnd(data, q); ok {
			q, ok = stringEnd(data, q)
		}
		return q, ok
	case OpFunction2:
		return stringEnd(data, q)
	case OpModuleAux: // module id, a UINT when-opcode and its value, then a module opcode stream
		var whenOp uint64
		if _, q, ok = lenAt(data, q); ok {
			if whenOp, q, ok = lenAt(data, q); ok && whenOp == 2 {
				if _, q, ok = lenAt(data, q); ok {
					return moduleStreamEnd(data, q)
				}
			}
		}
		return q, false
	}
	if data[p] >= OpKeyMeta {
		return -1, true
	}
	t := Type(data[p])
	if q, ok = stringEnd(data, q); !ok || q-(p+1) > maxKey {
		return q, false
	}
	switch t {
	case TypeString:
		return stringEnd(data, q)
	case TypeHashZipmap, TypeListZiplist, TypeSetIntset, TypeZSetZiplist, TypeHashZiplist,
		TypeHashListpack, TypeZSetListpack, TypeSetListpack:
		end, ok := stringEnd(data, q)
		return end, ok && blobHeaderOK(t, data, q)
	case TypeList, TypeSet, TypeZSet, TypeHash, TypeZSet2, TypeListQuicklist, TypeListQuicklist2:
		n, q, ok := lenAt(data, q)
		if !ok || n > uint64(size-q) {
			return q, false
		}
		return collectionEnd(t, data, q, n)
	case TypeHashMetadata: // the smallest field expiry, then (TTL, field, value) triples
		n, q, ok := lenAt(data, q+8)
		if !ok || n > uint64(size-q) {
			return q, false
		}
		for range n {
			if _, q, ok = lenAt(data, q); ok {
				if q, ok = stringEnd(data, q); ok {
					q, ok = stringEnd(data, q)
				}
			}
			if !ok {
				return q, false
			}
		}
		return q, true
	case TypeModule2:
		if _, q, ok = lenAt(data, q); !ok { // the module type id
			return q, false
		}
		return moduleStreamEnd(data, q)
	case TypeHashListpackEx, TypeHashListpackExPreGA:
		if t == TypeHashListpackEx {
			q += 8 // the smallest field expiry
		}
		end, ok := stringEnd(data, q)
		return end, ok && blobHeaderOK(TypeHashListpack, data, q)
	case TypeStreamListpacks, TypeStreamListpacks2, TypeStreamListpacks3, TypeStreamListpacks4:
		return streamEnd(t, data, q)
	}
	return -1, q < size
}

// streamEnd returns the end of the stream value of type t at data[q], as
// readStream reads it: the nodes (a 16-byte master ID and a listpack
// each), the metadata, the consumer groups with their pending entries and
// consumers, and RDB 13's IDMP tail.
func streamEnd(t Type, data []byte, q int64) (int64, bool) {
	size := int64(len(data))
	// lens skips n lengths; count reads a count of items of at least min
	// bytes each that must fit in what is left.
	var ok bool
	lens := func(n int) bool {
		for range n {
			if _, q, ok = lenAt(data, q); !ok {
				return false
			}
		}
		return true
	}
	count := func(min int64) (uint64, bool) {
		var n uint64
		n, q, ok = lenAt(data, q)
		return n, ok && n <= uint64(size-q)/uint64(min)
	}
	nodes, ok := count(2)
	if !ok {
		return q, false
	}
	for range nodes {
		id, ok := stringEnd(data, q)
		if !ok || id-q != 17 || data[q] != 16 {
			return q, false
		}
		if q, ok = stringEnd(data, id); !ok || !blobHeaderOK(TypeHashListpack, data, id) {
			return q, false
		}
	}
	meta := 3 // length and last ID
	if t != TypeStreamListpacks {
		meta += 5 // first ID, max deleted ID, entries added
	}
	if !lens(meta) {
		return q, false
	}
	groups, ok := count(4)
	for i := uint64(0); ok && i < groups; i++ {
		if q, ok = stringEnd(data, q); !ok {
			break
		}
		perGroup := 2 // last ID
		if t != TypeStreamListpacks {
			perGroup++ // entries read
		}
		if !lens(perGroup) {
			break
		}
		var pending, consumers uint64
		if pending, ok = count(25); !ok { // raw ID, delivery time, count
			break
		}
		for range pending {
			q += 24
			if !lens(1) {
				return q, false
			}
		}
		if consumers, ok = count(10); !ok {
			break
		}
		for range consumers {
			if q, ok = stringEnd(data, q); !ok {
				return q, false
			}
			q += 8 // seen time
			if t == TypeStreamListpacks3 || t == TypeStreamListpacks4 {
				q += 8 // active time
			}
			var ids uint64
			if ids, ok = count(16); !ok {
				return q, false
			}
			q += 16 * int64(ids)
		}
	}
	if !ok {
		return q, false
	}
	if t == TypeStreamListpacks4 { // IDMP: duration, max entries, producers, iids added and duplicates
		if !lens(2) {
			return q, false
		}
		producers, ok := count(2)
		for i := uint64(0); ok && i < producers; i++ {
			var n uint64
			if q, ok = stringEnd(data, q); ok {
				if n, ok = count(3); ok {
					for j := uint64(0); ok && j < n; j++ {
						if q, ok = stringEnd(data, q); ok {
							ok = lens(2)
						}
					}
				}
			}
		}
		if !ok || !lens(2) {
			return q, false
		}
	}
	return q, true
}

// InsideRun reports whether the record data[start:end] is one byte value
// repeated, and the run goes on before or after it. A zeroed or erased
// stretch decodes as a chain of well-formed records (zeros as "" = "",
// type 0 with an empty key and value), so a tool keeping what decodes
// after damage must refuse such a record, or invent keys.
func InsideRun(data []byte, start, end int64) bool {
	if start < 0 || end > int64(len(data)) || start >= end {
		return false
	}
	b := data[start]
	for _, c := range data[start:end] {
		if c != b {
			return false
		}
	}
	return (start > 0 && data[start-1] == b) || (end < int64(len(data)) && data[end] == b)
}

// moduleStreamEnd returns the end of the module opcode stream at data[q]
// (operands up to the EOF opcode, as walkModuleStream reads them).
func moduleStreamEnd(data []byte, q int64) (int64, bool) {
	for {
		op, next, ok := lenAt(data, q)
		if !ok {
			return q, false
		}
		switch op {
		case moduleOpEOF:
			return next, true
		case moduleOpSInt, moduleOpUInt:
			_, q, ok = lenAt(data, next)
		case moduleOpFloat:
			q, ok = next+4, next+4 <= int64(len(data))
		case moduleOpDouble:
			q, ok = next+8, next+8 <= int64(len(data))
		case moduleOpString:
			q, ok = stringEnd(data, next)
		default:
			return q, false
		}
		if !ok {
			return q, false
		}
	}
}

// collectionEnd walks the n elements of a value of type t at data[q] (each
// a string, a pair, a member and its score, or a quicklist node) and
// returns where the value ends. Each element takes at least a byte, so
// random bytes run out of data in a few thousand steps at most.
func collectionEnd(t Type, data []byte, q int64, n uint64) (int64, bool) {
	size := int64(len(data))
	if t == TypeHash {
		n *= 2 // n <= size, so no overflow
	}
	var ok bool
	for range n {
		start := q
		switch t {
		case TypeListQuicklist2:
			var c uint64
			if c, start, ok = lenAt(data, q); !ok || (c != qlPlain && c != qlPacked) {
				return q, false
			}
			if q, ok = stringEnd(data, start); !ok || (c == qlPacked && !blobHeaderOK(TypeSetListpack, data, start)) {
				return q, false
			}
			continue
		case TypeListQuicklist:
			if q, ok = stringEnd(data, q); !ok || !blobHeaderOK(TypeListZiplist, data, start) {
				return q, false
			}
			continue
		}
		if q, ok = stringEnd(data, q); !ok {
			return q, false
		}
		switch t {
		case TypeZSet2: // a binary double
			if q += 8; q > size {
				return q, false
			}
		case TypeZSet: // a length byte, then that much text unless NaN or an infinity
			if q >= size {
				return q, false
			}
			l := int64(data[q])
			if q++; l < 253 {
				if q += l; q > size {
					return q, false
				}
			}
		}
	}
	return q, true
}

// blobHeaderOK runs the header checks of the walk of the blob value of
// type t, stored as the RDB string at data[p] (inside data: stringEnd
// said so). An LZF-compressed blob passes, and so does an integer
// encoding, which the decoder refuses for a blob.
func blobHeaderOK(t Type, data []byte, p int64) bool {
	n, q, ok := lenAt(data, p)
	if !ok {
		return true
	}
	b := data[q : q+int64(n)]
	switch t {
	case TypeHashZipmap:
		return zipmapHeader(b, quietFail) == nil
	case TypeListZiplist, TypeZSetZiplist, TypeHashZiplist:
		return ziplistHeader(b, quietFail) == nil
	case TypeSetIntset:
		return intsetHeader(b, quietFail) == nil
	}
	return listpackHeader(b, quietFail) == nil
}

// headerFail makes a blob header check's error: blobErr for a walk,
// quietFail for FrameRecord, which only needs the verdict and meets many
// bad headers in noise.
type headerFail func(off int, context, format string, args ...any) error

var errBadHeader = errors.New("rdb: bad blob header")

func quietFail(int, string, string, ...any) error { return errBadHeader }

// lenAt reads the RDB length at data[p]: its value, the offset after it,
// and whether it is a plain (not special-encoded) length inside data.
func lenAt(data []byte, p int64) (n uint64, next int64, ok bool) {
	if p >= int64(len(data)) {
		return 0, p, false
	}
	b := data[p]
	switch {
	case b>>6 == 0:
		return uint64(b & 0x3f), p + 1, true
	case b>>6 == 1:
		if p+2 > int64(len(data)) {
			return 0, p, false
		}
		return uint64(b&0x3f)<<8 | uint64(data[p+1]), p + 2, true
	case b == 0x80:
		if p+5 > int64(len(data)) {
			return 0, p, false
		}
		return uint64(binary.BigEndian.Uint32(data[p+1:])), p + 5, true
	case b == 0x81:
		if p+9 > int64(len(data)) {
			return 0, p, false
		}
		return binary.BigEndian.Uint64(data[p+1:]), p + 9, true
	}
	return 0, p, false
}

// stringEnd returns the offset after the RDB string at data[p] (raw,
// integer or LZF encoded) and whether it is well-formed and inside data.
func stringEnd(data []byte, p int64) (int64, bool) {
	if p >= int64(len(data)) {
		return p, false
	}
	if b := data[p]; b>>6 == 3 {
		var end int64
		switch b & 0x3f {
		case 0:
			end = p + 2
		case 1:
			end = p + 3
		case 2:
			end = p + 5
		case 3: // LZF: compressed and plain lengths, then the bytes
			clen, q, ok := lenAt(data, p+1)
			if !ok {
				return p, false
			}
			if _, q, ok = lenAt(data, q); !ok || clen > uint64(int64(len(data))-q) {
				return p, false
			}
			return q + int64(clen), true
		default:
			return p, false
		}
		return end, end <= int64(len(data))
	}
	n, q, ok := lenAt(data, p)
	if !ok || n > uint64(int64(len(data))-q) {
		return p, false
	}
	return q + int64(n), true
}

// AppendLen appends the RDB length n in its smallest form (6-bit, 14-bit,
// or 32/64-bit big-endian), as a tool building record bytes needs.
func AppendLen(b []byte, n uint64) []byte { return appendLen(b, n) }
