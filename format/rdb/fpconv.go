package rdb

import (
	"bytes"
	"math"
	"strconv"
)

// This file ports Redis' fpconv_dtoa (deps/fpconv, Grisu2 by Florian
// Loitsch via night-shift/fpconv), which Redis >= 7.2 uses to print zset
// scores in DEBUG DIGEST. Grisu2 is not always the shortest round-trip form,
// so strconv cannot stand in for it; the arithmetic below is kept exactly as
// in C, unsigned 64-bit with wrap-around.

// fp is a double as f × 2^e.
type fp struct {
	f uint64
	e int
}

const (
	fpFracMask  = 0x000FFFFFFFFFFFFF
	fpExpMask   = 0x7FF0000000000000
	fpHiddenBit = 0x0010000000000000
	fpSignMask  = 0x8000000000000000
	fpExpBias   = 1023 + 52
)

// fpTens are the powers of ten 10^19 .. 10^0 used by digit generation.
var fpTens = [20]uint64{
	10000000000000000000, 1000000000000000000, 100000000000000000,
	10000000000000000, 1000000000000000, 100000000000000,
	10000000000000, 1000000000000, 100000000000,
	10000000000, 1000000000, 100000000,
	10000000, 1000000, 100000,
	10000, 1000, 100,
	10, 1,
}

// fpPowers[i] is 10^(-348+8i) as a normalized 64-bit mantissa rounded to
// nearest and its binary exponent (fpconv's powers.h).
var fpPowers = [87]fp{
	{18054884314459144840, -1220},
	{13451937075301367670, -1193},
	{10022474136428063862, -1166},
	{14934650266808366570, -1140},
	{11127181549972568877, -1113},
	{16580792590934885855, -1087},
	{12353653155963782858, -1060},
	{18408377700990114895, -1034},
	{13715310171984221708, -1007},
	{10218702384817765436, -980},
	{15227053142812498563, -954},
	{11345038669416679861, -927},
	{16905424996341287883, -901},
	{12595523146049147757, -874},
	{9384396036005875287, -847},
	{13983839803942852151, -821},
	{10418772551374772303, -794},
	{15525180923007089351, -768},
	{11567161174868858868, -741},
	{17236413322193710309, -715},
	{12842128665889583758, -688},
	{9568131466127621947, -661},
	{14257626930069360058, -635},
	{10622759856335341974, -608},
	{15829145694278690180, -582},
	{11793632577567316726, -555},
	{17573882009934360870, -529},
	{13093562431584567480, -502},
	{9755464219737475723, -475},
	{14536774485912137811, -449},
	{10830740992659433045, -422},
	{16139061738043178685, -396},
	{12024538023802026127, -369},
	{17917957937422433684, -343},
	{13349918974505688015, -316},
	{9946464728195732843, -289},
	{14821387422376473014, -263},
	{11042794154864902060, -236},
	{16455045573212060422, -210},
	{12259964326927110867, -183},
	{18268770466636286478, -157},
	{13611294676837538539, -130},
	{10141204801825835212, -103},
	{15111572745182864684, -77},
	{11258999068426240000, -50},
	{16777216000000000000, -24},
	{12500000000000000000, 3},
	{9313225746154785156, 30},
	{13877787807814456755, 56},
	{10339757656912845936, 83},
	{15407439555097886824, 109},
	{11479437019748901445, 136},
	{17105694144590052135, 162},
	{12744735289059618216, 189},
	{9495567745759798747, 216},
	{14149498560666738074, 242},
	{10542197943230523224, 269},
	{15709099088952724970, 295},
	{11704190886730495818, 322},
	{17440603504673385349, 348},
	{12994262207056124023, 375},
	{9681479787123295682, 402},
	{14426529090290212157, 428},
	{10748601772107342003, 455},
	{16016664761464807395, 481},
	{11933345169920330789, 508},
	{17782069995880619868, 534},
	{13248674568444952270, 561},
	{9871031767461413346, 588},
	{14708983551653345445, 614},
	{10959046745042015199, 641},
	{16330252207878254650, 667},
	{12166986024289022870, 694},
	{18130221999122236476, 720},
	{13508068024458167312, 747},
	{10064294952495520794, 774},
	{14996968138956309548, 800},
	{11173611982879273257, 827},
	{16649979327439178909, 853},
	{12405201291620119593, 880},
	{9242595204427927429, 907},
	{13772540099066387757, 933},
	{10261342003245940623, 960},
	{15290591125556738113, 986},
	{11392378155556871081, 1013},
	{16975966327722178521, 1039},
	{12648080533535911531, 1066},
}

