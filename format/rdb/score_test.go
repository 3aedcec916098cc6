package rdb

import (
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"testing"
)

// parseScore must accept exactly what ParseFloat accepts, with the same
// bits: its shortcut is an optimisation, never a different parser.
func checkParseScore(t *testing.T, s string) {
	t.Helper()
	got, ok := parseScore([]byte(s))
	want, wok := parseScoreSlow([]byte(s))
	if ok != wok || math.Float64bits(got) != math.Float64bits(want) {
		t.Fatalf("parseScore(%q) = %v (%#x), %v; ParseFloat gives %v (%#x), %v",
			s, got, math.Float64bits(got), ok, want, math.Float64bits(want), wok)
	}
}

func TestParseScore(t *testing.T) {
	for _, s := range []string{"", "-", ".", "-.", "0", "-0", "0.0", "-0.0", "1", "-1", "1.", ".5", "-.5", "+1",
		"00.5", "007", "1.50", "294351.49523942662", "9007199254740992", "9007199254740993",
		"9007199254740993.5", "1234567890123456789", "12345678901234567890", "0.0000000000000000001",
		"0.00000000000000000001", "1e5", "1E5", "inf", "-inf", "nan", "Infinity", "1_000", "0x10",
		"1.2.3", "1-2", " 1", "1 ", "179769313486231570000000000000000000000", "1e400", "-1e400",
		"0.30000000000000004", "0.1", "0.29999999999999999", "4503599627370496.5", "4503599627370497.5",
		"1.0000000000000002", "0.99999999999999994", "0.99999999999999995", "0.99999999999999997"} {
		checkParseScore(t, s)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 300000 {
		var b []byte
		if r.IntN(4) == 0 {
			b = append(b, '-')
		}
		b = strconv.AppendUint(b, r.Uint64()>>r.UintN(64), 10)
		if r.IntN(3) > 0 {
			b = append(b, '.')
			b = strconv.AppendUint(b, r.Uint64()>>r.UintN(64), 10)
		}
		checkParseScore(t, string(b[:r.IntN(len(b))+1]))
		f := r.Float64() * math.Pow(10, float64(r.IntN(30)-12))
		checkParseScore(t, strconv.FormatFloat(f, 'f', -1, 64))
		checkParseScore(t, strconv.FormatFloat(f, 'f', r.IntN(20), 64))
		checkParseScore(t, string(AppendG17(nil, f))) // what Redis writes
		// Halfway between two doubles, written out exactly when short
		// enough: ties must round to even, as in ParseFloat.
		g := math.Float64frombits(r.Uint64()>>12 | 0x4130000000000000) // [2^20, 2^21)
		half := (g + math.Nextafter(g, math.Inf(1))) / 2
		checkParseScore(t, strconv.FormatFloat(half, 'f', -1, 64))
		checkParseScore(t, strconv.FormatFloat(g, 'f', 30, 64)[:20])
		// Exact midpoints between doubles M·2^(1-k) and (M+1)·2^(1-k),
		// (2M+1)·5^k / 10^k, which have at most 19 digits for k <= 3.
		k := 1 + r.IntN(3)
		m := 1<<52 + r.Uint64N(1<<52)
		mid := new(big.Int).Mul(new(big.Int).SetUint64(2*m+1), new(big.Int).Exp(big.NewInt(5), big.NewInt(int64(k)), nil))
		ds := mid.String()
		checkParseScore(t, ds[:len(ds)-k]+"."+ds[len(ds)-k:])
	}
}

func FuzzParseScore(f *testing.F) {
	for _, s := range []string{"1", "-0.5", "294351.49523942662", "1e5", "9007199254740993", "0.99999999999999995"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkParseScore(t, s) })
}

// Scores as Redis writes them into listpacks (%.17g).
func benchScores() [][]byte {
	r := rand.New(rand.NewPCG(5, 6))
	s := make([][]byte, 1024)
	for i := range s {
		s[i] = AppendG17(nil, r.Float64()*1e6)
	}
	return s
}

func BenchmarkParseScore(b *testing.B) {
	s, i := benchScores(), 0
	for b.Loop() {
		parseScore(s[i&1023])
		i++
	}
}

func BenchmarkParseScoreStrconv(b *testing.B) {
	s, i := benchScores(), 0
	for b.Loop() {
		parseScoreSlow(s[i&1023])
		i++
	}
}
