package resp

import (
	"errors"
	"io"
)

// STUB: owned by the resp work (issue 4); replace wholesale.

// ErrRDBPreamble is returned by the first Next when the input starts with
// "REDIS": the caller hands the same *bufio.Reader to the RDB decoder.
var ErrRDBPreamble = errors.New("resp: input starts with an RDB preamble")

// Command is one AOF command.
type Command struct {
	Args       [][]byte
	Offset     int64  // byte offset where the command (or its annotation) starts
	Line       int64  // 1-based line number of that offset
	Annotation string // "#TS:..." annotation text preceding the command, without "#" and CRLF, if any
}

// ReaderOptions configure a Reader.
type ReaderOptions struct{}

// Reader reads AOF commands. Not safe for concurrent use.
type Reader struct{}

// NewReader returns a reader; if r is a *bufio.Reader it is used directly.
func NewReader(r io.Reader, opt *ReaderOptions) *Reader { return &Reader{} }

// Next returns the next command, or io.EOF at a clean end.
func (r *Reader) Next() (Command, error) { return Command{}, errors.New("resp: not implemented") }

// Offset is the number of bytes consumed.
func (r *Reader) Offset() int64 { return 0 }
