// Package manifest reads and writes the manifest of a Redis 7.0+ multi-part
// AOF (appendonlydir/appendonly.aof.manifest) and locates the files it
// lists. Parsing follows aof.c (aofLoadManifestFromFile, sdssplitargs) rule
// for rule; Marshal follows aofInfoFormat (sdscatrepr quoting).
package manifest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// FileType is a manifest file type.
type FileType byte

// File types as written in the manifest ("type b|h|i").
const (
	TypeBase    FileType = 'b'
	TypeHistory FileType = 'h'
	TypeIncr    FileType = 'i'
)

func (t FileType) String() string {
	switch t {
	case TypeBase:
		return "base"
	case TypeHistory:
		return "history"
	case TypeIncr:
		return "incr"
	}
	return "type(" + strconv.QuoteRune(rune(t)) + ")"
}

// File is one manifest record.
type File struct {
	Name string
	Seq  int64
	Type FileType
}

// Manifest is a parsed multi-part AOF manifest. Files are in file order.
type Manifest struct{ Files []File }

// Base returns the base file, or nil if there is none.
func (m *Manifest) Base() *File {
	for i := range m.Files {
		if m.Files[i].Type == TypeBase {
			return &m.Files[i]
		}
	}
	return nil
}

// Incrs returns the INCR files in manifest order (the load order).
func (m *Manifest) Incrs() []File { return m.ofType(TypeIncr) }

// History returns the history files (never loaded).
func (m *Manifest) History() []File { return m.ofType(TypeHistory) }

func (m *Manifest) ofType(t FileType) []File {
	var out []File
	for _, f := range m.Files {
		if f.Type == t {
			out = append(out, f)
		}
	}
	return out
}

// DefaultMaxSize caps the manifest size accepted by [Parse].
const DefaultMaxSize = 1 << 20

// maxLine is Redis' MANIFEST_MAX_LINE: lines are read with fgets into a
// 1025-byte buffer, so at most 1024 bytes per read.
const maxLine = 1024

// Parse reads a manifest with the rules of Redis 7.x. Errors are
// *[ParseError]. Inputs over [DefaultMaxSize] fail with [ErrTooLarge].
func Parse(r io.Reader) (*Manifest, error) { return ParseSize(r, DefaultMaxSize) }

