package resp

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

// CheckOptions configure [Check]. The zero value checks a plain AOF the
// way redis-check-aof 7.x does.
type CheckOptions struct {
	// StartOffset is the absolute file offset of the first byte of r, e.g.
	// the end of an RDB preamble. All offsets in the result are absolute.
	StartOffset int64
	// StartLine is the initial value of redis-check-aof's line counter
	// (0 means 1). For a multi-part AOF pass the previous file's
	// OkUpToLine: the real tool's counter is cumulative across files.
	StartLine int64
	// Name is the file path that 7.x puts in "Unexpected MULTI in AOF
	// <name>" messages: the path given on the command line, or for a
	// manifest "<manifest dir>/<file name>".
	Name string
	// TruncateToTimestamp, if non-zero, emulates --truncate-to-timestamp:
	// scanning stops at the first "#TS:" annotation whose value is greater
	// (see CheckResult.TruncateAt). Zero disables it, as in the real tool.
	TruncateToTimestamp int64
	// Legacy selects the Redis <= 6.2 checker: no annotation support ('#'
	// gives "Expected prefix '*', got: '#'"), a bad first byte is reported
	// as an "Expected prefix" message instead of "format error", and the
	// MULTI/EXEC messages carry no file name.
	Legacy bool
}

// CheckResult is what redis-check-aof computes for one file (or for the
// RESP tail after an RDB preamble).
type CheckResult struct {
	Size       int64 // StartOffset + bytes read from r
	OkUpTo     int64 // last record boundary outside MULTI where scanning stopped ("ok_up_to")
	OkUpToLine int64 // the tool's line counter when scanning stopped ("ok_up_to_line")
	Diff       int64 // Size - OkUpTo; > 0 means the file is not valid

	// Message is the recorded problem without the offset prefix, e.g.
	// "Expected to read 13 bytes, got 6 bytes"; empty if none (a record cut
	// right before a "$" line, or a format error, records no message).
	Message       string
	MessageOffset int64 // the "0x%16llx" offset printed before Message
	// FormatError is set when a record started with a byte other than '*'
	// or '#' (7.x prints "AOF <name> format error" and no message).
	FormatError bool
	InMulti     bool // scanning stopped inside MULTI ... EXEC

	Commands      int64 // complete records scanned
	Annotations   int64 // annotation lines scanned
	LastTimestamp int64 // value of the last well-formed "#TS:" annotation
	HasTimestamp  bool  // LastTimestamp is set

	// TruncateAt is, with TruncateToTimestamp, the absolute offset of the
	// first annotation with ts > T (the tool truncates the file there, or
	// refuses if it is 0 or the file is not the last one); -1 otherwise.
	TruncateAt int64
	// InvalidTimestamp is set when, with TruncateToTimestamp, a "#TS:" line
	// was not a number directly followed by '\r' ("Invalid timestamp
	// annotation"); scanning stopped there.
	InvalidTimestamp bool
}

// Valid reports whether the checked bytes need no fix.
func (c *CheckResult) Valid() bool {
	return c.Diff == 0 && !c.InvalidTimestamp && c.TruncateAt < 0
}

// MessageLine formats Message the way redis-check-aof prints it:
// "0x<offset as %16x>: <message>". It returns "" if there is no message.
func (c *CheckResult) MessageLine() string {
	if c.Message == "" {
		return ""
	}
	return fmt.Sprintf("0x%16x: %s", c.MessageOffset, c.Message)
}

// AnalyzedLine formats the summary line redis-check-aof prints for a file:
// "AOF analyzed: filename=<name>, size=..., diff=..." (7.x) or, with legacy
// (6.2), the same without the filename.
func (c *CheckResult) AnalyzedLine(name string, legacy bool) string {
	if legacy {
		return fmt.Sprintf("AOF analyzed: size=%d, ok_up_to=%d, ok_up_to_line=%d, diff=%d", c.Size, c.OkUpTo, c.OkUpToLine, c.Diff)
	}
	return fmt.Sprintf("AOF analyzed: filename=%s, size=%d, ok_up_to=%d, ok_up_to_line=%d, diff=%d", name, c.Size, c.OkUpTo, c.OkUpToLine, c.Diff)
}

