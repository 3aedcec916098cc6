package resp

import (
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Sentinel causes carried by [FormatError]; match them with errors.Is.
var (
	// ErrFormat marks bytes that are not a valid AOF record (bad prefix,
	// bad number, missing CRLF, ...). The error text says what was expected
	// and what was found.
	ErrFormat = errors.New("invalid format")
	// ErrLimit marks a line, argument count or bulk length over [Limits].
	ErrLimit = errors.New("limit exceeded")
	// ErrTruncated marks input that ends inside a record. It wraps
	// io.ErrUnexpectedEOF, so errors.Is(err, io.ErrUnexpectedEOF) also holds.
	ErrTruncated = fmt.Errorf("truncated record: %w", io.ErrUnexpectedEOF)
)

// ErrRDBPreamble is returned by the first [Reader.Next] when the input starts
// with "REDIS" (an RDB preamble or an RDB base file). Nothing is consumed: the
// caller decodes the RDB from the same *bufio.Reader and then calls
// [Reader.SetOffset] with the number of bytes the RDB decoder consumed.
var ErrRDBPreamble = errors.New("resp: input starts with an RDB preamble")

// FormatError reports a problem at an absolute byte offset of the input.
//
// For a truncated input (Err wraps [ErrTruncated]) Offset is the start of
// the incomplete record (or of the annotation lines just before it), so
// truncating the file at Offset removes exactly the torn tail; Tail is the
// number of bytes from Offset to the end of the input.
type FormatError struct {
	Offset  int64  // absolute byte offset of the problem (record start for truncation)
	Record  int64  // absolute offset where the enclosing record (or its annotation) starts
	Line    int64  // 1-based line of Offset (1 + number of '\n' bytes before it)
	Context string // what was being read, e.g. "argument 2 length"
	Tail    int64  // for truncation: bytes from Offset to the end of input
	Err     error  // ErrFormat, ErrLimit, ErrTruncated (wrapped with details) or an I/O error
}

func (e *FormatError) Error() string {
	s := "resp: offset " + strconv.FormatInt(e.Offset, 10) + " (0x" + strconv.FormatInt(e.Offset, 16) + ", line " + strconv.FormatInt(e.Line, 10)
	if e.Context != "" {
		s += ", " + e.Context
	}
	s += "): " + fmt.Sprint(e.Err)
	if e.Tail > 0 {
		s += " (" + strconv.FormatInt(e.Tail, 10) + " bytes in the incomplete tail)"
	}
	return s
}

func (e *FormatError) Unwrap() error { return e.Err }
