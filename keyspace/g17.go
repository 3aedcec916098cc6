package keyspace

import (
	"math"
	"math/bits"
)

// pow10u are the powers of ten that fit a uint64.
var pow10u = func() (p [20]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// pow10f are 1e-3 .. 1e16 as float64s, to guess a value's decimal
// exponent (the guess is then checked in integers).
var pow10f = [...]float64{1e-3, 1e-2, 1e-1, 1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16}

// appendG17 appends strconv.AppendFloat(dst, f, 'g', 17, 64) (%.17g, the
// zset scores of an AOF rewrite before Redis 7.2) for f with 1e-3 <= |f| <
// 1e17 and a fractional part, and reports false, appending nothing, for any
// other f. strconv's general fixed-precision path cost 50 ns a score, a
// tenth of converting mixed.rdb to an AOF; the value here is a 53-bit
// mantissa times 2^e with -127 <= e <= 0, so the 17 digits are its product
// with a power of ten (below 2^128) shifted right, rounded half to even as
// strconv and glibc round exact ties.
func appendG17(dst []byte, f float64) ([]byte, bool) {
	a := math.Abs(f)
	if !(a >= 1e-3 && a < 1e17) {
		return dst, false
	}
	b := math.Float64bits(a)
	mant := b&(1<<52-1) | 1<<52
	e := int(b>>52&0x7FF) - 1075 // a = mant * 2^e
	if e > 0 {
		return dst, false
	}
	s := uint(-e)
	// floor(log10(a)) from the top bit's position (log10(2) ~ 1233/4096),
	// one too small at times; the digit count corrects it.
	k := ((e + 52) * 1233) >> 12
	if k+4 < len(pow10f) && k+4 >= 0 && a >= pow10f[k+4] {
		k++
	}
	var q uint64
	for range 3 {
		p := 16 - k // q = a * 10^p rounded, 10^16 <= q < 10^17
		if p < 0 || p >= len(pow10u) {
			return dst, false
		}
		hi, lo := bits.Mul64(mant, pow10u[p])
		q = shiftRound(hi, lo, s)
		if q >= pow10u[17] {
			k++
		} else if q < pow10u[16] {
			k--
		} else {
			break
		}
	}
	if q < pow10u[16] || q >= pow10u[17] {
		return dst, false
	}
	// The 17 digits, two at a time, as two independent 32-bit chains.
	var buf [17]byte
	hi9, lo8 := uint32(q/1e8), uint32(q%1e8)
	for i := 16; i > 8; i -= 2 {
		d := lo8 % 100
		lo8 /= 100
		buf[i-1], buf[i] = digitPairs[2*d], digitPairs[2*d+1]
		d = hi9 % 100
		hi9 /= 100
		buf[i-9], buf[i-8] = digitPairs[2*d], digitPairs[2*d+1]
	}
	buf[0] = byte('0' + hi9)
	digits := buf[:]
	n := 17
	for n > k+1 && digits[n-1] == '0' {
		n-- // trailing zeros of the fraction
	}
	if f < 0 {
		dst = append(dst, '-')
	}
	if k < 0 { // -3 <= k: "0.", -k-1 zeros, the digits
		dst = append(dst, '0', '.')
		dst = append(dst, "00"[:-k-1]...)
		return append(dst, digits[:n]...), true
	}
	dst = append(dst, digits[:k+1]...)
	if n > k+1 {
		dst = append(dst, '.')
		dst = append(dst, digits[k+1:n]...)
	}
	return dst, true
}

const digitPairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

// shiftRound returns the 128-bit hi:lo shifted right by s (< 128), rounded
// half to even. The caller knows the result fits 64 bits.
func shiftRound(hi, lo uint64, s uint) uint64 {
	if s == 0 {
		return lo
	}
	var q, remHi, remLo, halfHi, halfLo uint64
	if s < 64 {
		q = lo>>s | hi<<(64-s)
		remLo = lo & (1<<s - 1)
		halfLo = 1 << (s - 1)
	} else {
		q = hi >> (s - 64)
		remHi, remLo = hi&(1<<(s-64)-1), lo
		if s == 64 {
			halfLo = 1 << 63
		} else {
			halfHi = 1 << (s - 65)
		}
	}
	if remHi > halfHi || (remHi == halfHi && (remLo > halfLo || (remLo == halfLo && q&1 == 1))) {
		q++
	}
	return q
}
