package resp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Command is one AOF record: a RESP array of bulk strings.
type Command struct {
	// Args are the command name and its arguments. By default they are
	// copies owned by the caller (small commands share arena blocks of a
	// few KiB; each argument's capacity is clipped so appending to it is
	// safe); with
	// [ReaderOptions.Reuse] they alias the Reader's buffer and are valid
	// only until the next call to [Reader.Next].
	Args [][]byte
	// Offset is the absolute offset where the record starts or, when
	// annotation lines ("#...") directly precede it, where the first of
	// them starts. Truncating the file at Offset removes the command and
	// its annotations.
	Offset int64
	// RecordOffset is the absolute offset of the record's '*'.
	RecordOffset int64
	// End is the absolute offset just past the record's final CRLF.
	End int64
	// Line is the 1-based line of Offset: 1 + the number of '\n' bytes
	// before it (newlines inside arguments count, as in a text editor).
	Line int64
	// Annotation is the text of the last annotation line before the
	// record, without the leading '#' and the line ending, e.g.
	// "TS:1700000000"; empty if there is none.
	Annotation string
}

// ReaderOptions configure a [Reader]. The zero value (or nil) means defaults.
type ReaderOptions struct {
	Limits Limits // zero fields use DefaultLimits
	// Reuse makes Command.Args alias an internal buffer that is overwritten
	// by the next call to Next; it avoids two allocations per command.
	Reuse bool
	// StartOffset is the absolute offset of the first byte read from r
	// (for reading a file from the middle). Offsets in commands and errors
	// are absolute.
	StartOffset int64
}

// Reader reads AOF commands from a stream. It keeps about one command in
// memory. It is not safe for concurrent use.
//
// The reader is strict where Redis' loader is lenient: counts and lengths
// must be plain decimal followed by CRLF, argument counts must be >= 1 and
// every bulk must be followed by CRLF (redis-check-aof verifies that too).
// Lines starting with '#' between records are annotations (Redis 7
// "#TS:<unix seconds>").
type Reader struct {
	br      *bufio.Reader
	lim     Limits
	reuse   bool
	off     int64 // absolute offset of the next unread byte
	line    int64 // 1-based line of off
	started bool  // preamble check done
	err     error // sticky error (io.EOF included)

	slab    []byte // arguments of the current command, back to back
	counted int    // slab[:counted] already included in line
	ends    []int  // end of each argument in slab
	args    [][]byte

	arena    []byte   // see allocBytes
	argArena [][]byte // see allocArgs
}

const defaultBufSize = 256 << 10

// NewReader returns a Reader reading from r. If r is a *bufio.Reader it is
// used directly (so that an RDB decoder can share it, see [ErrRDBPreamble]);
// otherwise r is wrapped in a large bufio.Reader. Header lines longer than
// the bufio buffer are reported as [ErrLimit].
func NewReader(r io.Reader, opt *ReaderOptions) *Reader {
	var o ReaderOptions
	if opt != nil {
		o = *opt
	}
	lim := o.Limits.withDefaults()
	br, ok := r.(*bufio.Reader)
	if !ok {
		size := defaultBufSize
		if lim.MaxLineLen+1 > size {
			size = lim.MaxLineLen + 1
		}
		br = bufio.NewReaderSize(r, size)
	}
	return &Reader{
		br:    br,
		lim:   lim,
		reuse: o.Reuse,
		off:   o.StartOffset,
		line:  1,
		slab:  make([]byte, 0, 4096),
	}
}

// Offset returns the absolute offset of the next unread byte: after a
// successful Next, the end of the returned command.
func (r *Reader) Offset() int64 { return r.off }

// Line returns the 1-based line of [Reader.Offset].
func (r *Reader) Line() int64 { return r.line }

// SetOffset tells the Reader that other code consumed the underlying
// *bufio.Reader up to absolute offset off (typically an RDB decoder after
// [ErrRDBPreamble]); reading continues there with preamble detection off.
// Line numbers restart at 1 because the binary preamble has no lines.
func (r *Reader) SetOffset(off int64) {
	r.off = off
	r.line = 1
	r.started = true
	if r.err == ErrRDBPreamble {
		r.err = nil
	}
}

