package rdb

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLZFSpecExamples(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []byte
	}{
		{"30a", strings.Repeat("a", 30), []byte{0x01, 0x61, 0x61, 0xE0, 0x11, 0x00, 0x01, 0x61, 0x61}},
		{"abcd10", strings.Repeat("abcd", 10), []byte{0x04, 0x61, 0x62, 0x63, 0x64, 0x61, 0xE0, 0x18, 0x03, 0x01, 0x63, 0x64}},
		{"hello", "hello hello hello hello hello!", []byte{0x06, 0x68, 0x65, 0x6C, 0x6C, 0x6F, 0x20, 0x68, 0xE0, 0x0C, 0x05, 0x01, 0x6F, 0x21}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := lzfCompress([]byte(tc.in))
			if !bytes.Equal(got, tc.want) {
				t.Errorf("lzfCompress = % x, want % x", got, tc.want)
			}
			out, err := lzfDecompress(tc.want, len(tc.in))
			if err != nil || string(out) != tc.in {
				t.Errorf("lzfDecompress = %q, %v", out, err)
			}
		})
	}
}

func TestLZFDecompressErrors(t *testing.T) {
	tests := []struct {
		name   string
		in     []byte
		outLen int
		want   string // expected output; "" with ok false means error
		ok     bool
	}{
		{"empty", nil, 0, "", true},
		{"zero-declared-garbage", []byte{0x05, 'a'}, 0, "", true}, // as Redis: error 0 == ulen 0
		{"empty-but-declared", nil, 1, "", false},
		{"literal", []byte{0x02, 'a', 'b', 'c'}, 3, "abc", true},
		{"literal-short-declared", []byte{0x02, 'a', 'b', 'c'}, 2, "", false},
		{"literal-long-declared", []byte{0x02, 'a', 'b', 'c'}, 4, "", false},
		{"literal-truncated", []byte{0x02, 'a', 'b'}, 3, "", false},
		{"overlap-distance-1", []byte{0x00, 'x', 0x20, 0x00}, 4, "xxxx", true},
		{"ref-before-start", []byte{0x00, 'x', 0x20, 0x01}, 4, "", false},
		{"ref-at-start", []byte{0x20, 0x00}, 3, "", false},
		{"ref-truncated", []byte{0x00, 'x', 0x20}, 4, "", false},
		{"ref-ext-truncated", []byte{0x00, 'x', 0xE0, 0x01}, 11, "", false},
		{"ref-overflow", []byte{0x00, 'x', 0x20, 0x00}, 3, "", false},
		{"max-match", []byte{0x00, 'x', 0xE0, 0xFF, 0x00}, 1 + 264, strings.Repeat("x", 265), true},
		{"literal-32", append([]byte{0x1F}, bytes.Repeat([]byte{'q'}, 32)...), 32, strings.Repeat("q", 32), true},
		{"trailing-after-full", []byte{0x00, 'x', 0x00, 'y'}, 1, "", false},
		{"impossible-ratio", []byte{0x00, 'x', 0xE0, 0xFF, 0x00}, 5*88 + 1, "", false},
		{"negative", nil, -1, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := lzfDecompress(tc.in, tc.outLen)
			if tc.ok {
				if err != nil || string(out) != tc.want {
					t.Fatalf("got %q, %v; want %q", out, err, tc.want)
				}
				return
			}
			var fe *FormatError
			if !errors.As(err, &fe) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want *FormatError wrapping ErrCorrupt", err)
			}
		})
	}
}

