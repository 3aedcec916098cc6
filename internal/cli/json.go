package cli

import (
	"encoding/base64"
	"math"
	"strconv"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string. s should be valid UTF-8 (use
// [AppendBytes] for arbitrary bytes); invalid bytes are replaced by U+FFFD.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Skip 8 bytes at a time while none needs escaping or is non-ASCII.
		for i+8 <= len(s) {
			w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
				uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
			if !plainWord(w) {
				break
			}
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		// U+2028/2029 are valid JSON but break JavaScript line parsing.
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// plainWord reports whether the 8 bytes of w are ASCII with none below
// 0x20, no '"' and no '\\' (SWAR tests, exact for "is there such a byte").
func plainWord(w uint64) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	ctl := (w - 0x20*lo) &^ w
	q := w ^ '"'*lo
	q = (q - lo) &^ q
	b := w ^ '\\'*lo
	b = (b - lo) &^ b
	return (ctl|q|b|w)&hi == 0
}

// AppendBytes appends a byte string the project's way: a JSON string when
// it is valid UTF-8, else {"base64":"<standard base64>"}. encoding/json
// would silently replace invalid bytes, so every key and value goes here.
func AppendBytes(dst, b []byte) []byte {
	if utf8.Valid(b) {
		return AppendString(dst, string(b))
	}
	dst = append(dst, `{"base64":"`...)
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"', '}')
}

// AppendFloat appends f as the shortest JSON number that round-trips;
// infinities become the strings "inf"/"-inf" and NaN "nan" (JSON has no
// such numbers).
func AppendFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, `"inf"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-inf"`...)
	case math.IsNaN(f):
		return append(dst, `"nan"`...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64)
}

func appendInt(dst []byte, n int64) []byte { return strconv.AppendInt(dst, n, 10) }

// Printable returns s unchanged when it is printable UTF-8, else quoted
// Go-style, so hostile keys cannot inject terminal escapes.
func Printable(s string) string {
	for _, r := range s {
		if r == utf8.RuneError || r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return strconv.Quote(s)
		}
	}
	return s
}

// PrintableBytes is [Printable] for byte strings.
func PrintableBytes(b []byte) string { return Printable(string(b)) }