// Check scans r exactly as redis-check-aof does and reports where the valid
// prefix ends. It reads r to the end (to learn the size) and keeps only a
// few bytes of each record in memory, so lengths the real tool would try to
// allocate are only counted here. It returns an error only for I/O errors.
//
// Behaviour reproduced from redis-check-aof.c: count and length lines are
// read with fgets(128) and parsed with strtol (leading blanks and a sign are
// accepted, "*\r\n" is a zero-argument record); the byte after the digits
// must start "\r\n"; lengths must be in 0..LONG_MAX-2; every bulk must be
// followed by "\r\n"; MULTI/EXEC are matched case-insensitively on the first
// argument up to its first NUL; annotation lines are read with fgets(1024),
// so a longer one continues as a new "record".
func Check(r io.Reader, opt *CheckOptions) (*CheckResult, error) {
	var o CheckOptions
	if opt != nil {
		o = *opt
	}
	s := &checker{br: bufio.NewReaderSize(r, 64<<10), pos: o.StartOffset, line: o.StartLine, opt: &o}
	if s.line == 0 {
		s.line = 1
	}
	res := &CheckResult{TruncateAt: -1}
	pos := s.pos
	multi := 0
	formatErr := false
scan:
	for {
		if multi == 0 {
			pos = s.pos
		}
		p, err := s.br.Peek(1)
		if len(p) == 0 {
			if err != io.EOF {
				return nil, s.ioErr(err)
			}
			s.eof = true
			if o.Legacy {
				s.epos = s.pos // 6.2 reaches EOF inside readLong, which sets epos first
			}
			break
		}
		switch {
		case p[0] == '#' && !o.Legacy:
			stop, err := s.annotation(res)
			if err != nil {
				return nil, err
			}
			if stop {
				break scan
			}
		case p[0] == '*' || o.Legacy:
			ok, err := s.record(&multi)
			if err != nil {
				return nil, err
			}
			if !ok {
				break scan
			}
			res.Commands++
		default:
			formatErr = true
			break scan
		}
	}
	if s.eof && multi != 0 && !s.hasMsg {
		s.fail("Reached EOF before reading EXEC for MULTI")
	}
	// Learn the size: the rest of the input is not examined.
	n, err := io.Copy(io.Discard, s.br)
	if err != nil {
		return nil, s.ioErr(err)
	}
	res.Size = s.pos + n
	res.OkUpTo = pos
	res.OkUpToLine = s.line
	res.Diff = res.Size - pos
	res.FormatError = formatErr
	res.InMulti = multi != 0
	if s.hasMsg {
		res.Message, res.MessageOffset = s.msg, s.epos
	}
	return res, nil
}

type checker struct {
	br     *bufio.Reader
	opt    *CheckOptions
	pos    int64 // ftello
	epos   int64 // offset recorded by readLong/readBytes/processAnnotations
	line   int64
	eof    bool // feof
	msg    string
	hasMsg bool
	buf    [1024]byte
	name   [6]byte // first bytes of a record's first argument
}

func (s *checker) ioErr(err error) error {
	return &FormatError{Offset: s.pos, Line: s.line, Context: "check", Err: err}
}

// fail records the message like the ERROR macro: formatted into a
// 1024-byte buffer, and %c of a NUL byte ends the C string early.
func (s *checker) fail(msg string) {
	if i := bytes.IndexByte([]byte(msg), 0); i >= 0 {
		msg = msg[:i]
	}
	if len(msg) > 1023 {
		msg = msg[:1023]
	}
	s.msg, s.hasMsg = msg, true
}

