package rdb

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

func TestAppendInt(t *testing.T) {
	check := func(v int64) {
		t.Helper()
		if got, want := string(appendInt([]byte("x"), v)), "x"+strconv.FormatInt(v, 10); got != want {
			t.Fatalf("appendInt(%d) = %q, want %q", v, got, want)
		}
		if got, want := intTextLen(v), len(strconv.FormatInt(v, 10)); got != want {
			t.Fatalf("intTextLen(%d) = %d, want %d", v, got, want)
		}
	}
	for _, v := range []int64{0, 1, -1, 9, 10, -10, 99, 100, 12345678, 99999999, 100000000, -100000000,
		math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1} {
		check(v)
	}
	for k := range pow10u64[:19] {
		p := int64(pow10u64[k])
		check(p - 1)
		check(p)
		check(p + 1)
		check(-p)
	}
	r := rand.New(rand.NewPCG(7, 8))
	for range 1000000 {
		check(int64(r.Uint64() >> r.UintN(64)))
	}
}

// BenchmarkAppendInt compares appendInt with strconv on random int64s.
func BenchmarkAppendInt(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	vals := make([]int64, 1024)
	for i := range vals {
		vals[i] = int64(r.Uint64())
	}
	for _, impl := range []struct {
		name string
		fn   func([]byte, int64) []byte
	}{
		{"appendInt", appendInt},
		{"strconv", func(dst []byte, v int64) []byte { return strconv.AppendInt(dst, v, 10) }},
	} {
		b.Run(impl.name, func(b *testing.B) {
			var buf []byte
			i := 0
			for b.Loop() {
				buf = impl.fn(buf[:0], vals[i&1023])
				i++
			}
		})
	}
}
