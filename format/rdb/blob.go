package rdb

import "errors"

// STUB: owned by the blob-encodings work; replace wholesale (keep these signatures).

// blobEntry is one element of a listpack or ziplist: either a string
// (Str aliases the blob) or an integer.
type blobEntry struct {
	Str   []byte
	Int   int64
	IsInt bool
}

var errBlobStub = errors.New("rdb: blob codec not implemented")

// Walkers validate the blob's header against len(blob) and call fn for every
// element. Errors are *FormatError whose Offset is relative to the blob start
// (the caller adds the blob's absolute offset) and whose Err wraps ErrCorrupt.
func walkListpack(blob []byte, fn func(i int, e blobEntry) error) (int, error) { return 0, errBlobStub }
func walkZiplist(blob []byte, fn func(i int, e blobEntry) error) (int, error)  { return 0, errBlobStub }
func walkIntset(blob []byte, fn func(i int, v int64) error) (int, error)       { return 0, errBlobStub }
func walkZipmap(blob []byte, fn func(k, v []byte) error) (int, error)          { return 0, errBlobStub }

// Encoders append a complete blob to dst.
func appendListpack(dst []byte, entries []blobEntry) []byte { return dst }
func appendZiplist(dst []byte, entries []blobEntry) []byte  { return dst }
func appendIntset(dst []byte, vals []int64) []byte          { return dst }

// parseCanonicalInt reports whether b is an integer in Redis' canonical
// string2ll form (no leading zeros or '+', fits int64) and its value.
func parseCanonicalInt(b []byte) (int64, bool) { return 0, false }