// Next returns the next command. It returns io.EOF at a clean end of input
// (after a complete record or annotation line; annotations at the very end
// are dropped). The first call returns [ErrRDBPreamble] if the input starts
// with "REDIS". Other errors are *[FormatError] (or I/O errors wrapped in
// one) and are sticky.
func (r *Reader) Next() (Command, error) {
	if r.err != nil {
		return Command{}, r.err
	}
	if !r.started {
		if p, _ := r.br.Peek(5); string(p) == "REDIS" {
			return Command{}, ErrRDBPreamble
		}
		r.started = true
	}
	start, startLine := r.off, r.line
	var cmd Command
	cmd.Offset, cmd.Line, cmd.RecordOffset = start, startLine, r.off
	if r.fast(&cmd) {
		return cmd, nil
	}
	for {
		p, err := r.br.Peek(1)
		if len(p) == 0 {
			if err == io.EOF {
				r.err = io.EOF
				return Command{}, io.EOF
			}
			return Command{}, r.fail(r.off, start, startLine, "record", err)
		}
		if p[0] != '#' {
			break
		}
		line, err := r.readLine(start, startLine, "annotation", '#')
		if err != nil {
			return Command{}, err
		}
		cmd.Annotation = string(trimEOL(line[1:]))
	}
	cmd.Offset, cmd.Line, cmd.RecordOffset = start, startLine, r.off
	if r.fast(&cmd) {
		return cmd, nil
	}

	lineOff, lineNo := r.off, r.line
	line, err := r.readLine(start, startLine, "argument count", '*')
	if err != nil {
		return Command{}, err
	}
	argc, err := parseHeader(line, '*', r.lim.MaxArgs)
	if err == nil && argc < 1 {
		err = fmt.Errorf("%w: argument count %d, want >= 1", ErrFormat, argc)
	}
	if err != nil {
		return Command{}, r.fail(lineOff, start, lineNo, "argument count", err)
	}

	r.slab, r.ends, r.counted = r.slab[:0], r.ends[:0], 0
	for i := int64(0); i < argc; i++ {
		if err := r.readBulk(start, startLine, i); err != nil {
			return Command{}, err
		}
	}
	r.syncLines()
	cmd.End = r.off
	if r.reuse {
		r.args = r.args[:0]
		prev := 0
		for _, e := range r.ends {
			r.args = append(r.args, r.slab[prev:e:e])
			prev = e
		}
		cmd.Args = r.args
		return cmd, nil
	}
	buf := append(r.allocBytes(len(r.slab)), r.slab...)
	cmd.Args = r.allocArgs(len(r.ends))
	prev := 0
	for i, e := range r.ends {
		cmd.Args[i] = buf[prev:e:e]
		prev = e
	}
	return cmd, nil
}

// fast parses a whole well-formed record that is already in the bufio
// buffer with one Peek and one Discard. It returns false, consuming
// nothing, for anything unusual (record not fully buffered, bad syntax,
// limits), which the general path then handles and reports.
func (r *Reader) fast(cmd *Command) bool {
	buf, _ := r.br.Peek(r.br.Buffered())
	argc, i, ok := fastNum(buf, 0, '*')
	if !ok || argc < 1 || argc > r.lim.MaxArgs || argc > int64(len(buf)) {
		return false
	}
	r.ends = r.ends[:0] // pairs of (start, end) offsets into buf
	total := 0
	for range argc {
		var n int64
		n, i, ok = fastNum(buf, i, '$')
		if !ok || n > r.lim.MaxBulkLen || n > int64(len(buf)-i-2) {
			return false
		}
		e := i + int(n)
		if buf[e] != '\r' || buf[e+1] != '\n' {
			return false
		}
		r.ends = append(r.ends, i, e)
		total += int(n)
		i = e + 2
	}
	rec := buf[:i]
	if r.reuse {
		// Alias the bufio buffer: valid until the next read from it.
		r.args = r.args[:0]
		for k := 0; k < len(r.ends); k += 2 {
			r.args = append(r.args, rec[r.ends[k]:r.ends[k+1]:r.ends[k+1]])
		}
		cmd.Args = r.args
	} else {
		cmd.Args = r.allocArgs(int(argc))
		slab := r.allocBytes(total)
		for k := 0; k < len(r.ends); k += 2 {
			at := len(slab)
			slab = append(slab, rec[r.ends[k]:r.ends[k+1]]...)
			cmd.Args[k/2] = slab[at:len(slab):len(slab)]
		}
	}
	r.line += int64(bytes.Count(rec, []byte{'\n'}))
	r.off += int64(i)
	cmd.End = r.off
	r.br.Discard(i)
	return true
}