// fgets emulates fgets(buf, size, fp): up to size-1 bytes, stopping after
// '\n'. It returns nil at EOF with nothing read.
func (s *checker) fgets(size int) ([]byte, error) {
	p, err := s.br.Peek(size - 1)
	if len(p) == 0 {
		if err == io.EOF {
			s.eof = true
			return nil, nil
		}
		return nil, s.ioErr(err)
	}
	if err != nil && err != io.EOF {
		return nil, s.ioErr(err)
	}
	n := len(p)
	if i := bytes.IndexByte(p, '\n'); i >= 0 {
		n = i + 1
	} else if n < size-1 {
		s.eof = true // the read hit the end of the file
	}
	line := s.buf[:copy(s.buf[:], p[:n])]
	s.br.Discard(n)
	s.pos += int64(n)
	return line, nil
}

// peekBuffered returns what the read buffer holds without reading.
func (s *checker) peekBuffered() []byte {
	p, _ := s.br.Peek(s.br.Buffered())
	return p
}

// at returns buf[i] as C sees it after fgets: the data, then the NUL
// terminator. Bytes past the terminator are stack garbage in C; we use 0.
func at(line []byte, i int) byte {
	if i < len(line) {
		return line[i]
	}
	return 0
}

// cstr cuts b at its first NUL, as C string functions see it.
func cstr(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// hex2 formats a byte like printf("%02x", (char)b) on x86-64, where char is
// signed: bytes >= 0x80 are sign-extended ("ffffff80").
func hex2(b byte) string {
	if b >= 0x80 {
		return fmt.Sprintf("ffffff%02x", b)
	}
	return fmt.Sprintf("%02x", b)
}

func (s *checker) consumeNewline(b0, b1 byte) bool {
	if b0 != '\r' || b1 != '\n' {
		s.fail("Expected \\r\\n, got: " + hex2(b0) + hex2(b1))
		return false
	}
	s.line++
	return true
}

// readLong emulates readLong(fp, prefix, &target).
func (s *checker) readLong(prefix byte) (int64, bool, error) {
	s.epos = s.pos
	// Fast path for the well-formed line: prefix, 1..18 digits, "\r\n",
	// parsed in place in the read buffer. It yields what the emulation
	// below would (same value, same bytes consumed) without copying the
	// line out through fgets; anything else takes the emulation.
	if p := s.peekBuffered(); len(p) >= 4 && p[0] == prefix {
		var v int64
		i := 1
		for ; i < len(p) && i <= 18 && p[i] >= '0' && p[i] <= '9'; i++ {
			v = v*10 + int64(p[i]-'0')
		}
		if i > 1 && i+1 < len(p) && p[i] == '\r' && p[i+1] == '\n' {
			s.br.Discard(i + 2)
			s.pos += int64(i + 2)
			s.line++
			return v, true, nil
		}
	}
	line, err := s.fgets(128)
	if line == nil || err != nil {
		return 0, false, err
	}
	if line[0] != prefix {
		// %c prints the raw byte (not a UTF-8 encoded rune as Go's %c would).
		s.fail("Expected prefix '" + string(prefix) + "', got: '" + string(line[:1]) + "'")
		return 0, false, nil
	}
	v, end, _ := strtol(cstr(line)[1:])
	e := 1 + end
	return v, s.consumeNewline(at(line, e), at(line, e+1)), nil
}

// record emulates processRESP (7.x) / one iteration of process (6.2).
func (s *checker) record(multi *int) (bool, error) {
	argc, ok, err := s.readLong('*')
	if !ok || err != nil {
		return false, err
	}
	for i := int64(0); i < argc; i++ {
		name, ok, err := s.readString(i == 0)
		if !ok || err != nil {
			return false, err
		}
		if i != 0 {
			continue
		}
		switch {
		case bytes.EqualFold(name, []byte("multi")):
			*multi++
			if *multi != 1 {
				s.fail(s.txMsg("Unexpected MULTI"))
				return false, nil
			}
		case bytes.EqualFold(name, []byte("exec")):
			*multi--
			if *multi != 0 {
				s.fail(s.txMsg("Unexpected EXEC"))
				return false, nil
			}
		}
	}
	return true, nil
}

func (s *checker) txMsg(m string) string {
	if s.opt.Legacy {
		return m
	}
	return m + " in AOF " + s.opt.Name
}

// readString emulates readString + readBytes. It keeps only the first six
// payload bytes of the first argument (enough to compare with "multi" and
// "exec" up to a NUL) instead of allocating the declared length.
func (s *checker) readString(first bool) ([]byte, bool, error) {
	l, ok, err := s.readLong('$')
	if !ok || err != nil {
		return nil, false, err
	}
	if l < 0 || l > maxLong-2 {
		s.fail(fmt.Sprintf("Expected to read string of %d bytes, which is not in the suitable range", l))
		return nil, false, nil
	}
	s.epos = s.pos
	// Fast path: the whole bulk and its "\r\n" are buffered.
	if p := s.peekBuffered(); int64(len(p)) >= l+2 && p[l] == '\r' && p[l+1] == '\n' {
		var name []byte
		if first {
			name = cstr(s.name[:copy(s.name[:], p[:min(l, 6)])])
		}
		s.br.Discard(int(l + 2))
		s.pos += l + 2
		s.line++
		return name, true, nil
	}
	var name []byte
	if first {
		p, _ := s.br.Peek(int(min(l, 6)))
		name = cstr(s.name[:copy(s.name[:], p)])
	}
	// fread(target, 1, l+2, fp)
	got := int64(0)
	for got < l {
		k := int(min(l-got, int64(s.br.Size())))
		d, err := s.br.Discard(k)
		got += int64(d)
		if err != nil {
			if err != io.EOF {
				return nil, false, s.ioErr(err)
			}
			break
		}
	}
	s.pos += got
	var crlf [2]byte
	if got == l {
		p, err := s.br.Peek(2)
		if err != nil && err != io.EOF {
			return nil, false, s.ioErr(err)
		}
		copy(crlf[:], p)
		s.br.Discard(len(p))
		s.pos += int64(len(p))
		got += int64(len(p))
	}
	if got != l+2 {
		s.eof = true
		s.fail(fmt.Sprintf("Expected to read %d bytes, got %d bytes", l+2, got))
		return nil, false, nil
	}
	if !s.consumeNewline(crlf[0], crlf[1]) {
		return nil, false, nil
	}
	return name, true, nil
}

// annotation emulates processAnnotations; it reports whether scanning
// stops (timestamp cut or invalid timestamp).
func (s *checker) annotation(res *CheckResult) (bool, error) {
	s.epos = s.pos
	line, err := s.fgets(1024)
	if err != nil || line == nil {
		return false, err
	}
	res.Annotations++
	c := cstr(line)
	if !bytes.HasPrefix(c, []byte("#TS:")) {
		return false, nil
	}
	ts, end, overflow := strtol(c[4:])
	valid := !overflow && at(line, 4+end) == '\r'
	if valid {
		res.LastTimestamp, res.HasTimestamp = ts, true
	}
	if s.opt.TruncateToTimestamp == 0 {
		return false, nil
	}
	if !valid {
		res.InvalidTimestamp = true
		return true, nil
	}
	if ts <= s.opt.TruncateToTimestamp {
		return false, nil
	}
	res.TruncateAt = s.epos
	return true, nil
}

const maxLong = 1<<63 - 1

// strtol emulates C strtol(s, &end, 10) on a C string: optional leading
// white space and sign, then digits; it clamps on overflow. end is the
// index after the digits, or 0 when there are none.
func strtol(s []byte) (v int64, end int, overflow bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	limit := uint64(maxLong)
	if neg {
		limit++
	}
	digits := i
	var u uint64
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		d := uint64(s[i] - '0')
		if overflow || u > (limit-d)/10 {
			overflow = true
			continue
		}
		u = u*10 + d
	}
	if i == digits {
		return 0, 0, false
	}
	switch {
	case overflow && neg:
		return -maxLong - 1, i, true
	case overflow:
		return maxLong, i, true
	case neg:
		return -int64(u-1) - 1, i, false
	}
	return int64(u), i, false
}
