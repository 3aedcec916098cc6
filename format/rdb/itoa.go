package rdb

import "math/bits"

// AppendInt appends v in decimal, as Redis renders integers stored in
// intsets, listpacks and int-encoded strings: for callers that take such
// members as numbers (AppendIntset) and render them later.
func AppendInt(dst []byte, v int64) []byte { return appendInt(dst, v) }

// appendInt is strconv.AppendInt(dst, v, 10) without its detour through a
// stack buffer: the digits are counted first and written in place, eight
// at a time with 32-bit arithmetic. Intset members, listpack integers and
// int-encoded strings are rendered as text by the million.
func appendInt(dst []byte, v int64) []byte {
	u := uint64(v)
	sign := 0
	if v < 0 {
		u, sign = -u, 1
	}
	n := 1
	if u >= 10 {
		n = decimalLen(u)
	}
	start := len(dst)
	if cap(dst)-start < sign+n {
		dst = append(dst, make([]byte, sign+n)...)
	}
	dst = dst[:start+sign+n]
	b := dst[start:]
	if sign != 0 {
		b[0] = '-'
	}
	i := sign + n
	for u >= 1e8 {
		q := u / 1e8
		i -= 8
		put8Digits(b[i:i+8], uint32(u-q*1e8))
		u = q
	}
	lo := uint32(u)
	for lo >= 100 {
		d := lo % 100 * 2
		lo /= 100
		i -= 2
		b[i], b[i+1] = digitPairs[d], digitPairs[d+1]
	}
	if lo >= 10 {
		b[i-2], b[i-1] = digitPairs[lo*2], digitPairs[lo*2+1]
	} else {
		b[i-1] = byte('0' + lo)
	}
	return dst
}

const digitPairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"

// put8Digits writes v < 1e8 as exactly 8 digits; the two halves and their
// pairs do not depend on each other.
func put8Digits(b []byte, v uint32) {
	_ = b[7]
	hi, lo := v/10000, v%10000
	h1, h2 := hi/100*2, hi%100*2
	l1, l2 := lo/100*2, lo%100*2
	b[0], b[1] = digitPairs[h1], digitPairs[h1+1]
	b[2], b[3] = digitPairs[h2], digitPairs[h2+1]
	b[4], b[5] = digitPairs[l1], digitPairs[l1+1]
	b[6], b[7] = digitPairs[l2], digitPairs[l2+1]
}

// intTextLen is len(appendInt(nil, v)).
func intTextLen(v int64) int {
	u, sign := uint64(v), 0
	if v < 0 {
		u, sign = -u, 1
	}
	if u < 10 {
		return sign + 1
	}
	return sign + decimalLen(u)
}

// decimalLen is the number of decimal digits of u >= 1.
func decimalLen(u uint64) int {
	t := bits.Len64(u) * 1233 >> 12 // about log10(u)
	if t < len(pow10u64) && u >= pow10u64[t] {
		t++
	}
	return t
}