// AppendFpconv appends Redis' fpconv_dtoa text for d to dst and returns the
// extended slice. Redis >= 7.2 uses this form for zset scores in listpacks
// and in DEBUG DIGEST.
func AppendFpconv(dst []byte, d float64) []byte {
	bits := math.Float64bits(d)
	if bits&fpSignMask != 0 {
		dst = append(dst, '-')
	}
	if d == 0 {
		return append(dst, '0')
	}
	if bits&fpExpMask == fpExpMask {
		if bits&fpFracMask != 0 {
			return append(dst, "nan"...)
		}
		return append(dst, "inf"...)
	}
	var digits [18]byte
	n, k := grisu2(d, &digits)
	return emitDigits(dst, digits[:n], k, bits&fpSignMask != 0)
}

func buildFp(d float64) fp {
	bits := math.Float64bits(d)
	w := fp{f: bits & fpFracMask, e: int((bits & fpExpMask) >> 52)}
	if w.e != 0 {
		w.f += fpHiddenBit
		w.e -= fpExpBias
	} else {
		w.e = -fpExpBias + 1
	}
	return w
}

func (w *fp) normalize() {
	for w.f&fpHiddenBit == 0 {
		w.f <<= 1
		w.e--
	}
	const shift = 64 - 52 - 1
	w.f <<= shift
	w.e -= shift
}

func normalizedBoundaries(w fp) (lower, upper fp) {
	upper = fp{f: (w.f << 1) + 1, e: w.e - 1}
	for upper.f&(fpHiddenBit<<1) == 0 {
		upper.f <<= 1
		upper.e--
	}
	const uShift = 64 - 52 - 2
	upper.f <<= uShift
	upper.e -= uShift

	lShift := 1
	if w.f == fpHiddenBit {
		lShift = 2
	}
	lower = fp{f: (w.f << lShift) - 1, e: w.e - lShift}
	lower.f <<= uint(lower.e - upper.e)
	lower.e = upper.e
	return lower, upper
}

// fpMul is the rounded high half of the 128-bit product.
func fpMul(a, b fp) fp {
	const lomask = 0xFFFFFFFF
	ahBl := (a.f >> 32) * (b.f & lomask)
	alBh := (a.f & lomask) * (b.f >> 32)
	alBl := (a.f & lomask) * (b.f & lomask)
	ahBh := (a.f >> 32) * (b.f >> 32)
	tmp := (ahBl & lomask) + (alBh & lomask) + (alBl >> 32)
	tmp += 1 << 31
	return fp{f: ahBh + (ahBl >> 32) + (alBh >> 32) + (tmp >> 32), e: a.e + b.e + 64}
}

func cachedPow10(exp int) (fp, int) {
	const oneLogTen = 0.30102999566398114
	approx := int(float64(-(exp + 87)) * oneLogTen)
	idx := (approx + 348) / 8
	for idx >= 0 && idx < len(fpPowers) {
		cur := exp + fpPowers[idx].e + 64
		if cur < -60 {
			idx++
			continue
		}
		if cur > -32 {
			idx--
			continue
		}
		break
	}
	// Finite doubles always land inside the table; clamp for safety.
	idx = max(0, min(idx, len(fpPowers)-1))
	return fpPowers[idx], -348 + 8*idx
}

func grisu2(d float64, digits *[18]byte) (n, k int) {
	w := buildFp(d)
	lower, upper := normalizedBoundaries(w)
	w.normalize()
	cp, ck := cachedPow10(upper.e)
	w = fpMul(w, cp)
	upper = fpMul(upper, cp)
	lower = fpMul(lower, cp)
	lower.f++
	upper.f--
	k = -ck
	return generateDigits(w, upper, lower, digits, k)
}

func roundDigit(digits []byte, delta, rem, kappa, frac uint64) {
	if len(digits) == 0 {
		return
	}
	for rem < frac && delta-rem >= kappa &&
		(rem+kappa < frac || frac-rem > rem+kappa-frac) {
		digits[len(digits)-1]--
		rem += kappa
	}
}