func TestLZFCompressRules(t *testing.T) {
	// Redis never compresses strings of 20 bytes or less.
	if got := lzfCompress(bytes.Repeat([]byte{'a'}, 20)); got != nil {
		t.Errorf("20 bytes compressed: % x", got)
	}
	if got := lzfCompress(bytes.Repeat([]byte{'a'}, 21)); got == nil {
		t.Errorf("21 x 'a' not compressed")
	}
	// Incompressible data is stored plain.
	r := rand.New(rand.NewPCG(5, 6))
	rnd := make([]byte, 1000)
	for i := range rnd {
		rnd[i] = byte(r.Uint32())
	}
	if got := lzfCompress(rnd); got != nil {
		t.Errorf("random data compressed to %d bytes", len(got))
	}
	// The len-4 boundary: output of exactly len-4 bytes is kept, len-3 is not.
	for n := 21; n < 200; n++ {
		in := make([]byte, n)
		for i := range in {
			in[i] = byte(r.Uint32() % 3)
		}
		full := lzfCompressLimit(in, 2*n+16)
		if full == nil {
			t.Fatalf("n=%d: unbounded compression failed", n)
		}
		got := lzfCompress(in)
		// liblzf's in-loop checks are conservative, so an output that would
		// just fit in len-4 bytes can still be refused (Redis then stores
		// the string plain); a success is always the unbounded output.
		if got != nil && !bytes.Equal(got, full) {
			t.Errorf("n=%d: lzfCompress differs from the unbounded output", n)
		}
		if len(full) > n-4 && got != nil {
			t.Errorf("n=%d: output %d > len-4 but compressed", n, len(full))
		}
		if len(full) <= n-8 && got == nil {
			t.Errorf("n=%d: output %d saves 8+ bytes but refused", n, len(full))
		}
		// liblzf needs a few bytes of slack, but whenever it succeeds the
		// output does not depend on the buffer size.
		for limit := len(full) - 1; limit <= len(full)+4; limit++ {
			if c := lzfCompressLimit(in, limit); c != nil && !bytes.Equal(c, full) {
				t.Errorf("n=%d: limit %d gave different output", n, limit)
			}
		}
		if c := lzfCompressLimit(in, len(full)-1); c != nil {
			t.Errorf("n=%d: limit %d succeeded with %d bytes", n, len(full)-1, len(c))
		}
	}
}

func TestLZFRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	gens := map[string]func(n int) []byte{
		"random": func(n int) []byte {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			return b
		},
		"small-alphabet": func(n int) []byte {
			b := make([]byte, n)
			for i := range b {
				b[i] = 'a' + byte(r.Uint32()%4)
			}
			return b
		},
		"runs": func(n int) []byte {
			b := make([]byte, 0, n)
			for len(b) < n {
				b = append(b, bytes.Repeat([]byte{byte(r.Uint32())}, 1+int(r.Uint32()%300))...)
			}
			return b[:n]
		},
		"words": func(n int) []byte {
			words := []string{"redis", "key:", "user", "1234", " ", "value", "listpack"}
			var b []byte
			for len(b) < n {
				b = append(b, words[r.Uint32()%uint32(len(words))]...)
			}
			return b[:n]
		},
	}
	sizes := []int{1, 2, 3, 4, 5, 20, 21, 33, 100, 1000, 9000, 70000}
	for name, gen := range gens {
		for _, n := range sizes {
			in := gen(n)
			c := lzfCompressLimit(in, n+n/16+64)
			if c == nil {
				t.Fatalf("%s/%d: compression failed with a generous buffer", name, n)
			}
			out, err := lzfDecompress(c, n)
			if err != nil || !bytes.Equal(out, in) {
				t.Fatalf("%s/%d: round trip failed: %v", name, n, err)
			}
		}
	}
	if c := lzfCompressLimit(nil, 10); c != nil {
		t.Errorf("empty input compressed to % x", c)
	}
}

func TestLZFTestdata(t *testing.T) {
	// testdata/lzf/*.bin are compressed streams named <name>-<ulen>.bin; those
	// starting with "bad-" must be rejected.
	files, _ := filepath.Glob("testdata/lzf/*.lzf")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		base := strings.TrimSuffix(filepath.Base(f), ".lzf")
		plain, err := os.ReadFile(strings.TrimSuffix(f, ".lzf") + ".raw")
		if err != nil {
			// bad stream: any ulen in a small range must fail or be consistent.
			if !strings.HasPrefix(base, "bad-") {
				t.Fatalf("%s: missing .raw: %v", f, err)
			}
			for n := 1; n < 4096; n++ { // ulen 0 always loads, as in Redis
				if _, err := lzfDecompress(data, n); err == nil {
					t.Errorf("%s: accepted with ulen %d", f, n)
				}
			}
			continue
		}
		out, err := lzfDecompress(data, len(plain))
		if err != nil || !bytes.Equal(out, plain) {
			t.Errorf("%s: decompress mismatch: %v", f, err)
		}
		if c := lzfCompress(plain); !bytes.Equal(c, data) {
			t.Errorf("%s: compress = % x, want % x", f, c, data)
		}
	}
}