// Copies handed to callers are carved out of small shared arenas: two
// allocations per command would dominate the cost of reading small
// commands. Each piece has its capacity clipped, so appending to one
// argument never overwrites another; a retained argument keeps at most one
// arena (arenaBytes) alive.
const (
	arenaBytes = 8 << 10
	arenaArgs  = 256
)

// allocBytes returns an empty slice with capacity n.
func (r *Reader) allocBytes(n int) []byte {
	if n > arenaBytes/4 {
		return make([]byte, 0, n)
	}
	if len(r.arena)+n > cap(r.arena) {
		r.arena = make([]byte, 0, arenaBytes)
	}
	at := len(r.arena)
	r.arena = r.arena[:at+n]
	return r.arena[at : at : at+n]
}

// allocArgs returns a slice of n nil arguments.
func (r *Reader) allocArgs(n int) [][]byte {
	if n > arenaArgs/4 {
		return make([][]byte, n)
	}
	if len(r.argArena)+n > cap(r.argArena) {
		r.argArena = make([][]byte, 0, arenaArgs)
	}
	at := len(r.argArena)
	r.argArena = r.argArena[:at+n]
	return r.argArena[at : at+n : at+n]
}

// fastNum parses "<prefix><digits>\r\n" at buf[i:], at most 18 digits.
func fastNum(buf []byte, i int, prefix byte) (int64, int, bool) {
	if i >= len(buf) || buf[i] != prefix {
		return 0, 0, false
	}
	i++
	var n int64
	j := i
	for ; j < len(buf) && buf[j] >= '0' && buf[j] <= '9'; j++ {
		n = n*10 + int64(buf[j]-'0')
	}
	if j == i || j-i > 18 || j+1 >= len(buf) || buf[j] != '\r' || buf[j+1] != '\n' {
		return 0, 0, false
	}
	return n, j + 2, true
}

// readBulk reads argument i ("$<len>\r\n<len bytes>\r\n") into the slab.
func (r *Reader) readBulk(start, startLine, i int64) error {
	lineOff := r.off
	r.syncLines()
	lineNo := r.line
	line, err := r.readLine(start, startLine, "argument length", '$')
	if err != nil {
		return err
	}
	n, err := parseHeader(line, '$', r.lim.MaxBulkLen)
	if err != nil {
		return r.fail(lineOff, start, lineNo, fmt.Sprintf("argument %d length", i+1), err)
	}
	need := int(n) + 2 // n <= MaxBulkLen, which fits an int on 64-bit and is checked below otherwise
	if int64(need) != n+2 || need < 0 {
		return r.fail(lineOff, start, lineNo, fmt.Sprintf("argument %d length", i+1), fmt.Errorf("%w: bulk length %d", ErrLimit, n))
	}
	var crlf []byte
	if need <= r.br.Size() {
		p, err := r.br.Peek(need)
		if len(p) < need {
			return r.short(start, startLine, int64(len(p)), err)
		}
		r.slab = append(r.slab, p[:n]...)
		crlf = p[n:]
	} else {
		// Large argument: copy chunk by chunk so memory grows only with
		// bytes that really exist in the input.
		rem := int(n)
		got := int64(0)
		for rem > 0 {
			k := min(rem, r.br.Size())
			p, err := r.br.Peek(k)
			r.slab = append(r.slab, p...)
			d, _ := r.br.Discard(len(p))
			got += int64(d)
			rem -= d
			if len(p) < k {
				r.off += got
				return r.short(start, startLine, 0, err)
			}
		}
		r.off += got
		p, err := r.br.Peek(2)
		if len(p) < 2 {
			return r.short(start, startLine, int64(len(p)), err)
		}
		crlf = p
		need = 2
	}
	if crlf[0] != '\r' || crlf[1] != '\n' {
		payloadEnd := r.off + int64(need) - 2
		r.syncLines()
		return r.fail(payloadEnd, start, r.line, fmt.Sprintf("argument %d", i+1),
			fmt.Errorf("%w: expected \"\\r\\n\" after %d-byte bulk, found %q", ErrFormat, n, crlf[:2]))
	}
	r.br.Discard(need)
	r.off += int64(need)
	r.line++ // the CRLF; newlines inside the payload are counted by syncLines
	r.ends = append(r.ends, len(r.slab))
	return nil
}

