package keyspace

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestAppendG17 compares appendG17 with strconv's %.17g on random values
// of the shapes zset scores take, values around powers of ten and exact
// ties, and checks that it declines what it does not handle.
func TestAppendG17(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	var vals []float64
	for range 500_000 {
		vals = append(vals, r.Float64()*1e6, r.Float64()*1e9, r.Float64(), r.Float64()*1e-2,
			math.Float64frombits(r.Uint64()), float64(r.Int64N(1<<53))/float64(int64(1)<<r.IntN(60)))
	}
	for p := -4; p <= 17; p++ {
		x := math.Pow10(p)
		for d := -3; d <= 3; d++ {
			vals = append(vals, math.Float64frombits(uint64(int64(math.Float64bits(x))+int64(d))))
		}
		vals = append(vals, x-0.5, x+0.5, 9.5*x, 9.999999999999999*x)
	}
	// Exact ties at the 18th digit: 16 integer digits and .25/.75.
	for i := range int64(1000) {
		vals = append(vals, float64(1234567890123456+i)+0.75, float64(1234567890123456+i)+0.25, float64(2<<50+i)+0.5)
	}
	handled := 0
	for _, f := range vals {
		for _, v := range []float64{f, -f} {
			got, ok := appendG17([]byte("x"), v)
			want := strconv.AppendFloat([]byte("x"), v, 'g', 17, 64)
			if !ok {
				if !bytes.Equal(got, []byte("x")) {
					t.Fatalf("%v: declined but appended %q", v, got)
				}
				if a := math.Abs(v); a >= 1e-3 && a < 1e17 && a != math.Trunc(a) {
					t.Fatalf("%v: declined a value in range", v)
				}
				continue
			}
			handled++
			if !bytes.Equal(got, want) {
				t.Fatalf("%v (%#x): got %s, want %s", v, math.Float64bits(v), got, want)
			}
		}
	}
	if handled < len(vals) {
		t.Errorf("only %d of %d values handled", handled, 2*len(vals))
	}
}

func BenchmarkAppendG17(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	vals := make([]float64, 4096)
	for i := range vals {
		vals[i] = r.Float64() * 1e9
	}
	buf := make([]byte, 0, 32)
	b.Run("fast", func(b *testing.B) {
		for i := range b.N {
			buf, _ = appendG17(buf[:0], vals[i&4095])
		}
	})
	b.Run("strconv", func(b *testing.B) {
		for i := range b.N {
			buf = strconv.AppendFloat(buf[:0], vals[i&4095], 'g', 17, 64)
		}
	})
}
