package resp

import (
	"errors"
	"io"
)

// STUB: owned by the resp work (issue 4); replace wholesale.

// Writer writes commands exactly as Redis writes them to an AOF.
type Writer struct{}

// NewWriter returns a buffered writer; call Flush at the end.
func NewWriter(w io.Writer) *Writer { return &Writer{} }

// WriteCommand writes one command as a RESP array of bulk strings.
func (w *Writer) WriteCommand(args ...[]byte) error { return errors.New("resp: not implemented") }

// WriteAnnotation writes a "#TS:<unix seconds>" line.
func (w *Writer) WriteAnnotation(ts int64) error { return errors.New("resp: not implemented") }

// Flush writes buffered data.
func (w *Writer) Flush() error { return errors.New("resp: not implemented") }
