package rdb

import (
	"fmt"
	"strconv"
)

// Blobs are the compact encodings RDB stores as strings (listpack, ziplist,
// intset, zipmap); see encodings.md. Their walkers validate like Redis'
// *ValidateIntegrity functions with deep=1 and call fn for every element in
// order. fn may already have run for earlier elements when a later problem
// is found; callers discard partial results on error. An error returned by fn
// stops the walk and is returned unchanged.

// blobEntry is one element of a listpack or ziplist: either a string
// (Str aliases the blob) or an integer.
type blobEntry struct {
	Str   []byte
	Int   int64
	IsInt bool
}

// blobErr builds the error of a walker: Offset is relative to the blob start
// (the caller adds the blob's absolute offset) and Err wraps ErrCorrupt.
func blobErr(off int, context, format string, args ...any) error {
	return &FormatError{Offset: int64(off), Context: context, Err: fmt.Errorf(format+": %w", append(args, ErrCorrupt)...)}
}

func entryContext(kind string, i int) string {
	return kind + " entry " + strconv.Itoa(i)
}

// parseCanonicalInt reports whether b is an integer in Redis' canonical
// string2ll form and returns its value: 1..20 bytes, "0" or an optional '-'
// then a digit 1-9 and only digits, within int64 ("-0", "+1", "01", " 1"
// are not canonical). Listpack, ziplist and intset writers store exactly
// these strings as integers.
func parseCanonicalInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	neg := false
	if b[0] == '-' {
		neg = true
		b = b[1:]
		if len(b) == 0 {
			return 0, false
		}
	}
	if b[0] < '1' || b[0] > '9' {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (1<<64-1-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return int64(-v), true
	}
	if v > 1<<63-1 {
		return 0, false
	}
	return int64(v), true
}