func generateDigits(w, upper, lower fp, digits *[18]byte, k int) (int, int) {
	wfrac := upper.f - w.f
	delta := upper.f - lower.f
	shift := uint(-upper.e)
	one := uint64(1) << shift
	part1 := upper.f >> shift
	part2 := upper.f & (one - 1)

	idx, kappa := 0, 10
	for i := 10; kappa > 0; i++ {
		div := fpTens[i]
		digit := uint32(part1 / div)
		if digit != 0 || idx != 0 {
			digits[idx] = byte(digit) + '0'
			idx++
		}
		part1 -= uint64(digit) * div
		kappa--
		tmp := (part1 << shift) + part2
		if tmp <= delta {
			k += kappa
			roundDigit(digits[:idx], delta, tmp, div<<shift, wfrac)
			return idx, k
		}
	}

	unit := 18
	for {
		part2 *= 10
		delta *= 10
		kappa--
		digit := uint32(part2 >> shift)
		if digit != 0 || idx != 0 {
			if idx == len(digits) {
				// Unreachable for finite doubles (at most 17 digits).
				return idx, k
			}
			digits[idx] = byte(digit) + '0'
			idx++
		}
		part2 &= one - 1
		if part2 < delta {
			k += kappa
			roundDigit(digits[:idx], delta, part2, one, wfrac*fpTens[unit])
			return idx, k
		}
		if unit > 0 {
			unit--
		}
	}
}

func emitDigits(dst, digits []byte, k int, neg bool) []byte {
	nd := len(digits)
	exp := fpAbs(k + nd - 1)

	// Plain integer.
	if k >= 0 && exp < nd+7 {
		dst = append(dst, digits...)
		for range k {
			dst = append(dst, '0')
		}
		return dst
	}

	// Decimal without exponent.
	if k < 0 && (k > -7 || exp < 4) {
		offset := nd - fpAbs(k)
		if offset <= 0 {
			dst = append(dst, '0', '.')
			for range -offset {
				dst = append(dst, '0')
			}
			return append(dst, digits...)
		}
		dst = append(dst, digits[:offset]...)
		dst = append(dst, '.')
		return append(dst, digits[offset:]...)
	}

	// Scientific notation.
	limit := 18
	if neg {
		limit = 17
	}
	nd = min(nd, limit)
	dst = append(dst, digits[0])
	if nd > 1 {
		dst = append(dst, '.')
		dst = append(dst, digits[1:nd]...)
	}
	dst = append(dst, 'e')
	if k+nd-1 < 0 {
		dst = append(dst, '-')
	} else {
		dst = append(dst, '+')
	}
	cent := 0
	if exp > 99 {
		cent = exp / 100
		dst = append(dst, byte(cent)+'0')
		exp -= cent * 100
	}
	if exp > 9 {
		dec := exp / 10
		dst = append(dst, byte(dec)+'0')
		exp -= dec * 10
	} else if cent != 0 {
		dst = append(dst, '0')
	}
	return append(dst, byte(exp%10)+'0')
}

// AppendG17 appends the text of C's printf("%.17g", d) as glibc prints it
// and returns the extended slice. Redis <= 7.0 uses this form for zset
// scores in ziplists and in DEBUG DIGEST.
func AppendG17(dst []byte, d float64) []byte {
	switch {
	case math.IsNaN(d):
		if math.Signbit(d) {
			return append(dst, "-nan"...)
		}
		return append(dst, "nan"...)
	case math.IsInf(d, 1):
		return append(dst, "inf"...)
	case math.IsInf(d, -1):
		return append(dst, "-inf"...)
	}
	// 17 significant digits, correctly rounded like glibc: d.dddddddddddddddde±XX.
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], d, 'e', 16, 64)
	neg := e[0] == '-'
	if neg {
		e = e[1:]
	}
	ePos := bytes.IndexByte(e, 'e')
	x, _ := strconv.Atoi(string(e[ePos+1:]))
	digits := append([]byte{e[0]}, e[2:ePos]...) // 17 digits
	if neg {
		dst = append(dst, '-')
	}
	if x < -4 || x >= 17 {
		// Exponent form; trailing zeros of the fraction are removed.
		frac := bytes.TrimRight(digits[1:], "0")
		dst = append(dst, digits[0])
		if len(frac) > 0 {
			dst = append(dst, '.')
			dst = append(dst, frac...)
		}
		dst = append(dst, 'e')
		if x < 0 {
			dst = append(dst, '-')
			x = -x
		} else {
			dst = append(dst, '+')
		}
		if x < 10 {
			dst = append(dst, '0')
		}
		return strconv.AppendInt(dst, int64(x), 10)
	}
	// Fixed form with 17-1-x decimals, trailing zeros (and point) removed.
	var ip, frac []byte
	if x >= 0 {
		ip, frac = digits[:x+1], digits[x+1:]
	} else {
		ip = []byte{'0'}
		frac = append(bytes.Repeat([]byte{'0'}, -x-1), digits...)
	}
	dst = append(dst, ip...)
	frac = bytes.TrimRight(frac, "0")
	if len(frac) > 0 {
		dst = append(dst, '.')
		dst = append(dst, frac...)
	}
	return dst
}

func fpAbs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
