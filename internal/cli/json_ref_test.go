package cli

import (
	"bytes"
	"encoding/base64"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"unicode/utf8"
)

// refAppendString and refAppendBytes are the straightforward versions of
// AppendString and AppendBytes (utf8.Valid, then utf8.DecodeRuneInString
// per non-ASCII rune); the optimised ones must match them byte for byte.
func refAppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

func refAppendBytes(dst, b []byte) []byte {
	if utf8.Valid(b) {
		return refAppendString(dst, string(b))
	}
	dst = append(dst, `{"base64":"`...)
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"', '}')
}

func checkAppendText(t *testing.T, s []byte) {
	t.Helper()
	prefix := []byte("x")
	if got, want := AppendString(prefix, string(s)), refAppendString(prefix, string(s)); !bytes.Equal(got, want) {
		t.Fatalf("AppendString(%q) = %q, want %q", s, got, want)
	}
	if got, want := AppendBytes(prefix, s), refAppendBytes(prefix, s); !bytes.Equal(got, want) {
		t.Fatalf("AppendBytes(%q) = %q, want %q", s, got, want)
	}
}

// TestAppendTextReference compares with the reference on every 1..4-byte
// sequence starting with a non-ASCII byte (all UTF-8 edge cases) in
// several positions, and on random strings.
func TestAppendTextReference(t *testing.T) {
	for c0 := 0x80; c0 < 0x100; c0++ {
		for _, c1 := range []byte{0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xa8, 0xa9, 0xbf, 0xc0, 0xff} {
			for _, tail := range []string{"", "\x80", "\x80\x80", "\xbf\xbf", "\xc0", "abcdefghijk"} {
				seq := append([]byte{byte(c0), c1}, tail...)
				for _, pre := range []string{"", "a", "abcdefg", "abcdefgh"} {
					checkAppendText(t, append([]byte(pre), seq...))
					checkAppendText(t, append([]byte(pre), seq[:1]...))
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := []string{"a", "b", "\"", "\\", "\n", "\x00", "\x1f", "\x7f", "é", "€", "😀", "\u2028", "\u2029", "\ufffd", "\xff", "\xe2\x80", "\xed\xa0\x80", "12345678"}
	var b []byte
	for range 100000 {
		b = b[:0]
		for range r.IntN(40) {
			if r.IntN(3) == 0 {
				b = append(b, alphabet[r.IntN(len(alphabet))]...)
			} else {
				b = append(b, byte(0x20+r.IntN(0x5f)))
			}
		}
		checkAppendText(t, b)
	}
}

func FuzzAppendText(f *testing.F) {
	for _, s := range []string{"", "plain", "q\"b\\n\n\t\x01\x7f", "é€😀", "\u2028", "\xff\x00", "abcdefgh\xe2\x80\xa9"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkAppendText(t, b) })
}

func BenchmarkAppendBytes(b *testing.B) {
	s := []byte("user:1234 {\"name\":\"lorem ipsum dolor sit amet\",\"tags\":[\"alpha\",\"beta\"]} plain ASCII text of a typical value")
	dst := make([]byte, 0, 1024)
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendBytes(dst[:0], s)
	}
}

func BenchmarkAppendBytesShort(b *testing.B) {
	s := []byte("member:12345")
	dst := make([]byte, 0, 1024)
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendBytes(dst[:0], s)
	}
}

// TestAppendFloatReference checks the integer fast path of AppendFloat
// against strconv's shortest 'g' around the thresholds.
func TestAppendFloatReference(t *testing.T) {
	var vals []float64
	for p := 1.0; p < 1e19; p *= 10 {
		for _, d := range []float64{-2, -1, 0, 1, 2} {
			vals = append(vals, p+d, -(p + d), (p+d)*3, p+0.5)
		}
	}
	for i := range 20000 {
		vals = append(vals, float64(i*i*7919), -float64(i*13), float64(i)/4)
	}
	vals = append(vals, 0, math.Copysign(0, -1), 1<<53, -(1 << 53), 1<<63, math.MaxFloat64, 5e-324)
	for _, f := range vals {
		if got, want := AppendFloat(nil, f), strconv.AppendFloat(nil, f, 'g', -1, 64); !bytes.Equal(got, want) {
			t.Errorf("AppendFloat(%v) = %s, want %s", f, got, want)
		}
	}
}

// Values like those of the benchmark's strings.rdb: NUL padding, JSON
// documents, base64 text.
var benchTexts = map[string][]byte{
	"nul":    []byte("value:7981\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
	"json":   []byte(`{"id":99049,"name":"user-49","tags":["alpha","beta","gamma"],"bio":"lorem ipsum dolor sit amet lorem ipsum dolor sit amet lorem ipsum dolor sit amet lorem ipsum dolor sit amet"}`),
	"base64": []byte("C4NJtwI8j72rD4C0hBPIiRmsPMa9NFM+klPoG/PGCUA8zrL7Nzh7CiEuJM7sxN0sGdDib7YjZUYv+qCb9zverDu+0yVbU/V+xnahUKtuIq"),
	"utf8":   []byte("héllo wörld — ünïcödé text ✓ 😀 mixed with ASCII words"),
}

func BenchmarkAppendBytesKinds(b *testing.B) {
	for _, name := range []string{"nul", "json", "base64", "utf8"} {
		s := benchTexts[name]
		b.Run(name, func(b *testing.B) {
			dst := make([]byte, 0, 4096)
			b.SetBytes(int64(len(s)))
			for b.Loop() {
				dst = AppendBytes(dst[:0], s)
			}
		})
		b.Run(name+"/ref", func(b *testing.B) {
			dst := make([]byte, 0, 4096)
			b.SetBytes(int64(len(s)))
			for b.Loop() {
				dst = refAppendBytes(dst[:0], s)
			}
		})
	}
}

// TestAppendTextEveryBytePosition puts every byte value at every position
// of plain strings of 0..40 bytes, so each one is seen by the short (< 4,
// 4..7 bytes) tests, by each byte lane of a word and by the overlapping
// last word of plainPrefix and appendText. plainPrefix must return the
// whole length exactly for plain strings, else a plain prefix of whole
// words.
func TestAppendTextEveryBytePosition(t *testing.T) {
	const filler = "abcdefghijklmnopqrstuvwxyz0123456789+/=:"
	for n := 0; n <= len(filler); n++ {
		if p := plainPrefix([]byte(filler[:n])); p != n {
			t.Fatalf("plainPrefix(%q) = %d, want %d", filler[:n], p, n)
		}
		for pos := range n {
			for c := range 256 {
				s := []byte(filler[:n])
				s[pos] = byte(c)
				checkAppendText(t, s)
				p := plainPrefix(s)
				plain := jsonEscape[c] == 0
				switch {
				case plain && p != n:
					t.Fatalf("plainPrefix(%q) = %d, want %d", s, p, n)
				case !plain && (p > pos || p%8 != 0):
					t.Fatalf("plainPrefix(%q) = %d: not a plain prefix of whole words", s, p)
				}
			}
		}
	}
}
