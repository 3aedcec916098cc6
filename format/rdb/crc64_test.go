package rdb

import (
	"hash/crc64"
	"math/rand/v2"
	"testing"
)

// crc64Bitwise is the textbook LSB-first CRC, the reference for the tables.
func crc64Bitwise(crc uint64, p []byte) uint64 {
	for _, b := range p {
		crc ^= uint64(b)
		for range 8 {
			if crc&1 == 1 {
				crc = crc>>1 ^ crc64Poly
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

func TestCRC64CheckValue(t *testing.T) {
	const want uint64 = 0xe9c6d914c4b8d9ca
	in := []byte("123456789")
	if got := CRC64(0, in); got != want {
		t.Errorf("CRC64(123456789) = %#x, want %#x", got, want)
	}
	if got := crc64Bitwise(0, in); got != want {
		t.Errorf("bitwise reference = %#x, want %#x", got, want)
	}
	// The stdlib with init/xorout undone (spec rdb.md §10) must agree.
	tab := crc64.MakeTable(crc64Poly)
	if got := ^crc64.Update(^uint64(0), tab, in); got != want {
		t.Errorf("stdlib = %#x, want %#x", got, want)
	}
	if got := CRC64(0, nil); got != 0 {
		t.Errorf("CRC64(empty) = %#x, want 0", got)
	}
}

func TestCRC64MatchesBitwise(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 200)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	for n := 0; n <= 100; n++ {
		for _, start := range []int{0, 1, 3, 7} {
			p := buf[start : start+n]
			seed := r.Uint64()
			if got, want := CRC64(seed, p), crc64Bitwise(seed, p); got != want {
				t.Fatalf("len %d start %d seed %#x: got %#x, want %#x", n, start, seed, got, want)
			}
		}
	}
}

func TestCRC64Incremental(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	buf := make([]byte, 5000)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	whole := CRC64(0, buf)
	for _, cut := range []int{0, 1, 7, 8, 9, 4095, 4999, 5000} {
		if got := CRC64(CRC64(0, buf[:cut]), buf[cut:]); got != whole {
			t.Errorf("split at %d: %#x, want %#x", cut, got, whole)
		}
	}
}

func BenchmarkCRC64(b *testing.B) {
	for _, size := range []int{64, 4 << 10, 1 << 20} {
		buf := make([]byte, size)
		for i := range buf {
			buf[i] = byte(i * 31)
		}
		b.Run(byteSizeName(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			var crc uint64
			for b.Loop() {
				crc = CRC64(crc, buf)
			}
		})
	}
}

func byteSizeName(n int) string {
	switch {
	case n >= 1<<20:
		return itoa(n>>20) + "MiB"
	case n >= 1<<10:
		return itoa(n>>10) + "KiB"
	}
	return itoa(n) + "B"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
