package cli

import (
	"math/bits"
	"math/rand/v2"
	"testing"
)

// TestPlainWord checks the SWAR test against a byte-by-byte one on every
// single special byte at every position and on random words.
func TestPlainWord(t *testing.T) {
	ref := func(s string) bool {
		for i := range 8 {
			c := s[i]
			if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
				return false
			}
		}
		return true
	}
	word := func(s string) uint64 {
		var w uint64
		for i := range 8 {
			w |= uint64(s[i]) << (8 * i)
		}
		return w
	}
	for pos := range 8 {
		for c := range 256 {
			b := []byte("abcdefgh")
			b[pos] = byte(c)
			if got, want := plainWord(word(string(b))), ref(string(b)); got != want {
				t.Fatalf("%q: plainWord %v, want %v", b, got, want)
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte{0, 0x1f, 0x20, 0x21, '"', 0x23, '\\', 0x5b, 0x5d, 'a', 0x7f, 0x80, 0xff}
	for range 200000 {
		var b [8]byte
		for i := range b {
			if r.IntN(2) == 0 {
				b[i] = alphabet[r.IntN(len(alphabet))]
			} else {
				b[i] = byte(r.IntN(256))
			}
		}
		if got, want := plainWord(word(string(b[:]))), ref(string(b[:])); got != want {
			t.Fatalf("%q: plainWord %v, want %v", b, got, want)
		}
	}
}

func BenchmarkAppendString(b *testing.B) {
	s := "user:1234 {\"name\":\"lorem ipsum dolor sit amet\",\"tags\":[\"alpha\",\"beta\"]} plain ASCII text of a typical value"
	dst := make([]byte, 0, 1024)
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendString(dst[:0], s)
	}
}

// TestSpecialMaskFirst checks that the lowest bit of specialMask marks
// exactly the first special byte, for every pair of bytes at every pair of
// positions (the rest plain).
func TestSpecialMaskFirst(t *testing.T) {
	special := func(c byte) bool { return c < 0x20 || c == '"' || c == '\\' || c >= 0x80 }
	for p1 := range 8 {
		for p2 := p1 + 1; p2 < 8; p2++ {
			for c1 := range 256 {
				for _, c2 := range []byte{0, 0x1f, 0x20, '"', '\\', 'a', 0x7f, 0x80, 0xff} {
					b := []byte("abcdefgh")
					b[p1], b[p2] = byte(c1), c2
					var w uint64
					for i := range 8 {
						w |= uint64(b[i]) << (8 * i)
					}
					want := -1
					for i := range 8 {
						if special(b[i]) {
							want = i
							break
						}
					}
					m := specialMask(w)
					got := -1
					if m != 0 {
						got = bits.TrailingZeros64(m) >> 3
					}
					if got != want {
						t.Fatalf("%q: first special byte %d, want %d", b, got, want)
					}
				}
			}
		}
	}
}