func FuzzLZF(f *testing.F) {
	f.Add([]byte(strings.Repeat("a", 30)), 30)
	f.Add([]byte{0x01, 0x61, 0x61, 0xE0, 0x11, 0x00, 0x01, 0x61, 0x61}, 30)
	f.Add([]byte{0x00, 'x', 0xE0, 0xFF, 0x00}, 265)
	f.Add([]byte("hello hello hello hello hello!"), 14)
	files, _ := filepath.Glob("testdata/lzf/*")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b, len(b)*3)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, n int) {
		// As a compressed stream: never panic; errors are typed.
		if n >= 0 && n < 1<<20 {
			out, err := lzfDecompress(data, n)
			// Validating alone fails exactly where decompressing does.
			if verr := lzfValidate(data, n); fmt.Sprint(verr) != fmt.Sprint(err) {
				t.Fatalf("lzfValidate: %v; lzfDecompress: %v", verr, err)
			}
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("untyped error %v", err)
				}
			} else if len(out) != n {
				t.Fatalf("got %d bytes, declared %d", len(out), n)
			}
		}
		// As plain data: compression round-trips and respects its limit.
		for _, limit := range []int{len(data) + len(data)/16 + 64, len(data) - 4, n & 0xFFFF} {
			c := lzfCompressLimit(data, limit)
			if c == nil {
				if limit >= len(data)+len(data)/16+64 && len(data) > 0 {
					t.Fatalf("compression failed with generous limit %d", limit)
				}
				continue
			}
			if len(c) > limit {
				t.Fatalf("output %d exceeds limit %d", len(c), limit)
			}
			out, err := lzfDecompress(c, len(data))
			if err != nil || !bytes.Equal(out, data) {
				t.Fatalf("round trip failed: %v", err)
			}
		}
	})
}

func benchLZFInput(n int) []byte {
	words := []string{"user:", "1000", "session", "redis", "value-", "x", "\x00\x01"}
	b := make([]byte, 0, n)
	for i := 0; len(b) < n; i++ {
		b = append(b, words[(i*7+i/3)%len(words)]...)
	}
	return b[:n]
}

func BenchmarkLZFCompress(b *testing.B) {
	in := benchLZFInput(64 << 10)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if lzfCompress(in) == nil {
			b.Fatal("not compressed")
		}
	}
}

func BenchmarkLZFDecompress(b *testing.B) {
	in := benchLZFInput(64 << 10)
	c := lzfCompress(in)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := lzfDecompress(c, len(in)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLZFCompressSmall is the common RDB case: many short strings, where
// a per-call 64K-slot hash table would dominate.
func BenchmarkLZFCompressSmall(b *testing.B) {
	in := []byte("user:1000:session:abcdefabcdefabcdef:redis")
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		lzfCompress(in)
	}
}

func TestLZFCompressIndependentOfHistory(t *testing.T) {
	// Pooled hash tables must not leak matches from earlier inputs.
	a := bytes.Repeat([]byte("0123456789abcdef"), 50)
	want := lzfCompressLimit([]byte("xyz0123456789abcdefQ0123456789abcdef"), 100)
	lzfCompressLimit(a, 2000)
	if got := lzfCompressLimit([]byte("xyz0123456789abcdefQ0123456789abcdef"), 100); !bytes.Equal(got, want) {
		t.Errorf("output depends on earlier calls:\n% x\n% x", got, want)
	}
}

// BenchmarkLZFValidate is lzfValidate on BenchmarkLZFDecompress' input:
// what check pays per compressed string value.
func BenchmarkLZFValidate(b *testing.B) {
	in := benchLZFInput(64 << 10)
	c := lzfCompress(in)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if err := lzfValidate(c, len(in)); err != nil {
			b.Fatal(err)
		}
	}
}
