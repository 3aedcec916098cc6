package resp

import (
	"bufio"
	"io"
	"strconv"
)

// Writer writes commands exactly as Redis writes them to an AOF:
// "*<argc>\r\n" then "$<len>\r\n<bytes>\r\n" per argument. It is buffered;
// call Flush at the end. Not safe for concurrent use.
type Writer struct {
	bw      *bufio.Writer
	scratch []byte
	n       int64
}

// NewWriter returns a buffered Writer on w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{bw: bufio.NewWriterSize(w, 64<<10), scratch: make([]byte, 0, 32)}
}

// WriteCommand writes one command. Redis never writes an empty command, so
// an empty args list is written as nothing.
func (w *Writer) WriteCommand(args ...[]byte) error {
	if len(args) == 0 {
		return nil
	}
	w.header('*', int64(len(args)))
	for _, a := range args {
		w.header('$', int64(len(a)))
		w.bw.Write(a)
		w.bw.WriteString("\r\n")
		w.n += int64(len(a)) + 2
	}
	// bufio.Writer errors are sticky; report the first one here.
	_, err := w.bw.Write(nil)
	return err
}

// WriteStrings is WriteCommand for string arguments.
func (w *Writer) WriteStrings(args ...string) error {
	if len(args) == 0 {
		return nil
	}
	w.header('*', int64(len(args)))
	for _, a := range args {
		w.header('$', int64(len(a)))
		w.bw.WriteString(a)
		w.bw.WriteString("\r\n")
		w.n += int64(len(a)) + 2
	}
	_, err := w.bw.Write(nil)
	return err
}

// WriteAnnotation writes a "#TS:<unix seconds>\r\n" line, as Redis 7 does
// with aof-timestamp-enabled.
func (w *Writer) WriteAnnotation(ts int64) error {
	w.scratch = append(append(w.scratch[:0], "#TS:"...), strconv.AppendInt(nil, ts, 10)...)
	w.scratch = append(w.scratch, '\r', '\n')
	w.n += int64(len(w.scratch))
	_, err := w.bw.Write(w.scratch)
	return err
}

// Written returns the number of bytes written so far (buffered included).
func (w *Writer) Written() int64 { return w.n }

// Flush writes buffered data to the underlying writer.
func (w *Writer) Flush() error { return w.bw.Flush() }

// header writes "<prefix><n>\r\n", formatting straight into bufio's free
// space when there is room (AvailableBuffer).
func (w *Writer) header(prefix byte, n int64) {
	b := w.bw.AvailableBuffer()
	if cap(b) < 24 {
		b = w.scratch[:0]
	}
	b = append(b, prefix)
	b = strconv.AppendInt(b, n, 10)
	b = append(b, '\r', '\n')
	w.n += int64(len(b))
	w.bw.Write(b)
}