// ParseSize is [Parse] with an explicit size cap in bytes.
func ParseSize(r io.Reader, maxSize int64) (*Manifest, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, maxSize+1), 4096)
	m := &Manifest{}
	var (
		lineNo  int
		read    int64
		hasBase bool
		maxSeq  int64
	)
	for {
		chunk, err := fgets(br, maxLine)
		if err != nil {
			return nil, &ParseError{Line: lineNo + 1, Err: err}
		}
		read += int64(len(chunk))
		if read > maxSize {
			return nil, &ParseError{Line: lineNo + 1, Err: ErrTooLarge}
		}
		if chunk == nil {
			if lineNo == 0 {
				return nil, &ParseError{Line: 1, Err: ErrEmpty}
			}
			return m, nil
		}
		lineNo++
		if chunk[0] == '#' {
			continue // comment; checked before the length check, as Redis does
		}
		// Redis works on C strings from here: a NUL ends the line.
		line := cstr(chunk)
		text := string(bytes.TrimSuffix(chunk, []byte{'\n'}))
		fail := func(e error) (*Manifest, error) { return nil, &ParseError{Line: lineNo, Text: clip(text), Err: e} }
		if bytes.IndexByte(line, '\n') < 0 {
			return fail(ErrLineTooLong)
		}
		line = bytes.Trim(line, " \t\r\n")
		if len(line) == 0 {
			return fail(ErrInvalidFormat)
		}
		argv, ok := splitArgs(line)
		if !ok || len(argv) < 6 || len(argv)%2 != 0 {
			return fail(ErrInvalidFormat)
		}
		var f File
		hasName := false
		for i := 0; i < len(argv); i += 2 {
			switch {
			case equalFoldC(argv[i], "file"):
				name := cstr(argv[i+1])
				if bytes.ContainsAny(name, `/\`) {
					return fail(ErrPath)
				}
				f.Name, hasName = string(name), true
			case equalFoldC(argv[i], "seq"):
				f.Seq = atoll(cstr(argv[i+1]))
			case equalFoldC(argv[i], "type"):
				if len(argv[i+1]) > 0 {
					f.Type = FileType(argv[i+1][0])
				} else {
					f.Type = 0
				}
			}
			// Unknown keys are ignored for forward compatibility.
		}
		// Redis tests the name pointer only; the spec also rejects an empty
		// name, which no loader could open.
		if !hasName || f.Name == "" || f.Seq == 0 || f.Type == 0 {
			return fail(ErrInvalidFormat)
		}
		switch f.Type {
		case TypeBase:
			if hasBase {
				return fail(ErrDuplicateBase)
			}
			hasBase = true
		case TypeHistory:
		case TypeIncr:
			if f.Seq <= maxSeq {
				return fail(ErrNonMonotonic)
			}
			maxSeq = f.Seq
		default:
			return fail(ErrUnknownType)
		}
		m.Files = append(m.Files, f)
	}
}

// fgets reads like C fgets(buf, max+1, fp): up to max bytes, stopping after
// '\n'. It returns nil at the end of input.
func fgets(br *bufio.Reader, max int) ([]byte, error) {
	p, err := br.Peek(max)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, err
	}
	if len(p) == 0 {
		return nil, nil
	}
	n := len(p)
	if i := bytes.IndexByte(p, '\n'); i >= 0 {
		n = i + 1
	}
	out := append([]byte(nil), p[:n]...)
	br.Discard(n)
	return out, nil
}

func cstr(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

func clip(s string) string {
	if len(s) > 128 {
		return s[:128]
	}
	return s
}

// equalFoldC is strcasecmp(arg, key) == 0 on C strings.
func equalFoldC(arg []byte, key string) bool { return bytes.EqualFold(cstr(arg), []byte(key)) }

// atoll emulates C atoll: optional blanks and sign, then digits; junk
// after them is ignored, no digits gives 0. Overflow saturates (glibc).
func atoll(s []byte) int64 {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	var u uint64
	limit := uint64(1<<63 - 1)
	if neg {
		limit++
	}
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		d := uint64(s[i] - '0')
		if u > (limit-d)/10 {
			u = limit
			continue
		}
		u = u*10 + d
	}
	if neg {
		return -int64(u-1) - 1
	}
	return int64(u)
}

// isSpace is C isspace in the C locale.
func isSpace(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }

// splitArgs is Redis' sdssplitargs on a C string (no NULs inside).
func splitArgs(line []byte) ([][]byte, bool) {
	var argv [][]byte
	p := 0
	at := func(i int) byte {
		if i < len(line) {
			return line[i]
		}
		return 0
	}
	for {
		for at(p) != 0 && isSpace(at(p)) {
			p++
		}
		if at(p) == 0 {
			return argv, true
		}
		cur := []byte{}
		inq, insq, done := false, false, false
		for !done {
			c := at(p)
			switch {
			case inq:
				switch {
				case c == '\\' && at(p+1) == 'x' && isHex(at(p+2)) && isHex(at(p+3)):
					cur = append(cur, unhex(at(p+2))<<4|unhex(at(p+3)))
					p += 3
				case c == '\\' && at(p+1) != 0:
					p++
					switch e := at(p); e {
					case 'n':
						cur = append(cur, '\n')
					case 'r':
						cur = append(cur, '\r')
					case 't':
						cur = append(cur, '\t')
					case 'b':
						cur = append(cur, '\b')
					case 'a':
						cur = append(cur, '\a')
					default:
						cur = append(cur, e)
					}
				case c == '"':
					// A closing quote must be followed by a space or nothing.
					if at(p+1) != 0 && !isSpace(at(p+1)) {
						return nil, false
					}
					done = true
				case c == 0:
					return nil, false // unterminated quotes
				default:
					cur = append(cur, c)
				}
			case insq:
				switch {
				case c == '\\' && at(p+1) == '\'':
					p++
					cur = append(cur, '\'')
				case c == '\'':
					if at(p+1) != 0 && !isSpace(at(p+1)) {
						return nil, false
					}
					done = true
				case c == 0:
					return nil, false
				default:
					cur = append(cur, c)
				}
			default:
				switch c {
				case ' ', '\n', '\r', '\t', 0:
					done = true
				case '"':
					inq = true
				case '\'':
					insq = true
				default:
					cur = append(cur, c)
				}
			}
			if at(p) != 0 {
				p++
			}
		}
		argv = append(argv, cur)
	}
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// Marshal renders the manifest byte for byte as Redis writes it
// (aofManifestToString): the base first, then history records, then INCR
// records, each "file <name> seq <n> type <t>\n", with names quoted like
// sdscatrepr when they need it. Files of the same type keep their order.
func (m *Manifest) Marshal() []byte {
	var b []byte
	for _, t := range []FileType{TypeBase, TypeHistory, TypeIncr} {
		for _, f := range m.Files {
			if f.Type == t {
				b = appendRecord(b, f)
			}
		}
	}
	// Unknown types (rejected by Validate) are kept, last, so nothing is lost.
	for _, f := range m.Files {
		if f.Type != TypeBase && f.Type != TypeHistory && f.Type != TypeIncr {
			b = appendRecord(b, f)
		}
	}
	return b
}

func appendRecord(b []byte, f File) []byte {
	b = append(b, "file "...)
	b = appendName(b, f.Name)
	b = append(b, " seq "...)
	b = strconv.AppendInt(b, f.Seq, 10)
	b = append(b, " type "...)
	return append(b, byte(f.Type), '\n')
}

// needsRepr is sdsneedsrepr: backslash, quote, control characters, any
// non-printable byte (outside 0x20..0x7e) and any white space.
func needsRepr(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' || c == '"' || c < 0x20 || c >= 0x7f || c == ' ' {
			return true
		}
	}
	return false
}

func appendName(b []byte, s string) []byte {
	if !needsRepr(s) {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '"':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		case '\a':
			b = append(b, `\a`...)
		case '\b':
			b = append(b, `\b`...)
		default:
			if c >= 0x20 && c < 0x7f {
				b = append(b, c)
			} else {
				b = fmt.Appendf(b, `\x%02x`, c)
			}
		}
	}
	return append(b, '"')
}

// Validate checks the rules Redis enforces when loading, on a manifest
// built in memory: known types, at most one base, INCR seqs strictly
// increasing and positive, non-zero seqs, names that are plain file names
// Redis can read back (no '/', '\', NUL or "'", not empty), and records that fit
// Redis' 1024-byte line buffer. Line in the error is the 1-based index in
// m.Files.
func (m *Manifest) Validate() error {
	hasBase := false
	var maxSeq int64
	for i, f := range m.Files {
		fail := func(e error) error {
			return &ParseError{Line: i + 1, Text: clip(string(bytes.TrimSuffix(appendRecord(nil, f), []byte{'\n'}))), Err: e}
		}
		switch {
		case f.Name == "" || strings.ContainsAny(f.Name, "\x00'"):
			// NUL: Redis reads the name as a C string. A single quote is
			// not quoted by sdscatrepr, so Redis would write a line its
			// own parser rejects (unterminated quote).
			return fail(ErrName)
		case bytes.ContainsAny([]byte(f.Name), `/\`):
			return fail(ErrPath)
		case f.Seq == 0:
			return fail(ErrInvalidFormat)
		case len(appendRecord(nil, f)) > maxLine:
			return fail(ErrLineTooLong)
		}
		switch f.Type {
		case TypeBase:
			if hasBase {
				return fail(ErrDuplicateBase)
			}
			hasBase = true
		case TypeHistory:
		case TypeIncr:
			if f.Seq <= maxSeq {
				return fail(ErrNonMonotonic)
			}
			maxSeq = f.Seq
		default:
			return fail(ErrUnknownType)
		}
	}
	return nil
}
