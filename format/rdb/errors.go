package rdb

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinel causes carried by [FormatError]; match them with errors.Is.
var (
	ErrChecksum        = errors.New("checksum mismatch")
	ErrUnsupported     = errors.New("unsupported")
	ErrLimit           = errors.New("limit exceeded")
	ErrWriteAfterClose = errors.New("write after close")
	// ErrCorrupt marks structurally invalid data (bad lengths, bad blob
	// headers, failed deep validation).
	ErrCorrupt = errors.New("corrupt data")
)

// FormatError reports a problem at an absolute byte offset of the input.
type FormatError struct {
	Offset  int64  // absolute byte offset where the problem was detected
	Context string // what was being decoded, e.g. "listpack entry 17"
	Key     []byte // key being decoded, when known
	Err     error  // cause: a sentinel above, io.ErrUnexpectedEOF, ...
}

func (e *FormatError) Error() string {
	s := "rdb: offset " + strconv.FormatInt(e.Offset, 10) + " (0x" + strconv.FormatInt(e.Offset, 16) + ")"
	if e.Key != nil || e.Context != "" {
		s += " ("
		if e.Key != nil {
			s += "key " + strconv.Quote(string(e.Key))
			if e.Context != "" {
				s += ", "
			}
		}
		s += e.Context + ")"
	}
	return s + ": " + fmt.Sprint(e.Err)
}

func (e *FormatError) Unwrap() error { return e.Err }
