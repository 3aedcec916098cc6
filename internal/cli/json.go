package cli

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"math/bits"
	"strconv"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string. s should be valid UTF-8 (use
// [AppendBytes] for arbitrary bytes); invalid bytes are replaced by U+FFFD.
func AppendString(dst []byte, s string) []byte {
	dst, _ = appendText(dst, s, false, 0)
	return dst
}

// appendText appends s as a JSON string in one pass: runs of plain ASCII
// are skipped 8 bytes at a time and copied at once, other bytes are escaped
// or checked as UTF-8. An invalid UTF-8 byte becomes \ufffd, or, with
// strict, stops appendText, which returns false and a dst holding a
// partial string. The first from bytes of s are known to be plain ASCII.
func appendText[T string | []byte](dst []byte, s T, strict bool, from int) ([]byte, bool) {
	dst = append(dst, '"')
	start, i := 0, from
	for {
		// Find the next byte that is not plain ASCII: 8 at a time, then
		// one at a time for the tail.
		for i+8 <= len(s) {
			t := s[i : i+8] // constant length: no bounds check per byte
			w := uint64(t[0]) | uint64(t[1])<<8 | uint64(t[2])<<16 | uint64(t[3])<<24 |
				uint64(t[4])<<32 | uint64(t[5])<<40 | uint64(t[6])<<48 | uint64(t[7])<<56
			if m := specialMask(w); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto special
			}
			i += 8
		}
		for i < len(s) && jsonEscape[s[i]] == 0 {
			i++
		}
		if i >= len(s) {
			break
		}
	special:
		if c := s[i]; c < utf8.RuneSelf {
			// A run of ASCII bytes to escape.
			dst = append(dst, s[start:i]...)
			for {
				switch e := jsonEscape[c]; e {
				case 'u':
					dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
				default:
					dst = append(dst, '\\', e)
				}
				i++
				if i >= len(s) {
					break
				}
				if c = s[i]; c >= utf8.RuneSelf || jsonEscape[c] == 0 {
					break
				}
			}
			start = i
			continue
		}
		size := runeLen(s[i:])
		if size == 0 {
			if strict {
				return dst, false
			}
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		// U+2028/2029 (E2 80 A8/A9) are valid JSON but break JavaScript
		// line parsing.
		if s[i] == 0xe2 && s[i+1] == 0x80 && s[i+2]&0xfe == 0xa8 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[s[i+2]&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"'), true
}

// jsonEscape says how appendText treats each byte: 0 copies it as is (plain
// ASCII), 'u' writes \u00XX, any other letter writes a backslash and that
// letter; bytes >= 0x80 are 1 (checked as UTF-8).
var jsonEscape = func() (t [256]byte) {
	for c := range 0x20 {
		t[c] = 'u'
	}
	t['\n'], t['\r'], t['\t'], t['"'], t['\\'] = 'n', 'r', 't', '"', '\\'
	for c := 0x80; c < 0x100; c++ {
		t[c] = 1
	}
	return t
}()

// runeLen returns the length of the valid UTF-8 sequence at the start of
// s, which starts with a byte >= 0x80, or 0 when it is invalid (where
// utf8.DecodeRune returns RuneError, 1). The ranges are those of the
// unicode/utf8 package: no overlong forms, surrogates or values above
// U+10FFFF.
func runeLen[T string | []byte](s T) int {
	c := s[0]
	cont := func(i int, lo, hi byte) bool { return i < len(s) && s[i] >= lo && s[i] <= hi }
	switch {
	case c < 0xc2:
		return 0
	case c < 0xe0:
		if cont(1, 0x80, 0xbf) {
			return 2
		}
	case c < 0xf0:
		lo, hi := byte(0x80), byte(0xbf)
		switch c {
		case 0xe0:
			lo = 0xa0
		case 0xed:
			hi = 0x9f
		}
		if cont(1, lo, hi) && cont(2, 0x80, 0xbf) {
			return 3
		}
	case c < 0xf5:
		lo, hi := byte(0x80), byte(0xbf)
		switch c {
		case 0xf0:
			lo = 0x90
		case 0xf4:
			hi = 0x8f
		}
		if cont(1, lo, hi) && cont(2, 0x80, 0xbf) && cont(3, 0x80, 0xbf) {
			return 4
		}
	}
	return 0
}

// plainWord reports whether the 8 bytes of w are ASCII with none below
// 0x20, no '"' and no '\\'.
func plainWord(w uint64) bool { return specialMask(w) == 0 }

// plainPrefix returns len(b) when all of b is plain ASCII that JSON takes
// as is (no byte below 0x20 or >= 0x80, no '"' or '\\'), else a length
// (a multiple of 8, possibly 0) of a plain prefix. It tests 8 bytes at a
// time, the last (partial) word overlapping the one before; a short b
// is tested as one word of two overlapping halves.
func plainPrefix(b []byte) int {
	n := len(b)
	switch {
	case n >= 8:
		for i := 0; i+8 <= n; i += 8 {
			if specialMask(binary.LittleEndian.Uint64(b[i:])) != 0 {
				return i
			}
		}
		if specialMask(binary.LittleEndian.Uint64(b[n-8:])) != 0 {
			return n &^ 7
		}
	case n >= 4:
		w := uint64(binary.LittleEndian.Uint32(b)) | uint64(binary.LittleEndian.Uint32(b[n-4:]))<<32
		if specialMask(w) != 0 {
			return 0
		}
	default:
		for _, c := range b {
			if jsonEscape[c] != 0 {
				return 0
			}
		}
	}
	return n
}

// specialMask returns the high bit of each byte of w (little-endian) that
// is below 0x20, '"', '\\' or >= 0x80, by SWAR tests. A test can also mark
// a plain byte above a special one (a borrow carries into it), never one
// below, so the lowest set bit is exactly the first special byte.
func specialMask(w uint64) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	ctl := (w - 0x20*lo) &^ w
	q := w ^ '"'*lo
	q = (q - lo) &^ q
	b := w ^ '\\'*lo
	b = (b - lo) &^ b
	return (ctl | q | b | w) & hi
}

// AppendBytes appends a byte string the project's way: a JSON string when
// it is valid UTF-8, else {"base64":"<standard base64>"}. encoding/json
// would silently replace invalid bytes, so every key and value goes here.
func AppendBytes(dst, b []byte) []byte {
	p := plainPrefix(b)
	if p == len(b) {
		// The common case (keys, base64-like or decimal values): no
		// escapes, no UTF-8 to check, one copy.
		dst = append(dst, '"')
		dst = append(dst, b...)
		return append(dst, '"')
	}
	n := len(dst)
	if out, ok := appendText(dst, b, true, p); ok {
		return out
	}
	dst = append(dst[:n], `{"base64":"`...)
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
	// Integral values below 10^6 print as integers (strconv's shortest 'g'
	// switches to an exponent from 10^6 on); -0 keeps its sign through
	// strconv.
	if i := int64(f); float64(i) == f && i > -1e6 && i < 1e6 && (i != 0 || !math.Signbit(f)) {
		return strconv.AppendInt(dst, i, 10)
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
