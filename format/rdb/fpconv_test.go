package rdb

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

func TestFpconvPowers(t *testing.T) {
	for _, tc := range []struct {
		i int
		p fp
	}{
		{0, fp{18054884314459144840, -1220}},
		{44, fp{11258999068426240000, -50}},
		{46, fp{12500000000000000000, 3}},
		{86, fp{12648080533535911531, 1066}},
	} {
		if fpPowers[tc.i] != tc.p {
			t.Errorf("P[%d] = %v, want %v", tc.i, fpPowers[tc.i], tc.p)
		}
	}
	for i, p := range fpPowers {
		if p.f>>63 != 1 {
			t.Errorf("P[%d] not normalized", i)
		}
	}
}

func TestFpconvDtoa(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{2, "2"}, {1.5, "1.5"}, {0.1, "0.1"}, {1e21, "1e+21"}, {math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"}, {math.Copysign(0, -1), "-0"}, {0, "0"}, {1e7, "10000000"},
		{123e5, "12300000"}, {123456.789, "123456.789"}, {0.001, "0.001"}, {1.5e-7, "1.5e-7"}, {5e-324, "5e-324"},
		{math.MaxFloat64, "1.7976931348623157e+308"}, {-2.5, "-2.5"}, {1e300, "1e+300"},
		{123456789012345, "123456789012345"}, {3.0000000000000004, "3.0000000000000004"},
		{9007199254740993, "9007199254740992"}, {math.NaN(), "nan"}, {1e-7, "1e-7"},
		{100, "100"}, {0.5, "0.5"}, {1234.5678, "1234.5678"}, {1e22, "1e+22"},
		{1e15, "1e+15"}, {1e-5, "0.00001"}, {123e-7, "1.23e-5"}, {123e-6, "0.000123"},
	} {
		if got := string(AppendFpconv(nil, tc.in)); got != tc.want {
			t.Errorf("AppendFpconv(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Grisu2 is shortest in the vast majority of cases and always round-trips.
func TestFpconvProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 200000
	differ := 0
	for range n {
		d := math.Float64frombits(rng.Uint64())
		if math.IsNaN(d) || math.IsInf(d, 0) {
			continue
		}
		got := string(AppendFpconv(nil, d))
		back, err := strconv.ParseFloat(got, 64)
		if err != nil || back != d {
			t.Fatalf("AppendFpconv(%b) = %q does not round-trip", d, got)
		}
		short := strconv.FormatFloat(d, 'e', -1, 64)
		if digitsOf(got) != digitsOf(short) {
			differ++
		}
	}
	t.Logf("%d of %d random doubles differ from the shortest digits", differ, n)
	if differ > n/100 {
		t.Errorf("%d of %d differ in digit count from the shortest form", differ, n)
	}
}

// digitsOf returns the significant digits of a formatted number.
func digitsOf(s string) string {
	out := []byte{}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 'e' {
			break
		}
		if c >= '0' && c <= '9' {
			out = append(out, c)
		}
	}
	for len(out) > 1 && out[0] == '0' {
		out = out[1:]
	}
	for len(out) > 1 && out[len(out)-1] == '0' {
		out = out[:len(out)-1]
	}
	return string(out)
}

func TestFormatG17(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{0.1, "0.10000000000000001"}, {1.5, "1.5"}, {2, "2"}, {math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"}, {1e300, "1.0000000000000001e+300"}, {-2.5, "-2.5"},
		{math.Copysign(0, -1), "-0"}, {0, "0"}, {123456789012345, "123456789012345"},
		{3.0000000000000004, "3.0000000000000004"}, {1e17, "1e+17"}, {1e16, "10000000000000000"},
		{5e-324, "4.9406564584124654e-324"}, {1e-5, "1.0000000000000001e-05"},
		{0.0001, "0.0001"}, {math.MaxFloat64, "1.7976931348623157e+308"}, {1e21, "1e+21"},
		{1e-7, "9.9999999999999995e-08"}, {100, "100"},
	} {
		if got := string(AppendG17(nil, tc.in)); got != tc.want {
			t.Errorf("AppendG17(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzFpconv checks that both score formats round-trip every double.
func FuzzFpconv(f *testing.F) {
	for _, d := range []float64{0.1, 1e21, 5e-324, math.MaxFloat64, -2.5, 1e-7, 3.0000000000000004} {
		f.Add(math.Float64bits(d))
	}
	f.Fuzz(func(t *testing.T, bits uint64) {
		d := math.Float64frombits(bits)
		if math.IsNaN(d) || math.IsInf(d, 0) {
			return
		}
		for name, s := range map[string]string{
			"fpconv": string(AppendFpconv(nil, d)),
			"g17":    string(AppendG17(nil, d)),
		} {
			back, err := strconv.ParseFloat(s, 64)
			if err != nil || math.Float64bits(back) != bits {
				t.Fatalf("%s(%b) = %q does not round-trip", name, d, s)
			}
		}
	})
}