// syncLines adds the newlines inside payloads read so far to r.line. One
// bytes.Count per command is much cheaper than one per argument.
func (r *Reader) syncLines() {
	if r.counted < len(r.slab) {
		r.line += int64(bytes.Count(r.slab[r.counted:], []byte{'\n'}))
		r.counted = len(r.slab)
	}
}

// readLine reads one '\n'-terminated line that must start with prefix and
// advances the position. A wrong first byte is a format error even when the
// line is cut by the end of input (trailing garbage is not a torn record).
func (r *Reader) readLine(start, startLine int64, what string, prefix byte) ([]byte, error) {
	if p, _ := r.br.Peek(1); len(p) == 1 && p[0] != prefix {
		return nil, r.fail(r.off, start, r.line, what, fmt.Errorf("%w: expected '%c', found %s", ErrFormat, prefix, quoteByte(p[0])))
	}
	line, err := r.br.ReadSlice('\n')
	switch {
	case err == nil && len(line) <= r.lim.MaxLineLen:
		r.off += int64(len(line))
		r.line++
		return line, nil
	case err == nil || err == bufio.ErrBufferFull:
		off := r.off
		r.off += int64(len(line))
		r.syncLines()
		return nil, r.fail(off, start, r.line, what, fmt.Errorf("%w: %s line longer than %d bytes", ErrLimit, what, min(r.lim.MaxLineLen, r.br.Size())))
	case err == io.EOF:
		return nil, r.short(start, startLine, int64(len(line)), err)
	default:
		return nil, r.fail(r.off, start, r.line, what, err)
	}
}

// short reports input that ended inside the record starting at start;
// pending bytes were seen but not yet added to r.off.
func (r *Reader) short(start, startLine, pending int64, err error) error {
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return r.fail(r.off, start, startLine, "record", err)
	}
	r.off += pending
	r.err = &FormatError{Offset: start, Record: start, Line: startLine, Context: "record", Tail: r.off - start, Err: ErrTruncated}
	return r.err
}

func (r *Reader) fail(off, start, line int64, what string, err error) error {
	r.err = &FormatError{Offset: off, Record: start, Line: line, Context: what, Err: err}
	return r.err
}

// parseHeader parses "<prefix><decimal>\r\n". Leading zeros are accepted;
// signs, spaces and a bare '\n' are not.
func parseHeader(line []byte, prefix byte, limit int64) (int64, error) {
	if line[0] != prefix {
		return 0, fmt.Errorf("%w: expected '%c', found %s", ErrFormat, prefix, quoteByte(line[0]))
	}
	if len(line) < 4 || line[len(line)-2] != '\r' {
		return 0, fmt.Errorf("%w: expected \"%c<number>\\r\\n\", found %q", ErrFormat, prefix, clip(line))
	}
	digits := line[1 : len(line)-2]
	var n int64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: expected \"%c<number>\\r\\n\", found %q", ErrFormat, prefix, clip(line))
		}
		if d := int64(c - '0'); limit < d || n > (limit-d)/10 {
			return 0, fmt.Errorf("%w: %q exceeds %d", ErrLimit, clip(line[:len(line)-2]), limit)
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}

func quoteByte(b byte) string { return fmt.Sprintf("%q", []byte{b}) }

func clip(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte{'\n'})
	return bytes.TrimSuffix(b, []byte{'\r'})
}
