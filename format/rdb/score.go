package rdb

import (
	"errors"
	"math"
	"math/bits"
	"strconv"
)

// Zset scores stored as text in listpacks and ziplists (Redis writes them
// with %.17g) are parsed for every element; strconv.ParseFloat was a tenth
// of walking zsets. parseScore takes a shortcut for plain decimals and
// proves its result is the one ParseFloat gives; anything else, or any
// doubt, goes to ParseFloat, so accepted inputs and values are the same.

// pow10u64 are the powers of ten that fit a uint64; all are exact as
// float64 too (10^k = 5^k·2^k and 5^19 < 2^53).
var pow10u64 = [...]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

// parseScore parses p as strconv.ParseFloat(p, 64) does, ErrRange
// included (strtod saturates out-of-range values to ±HUGE_VAL too); false
// means p is not a number.
func parseScore(p []byte) (float64, bool) {
	i, neg := 0, false
	if len(p) > 0 && p[0] == '-' {
		i, neg = 1, true
	}
	var mant uint64
	digits, frac, dot := 0, 0, false
	for ; i < len(p); i++ {
		c := p[i]
		switch {
		case c >= '0' && c <= '9':
			if digits == 19 {
				return parseScoreSlow(p)
			}
			mant = mant*10 + uint64(c-'0')
			digits++
			if dot {
				frac++
			}
		case c == '.' && !dot:
			dot = true
		default:
			return parseScoreSlow(p)
		}
	}
	// Only forms ParseFloat surely accepts: digits, with digits on both
	// sides of a dot.
	if digits == 0 || dot && (frac == 0 || frac == digits) {
		return parseScoreSlow(p)
	}
	var f float64
	switch {
	case frac == 0:
		// The conversion rounds to nearest, ties to even, as ParseFloat.
		f = float64(mant)
	case mant <= 1<<53:
		// Both operands exact: one correctly rounded division.
		f = float64(mant) / float64(pow10u64[frac])
	default:
		// Two roundings: f is within an ulp or so of the result; take
		// the candidate proven nearest.
		g := float64(mant) / float64(pow10u64[frac])
		switch {
		case nearestScore(mant, pow10u64[frac], g):
			f = g
		case nearestScore(mant, pow10u64[frac], math.Nextafter(g, math.Inf(1))):
			f = math.Nextafter(g, math.Inf(1))
		case nearestScore(mant, pow10u64[frac], math.Nextafter(g, 0)):
			f = math.Nextafter(g, 0)
		default:
			return parseScoreSlow(p)
		}
	}
	if neg {
		f = -f
	}
	return f, true
}

// nearestScore reports whether f = m·2^e is strictly nearer to mant/pow
// than half its ulp, so that it is the correctly rounded quotient (no tie
// possible): |mant·2^(1-e) - 2·m·pow| < pow, in 128-bit integers. It says
// false when it cannot decide cheaply.
func nearestScore(mant, pow uint64, f float64) bool {
	b := math.Float64bits(f)
	exp := int(b >> 52 & 0x7FF)
	m := b&(1<<52-1) | 1<<52
	if exp == 0 || exp == 0x7FF || m == 1<<52 {
		// Zero, subnormal, inf, or a power of two (the ulp below is
		// half the one above).
		return false
	}
	shift := 1 - (exp - 1075)
	if shift < 0 || shift >= 64 || bits.Len64(mant)+shift > 127 {
		return false
	}
	lhsHi, lhsLo := mant>>(64-shift), mant<<shift
	if shift == 0 {
		lhsHi = 0
	}
	rhsHi, rhsLo := bits.Mul64(2*m, pow)
	// |lhs - rhs|
	dLo, borrow := bits.Sub64(lhsLo, rhsLo, 0)
	dHi, _ := bits.Sub64(lhsHi, rhsHi, borrow)
	if int64(dHi) < 0 {
		dLo, borrow = bits.Sub64(0, dLo, 0)
		dHi, _ = bits.Sub64(0, dHi, borrow)
	}
	return dHi == 0 && dLo < pow
}

func parseScoreSlow(p []byte) (float64, bool) {
	f, err := strconv.ParseFloat(string(p), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, false
	}
	return f, true
}
