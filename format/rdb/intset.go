package rdb

import (
	"encoding/binary"
	"math"
	"slices"
	"strconv"
)

// Intset (intset.c), encodings.md §4: sorted integers of one width.

const intsetHdrSize = 8

// walkIntset validates blob like intsetValidateIntegrity(deep): width 2, 4
// or 8, the size matching the count, at least one element, strictly
// ascending. Like Redis it accepts a wider encoding than the values need.
// fn gets every element in order; the element count is returned.
func walkIntset(blob []byte, fn func(i int, v int64) error) (int, error) {
	if err := intsetHeader(blob, blobErr); err != nil {
		return 0, err
	}
	w := int(binary.LittleEndian.Uint32(blob))
	count := binary.LittleEndian.Uint32(blob[4:])
	var prev int64
	for i := range int(count) {
		off := intsetHdrSize + i*w
		var v int64
		switch w {
		case 2:
			v = int64(int16(binary.LittleEndian.Uint16(blob[off:])))
		case 4:
			v = int64(int32(binary.LittleEndian.Uint32(blob[off:])))
		default:
			v = int64(binary.LittleEndian.Uint64(blob[off:]))
		}
		if i > 0 && v <= prev {
			return i, blobErr(off, "intset element "+strconv.Itoa(i), "element %d not above previous %d", v, prev)
		}
		if err := fn(i, v); err != nil {
			return i, err
		}
		prev = v
	}
	return int(count), nil
}

// intsetHeader checks what walkIntset checks before the elements: width 2,
// 4 or 8, at least one element, and a size that fits the count.
func intsetHeader(blob []byte, fail headerFail) error {
	const ctx = "intset header"
	if len(blob) < intsetHdrSize {
		return fail(0, ctx, "intset of %d bytes is shorter than its header", len(blob))
	}
	width := binary.LittleEndian.Uint32(blob)
	if width != 2 && width != 4 && width != 8 {
		return fail(0, ctx, "invalid encoding %d", width)
	}
	count := binary.LittleEndian.Uint32(blob[4:])
	if intsetHdrSize+uint64(count)*uint64(width) != uint64(len(blob)) {
		return fail(4, ctx, "%d elements of %d bytes do not fill %d bytes", count, width, len(blob))
	}
	if count == 0 {
		return fail(4, ctx, "empty intset")
	}
	return nil
}

// appendIntset appends an intset of vals in the smallest width holding them
// all (as Redis' intsetUpgradeAndAdd ends up with). Intsets are sorted sets:
// vals should be strictly ascending; if not, a sorted de-duplicated copy is
// written, so the output is always valid. An empty vals gives an empty
// intset, which Redis rejects on load; callers write a set with no members
// as no key at all.
func appendIntset(dst []byte, vals []int64) []byte {
	if !slices.IsSorted(vals) || hasAdjacentDup(vals) {
		vals = slices.Compact(slices.Sorted(slices.Values(vals)))
	}
	width := 2
	for _, v := range vals {
		if v < math.MinInt32 || v > math.MaxInt32 {
			width = 8
			break
		}
		if v < math.MinInt16 || v > math.MaxInt16 {
			width = 4
		}
	}
	dst = binary.LittleEndian.AppendUint32(dst, uint32(width))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(vals)))
	for _, v := range vals {
		switch width {
		case 2:
			dst = binary.LittleEndian.AppendUint16(dst, uint16(v))
		case 4:
			dst = binary.LittleEndian.AppendUint32(dst, uint32(v))
		default:
			dst = binary.LittleEndian.AppendUint64(dst, uint64(v))
		}
	}
	return dst
}

func hasAdjacentDup(vals []int64) bool {
	for i := 1; i < len(vals); i++ {
		if vals[i] == vals[i-1] {
			return true
		}
	}
	return false
}
