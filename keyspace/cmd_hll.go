package keyspace

import (
	"encoding/binary"
	"errors"
	"math"

	"github.com/persistkit/persistkit/format/rdb"
)

// This file ports Redis' hyperloglog.c closely enough that every PFADD,
// PFMERGE and PFCOUNT leaves byte-identical strings: the value is a plain
// string, so DEBUG DIGEST sees its exact bytes (sparse opcodes, register
// packing, the cached cardinality).

var errInvalidHLL = errors.New("WRONGTYPE Key is not a valid HyperLogLog string value.")

const (
	hllP           = 14
	hllQ           = 64 - hllP
	hllRegisters   = 1 << hllP
	hllPMask       = hllRegisters - 1
	hllBits        = 6
	hllRegMax      = 1<<hllBits - 1
	hllHdrSize     = 16
	hllDenseSize   = hllHdrSize + (hllRegisters*hllBits+7)/8
	hllDense       = 0
	hllSparse      = 1
	hllSparseMax   = 3000 // hll-sparse-max-bytes default
	hllValMaxValue = 32
	hllValMaxLen   = 4
	hllZeroMaxLen  = 64
	hllXZeroMaxLen = 16384
	hllAlphaInf    = 0.721347520444481703680
)

func init() {
	register("PFADD", -2, cmdPFAdd)
	register("PFMERGE", -2, cmdPFMerge)
	register("PFCOUNT", -2, cmdPFCount)
	register("PFDEBUG", -3, cmdPFDebug)
	register("PFSELFTEST", 1, noop)
}

// murmurHash64A is Redis' MurmurHash64A (little-endian reads).
func murmurHash64A(key []byte, seed uint64) uint64 {
	const m = 0xc6a4a7935bd1e995
	const r = 47
	h := seed ^ (uint64(len(key)) * m)
	n := len(key) &^ 7
	for i := 0; i < n; i += 8 {
		k := binary.LittleEndian.Uint64(key[i:])
		k *= m
		k ^= k >> r
		k *= m
		h ^= k
		h *= m
	}
	tail := key[n:]
	switch len(tail) {
	case 7:
		h ^= uint64(tail[6]) << 48
		fallthrough
	case 6:
		h ^= uint64(tail[5]) << 40
		fallthrough
	case 5:
		h ^= uint64(tail[4]) << 32
		fallthrough
	case 4:
		h ^= uint64(tail[3]) << 24
		fallthrough
	case 3:
		h ^= uint64(tail[2]) << 16
		fallthrough
	case 2:
		h ^= uint64(tail[1]) << 8
		fallthrough
	case 1:
		h ^= uint64(tail[0])
		h *= m
	}
	h ^= h >> r
	h *= m
	h ^= h >> r
	return h
}

// hllPatLen returns the register index and the run length of zeros + 1.
func hllPatLen(ele []byte) (int, uint8) {
	hash := murmurHash64A(ele, 0xadc83b19)
	index := int(hash & hllPMask)
	hash >>= hllP
	hash |= 1 << hllQ
	count := uint8(1)
	for bit := uint64(1); hash&bit == 0; bit <<= 1 {
		count++
	}
	return index, count
}

func hllDenseGet(regs []byte, i int) uint8 {
	b := i * hllBits / 8
	fb := uint(i * hllBits & 7)
	b0 := uint(regs[b])
	var b1 uint
	if b+1 < len(regs) {
		b1 = uint(regs[b+1])
	}
	return uint8((b0>>fb | b1<<(8-fb)) & hllRegMax)
}

func hllDenseSetReg(regs []byte, i int, v uint8) {
	b := i * hllBits / 8
	fb := uint(i * hllBits & 7)
	regs[b] &^= byte(hllRegMax << fb)
	regs[b] |= byte(uint(v) << fb)
	if b+1 < len(regs) { // Redis writes the sds terminator here, always 0
		regs[b+1] &^= byte(hllRegMax >> (8 - fb))
		regs[b+1] |= byte(uint(v) >> (8 - fb))
	}
}

func hllDenseSet(regs []byte, i int, count uint8) bool {
	if count > hllDenseGet(regs, i) {
		hllDenseSetReg(regs, i, count)
		return true
	}
	return false
}

func isZero(b byte) bool  { return b&0xc0 == 0 }
func isXZero(b byte) bool { return b&0xc0 == 0x40 }
func isVal(b byte) bool   { return b&0x80 != 0 }
func zeroLen(b byte) int  { return int(b&0x3f) + 1 }

// xzeroLen reads an XZERO opcode; a second byte past the end reads as 0,
// like Redis reading the sds terminator of a truncated (corrupt) HLL.
func xzeroLen(p []byte) int {
	var lo int
	if len(p) > 1 {
		lo = int(p[1])
	}
	return (int(p[0]&0x3f)<<8 | lo) + 1
}
func valValue(b byte) uint8 { return (b>>2)&0x1f + 1 }
func valLen(b byte) int     { return int(b&0x3) + 1 }
func valByte(v uint8, n int) byte {
	return byte(int(v-1)<<2|(n-1)) | 0x80
}
func xzeroBytes(n int) []byte { return []byte{byte((n-1)>>8) | 0x40, byte((n - 1) & 0xff)} }

// newHLL is createHLLObject: an empty sparse HLL (one XZERO opcode).
func newHLL() []byte {
	b := make([]byte, hllHdrSize, hllHdrSize+2)
	copy(b, "HYLL")
	b[4] = hllSparse
	return append(b, xzeroBytes(hllRegisters)...)
}

// isHLL is isHLLObjectOrReply's check.
func isHLL(b []byte) bool {
	if len(b) < hllHdrSize || string(b[:4]) != "HYLL" || b[4] > hllSparse {
		return false
	}
	return b[4] != hllDense || len(b) == hllDenseSize
}

func hllInvalidateCache(b []byte) { b[15] |= 1 << 7 }

// hllToDense is hllSparseToDense; ok is false for a corrupt sparse HLL.
func hllToDense(b []byte) ([]byte, bool) {
	if b[4] == hllDense {
		return b, true
	}
	d := make([]byte, hllDenseSize)
	copy(d, b[:hllHdrSize])
	d[4] = hllDense
	regs := d[hllHdrSize:]
	idx := 0
	for p := hllHdrSize; p < len(b); {
		switch {
		case isZero(b[p]):
			idx += zeroLen(b[p])
			p++
		case isXZero(b[p]):
			idx += xzeroLen(b[p:])
			p += 2
		default:
			n, v := valLen(b[p]), valValue(b[p])
			if idx+n > hllRegisters {
				return nil, false
			}
			for ; n > 0; n-- {
				hllDenseSetReg(regs, idx, v)
				idx++
			}
			p++
		}
	}
	if idx != hllRegisters {
		return nil, false
	}
	return d, true
}

// hllSparseSet is Redis' hllSparseSet: it returns the (possibly
// reallocated or promoted) HLL and 1 if updated, 0 if not, -1 if corrupt.
func hllSparseSet(b []byte, index int, count uint8) ([]byte, int) {
	if count > hllValMaxValue {
		return hllPromote(b, index, count)
	}
	sparse := hllHdrSize
	end := len(b)
	p := sparse
	first, span := 0, 0
	prev := -1
	for p < end {
		oplen := 1
		switch {
		case isZero(b[p]):
			span = zeroLen(b[p])
		case isVal(b[p]):
			span = valLen(b[p])
		default:
			span = xzeroLen(b[p:])
			oplen = 2
		}
		if index <= first+span-1 {
			break
		}
		prev = p
		p += oplen
		first += span
	}
	if span == 0 || p >= end {
		return b, -1
	}
	var runlen int
	isZ, isXZ, isV := false, false, false
	switch {
	case isZero(b[p]):
		isZ, runlen = true, zeroLen(b[p])
	case isXZero(b[p]):
		isXZ, runlen = true, xzeroLen(b[p:])
	default:
		isV, runlen = true, valLen(b[p])
	}
	updated := false
	if isV {
		if valValue(b[p]) >= count {
			return b, 0
		}
		if runlen == 1 {
			b[p] = valByte(count, 1)
			updated = true
		}
	}
	if !updated && isZ && runlen == 1 {
		b[p] = valByte(count, 1)
		updated = true
	}
	if !updated {
		// General case: split the opcode into up to three.
		seq := make([]byte, 0, 5)
		last := first + span - 1
		if isZ || isXZ {
			if index != first {
				seq = appendZeros(seq, index-first)
			}
			seq = append(seq, valByte(count, 1))
			if index != last {
				seq = appendZeros(seq, last-index)
			}
		} else {
			cur := valValue(b[p])
			if index != first {
				seq = append(seq, valByte(cur, index-first))
			}
			seq = append(seq, valByte(count, 1))
			if index != last {
				seq = append(seq, valByte(cur, last-index))
			}
		}
		oldlen := 1
		if isXZ {
			oldlen = 2
		}
		delta := len(seq) - oldlen
		if delta > 0 && len(b)+delta > hllSparseMax {
			return hllPromote(b, index, count)
		}
		nb := make([]byte, 0, len(b)+max(delta, 0)+1)
		nb = append(nb, b[:p]...)
		nb = append(nb, seq...)
		nb = append(nb, b[min(p+oldlen, len(b)):]...)
		// An XZERO cut short by the end of a corrupt HLL counts 2 bytes in
		// Redis' length arithmetic, so its last sequence byte falls off.
		b = nb[:len(b)+delta]
	}
	// Merge adjacent VAL opcodes with equal values, scanning up to 5
	// opcodes from the previous one.
	p = sparse
	if prev >= 0 {
		p = prev
	}
	end = len(b)
	for scan := 5; p < end && scan > 0; scan-- {
		if isXZero(b[p]) {
			p += 2
			continue
		} else if isZero(b[p]) {
			p++
			continue
		}
		if p+1 < end && isVal(b[p+1]) {
			v1, v2 := valValue(b[p]), valValue(b[p+1])
			if v1 == v2 {
				n := valLen(b[p]) + valLen(b[p+1])
				if n <= hllValMaxLen {
					b[p+1] = valByte(v1, n)
					b = append(b[:p], b[p+1:]...)
					end--
					continue
				}
			}
		}
		p++
	}
	hllInvalidateCache(b)
	return b, 1
}

func appendZeros(seq []byte, n int) []byte {
	if n > hllZeroMaxLen {
		return append(seq, xzeroBytes(n)...)
	}
	return append(seq, byte(n-1))
}

func hllPromote(b []byte, index int, count uint8) ([]byte, int) {
	d, ok := hllToDense(b)
	if !ok {
		return b, -1
	}
	hllDenseSet(d[hllHdrSize:], index, count)
	return d, 1
}

// hllAdd adds one element; see hllSparseSet for the results.
func hllAdd(b []byte, ele []byte) ([]byte, int) {
	index, count := hllPatLen(ele)
	if b[4] == hllDense {
		if hllDenseSet(b[hllHdrSize:], index, count) {
			return b, 1
		}
		return b, 0
	}
	return hllSparseSet(b, index, count)
}

// hllRegisters returns all register values; ok is false when corrupt.
func hllRegisterValues(b []byte) ([]uint8, bool) {
	regs := make([]uint8, hllRegisters)
	if b[4] == hllDense {
		for i := range regs {
			regs[i] = hllDenseGet(b[hllHdrSize:], i)
		}
		return regs, true
	}
	d, ok := hllToDense(b)
	if !ok {
		return nil, false
	}
	for i := range regs {
		regs[i] = hllDenseGet(d[hllHdrSize:], i)
	}
	return regs, true
}

func (s *Store) hllObject(key []byte) (*Object, error) {
	o, err := s.lookupKind(key, rdb.KindString)
	if err != nil {
		return nil, err
	}
	if o != nil && !isHLL(o.Str) {
		return nil, errInvalidHLL
	}
	return o, nil
}

func cmdPFAdd(s *Store, args [][]byte) error {
	o, err := s.hllObject(args[1])
	if err != nil {
		return err
	}
	updated := 0
	if o == nil {
		o = newString(newHLL())
		s.setKey(args[1], o, false)
		updated++
	}
	for _, e := range args[2:] {
		nb, r := hllAdd(o.Str, e)
		o.Str = nb
		if r < 0 {
			return errInvalidHLL
		}
		updated += r
	}
	if updated > 0 {
		hllInvalidateCache(o.Str)
	}
	return nil
}

func cmdPFMerge(s *Store, args [][]byte) error {
	maxRegs := make([]uint8, hllRegisters)
	useDense := false
	for _, k := range args[1:] {
		o, err := s.hllObject(k)
		if err != nil {
			return err
		}
		if o == nil {
			continue
		}
		if o.Str[4] == hllDense {
			useDense = true
		}
		regs, ok := hllRegisterValues(o.Str)
		if !ok {
			return errInvalidHLL
		}
		for i, v := range regs {
			maxRegs[i] = max(maxRegs[i], v)
		}
	}
	o := s.lookup(args[1])
	if o == nil {
		o = newString(newHLL())
		s.setKey(args[1], o, false)
	}
	if useDense {
		d, ok := hllToDense(o.Str)
		if !ok {
			return errInvalidHLL
		}
		o.Str = d
	}
	for i, v := range maxRegs {
		if v == 0 {
			continue
		}
		if o.Str[4] == hllDense {
			hllDenseSetReg(o.Str[hllHdrSize:], i, v)
		} else {
			nb, r := hllSparseSet(o.Str, i, v)
			if r < 0 {
				return errInvalidHLL
			}
			o.Str = nb
		}
	}
	hllInvalidateCache(o.Str)
	return nil
}

// cmdPFCount: an AOF holds PFCOUNT only when it refreshed the cached
// cardinality of a single key, which changes the string's bytes.
func cmdPFCount(s *Store, args [][]byte) error {
	if len(args) != 2 {
		for _, k := range args[1:] {
			if _, err := s.hllObject(k); err != nil {
				return err
			}
		}
		return nil
	}
	o, err := s.hllObject(args[1])
	if err != nil || o == nil {
		return err
	}
	if o.Str[15]&(1<<7) == 0 {
		return nil // cache valid
	}
	regs, ok := hllRegisterValues(o.Str)
	if !ok {
		return errInvalidHLL
	}
	binary.LittleEndian.PutUint64(o.Str[8:16], hllCount(regs))
	return nil
}

// hllCount is the Ertl estimator Redis uses since 5.0.
func hllCount(regs []uint8) uint64 {
	m := float64(hllRegisters)
	var histo [64]int
	for _, r := range regs {
		histo[r]++
	}
	z := m * hllTau((m-float64(histo[hllQ+1]))/m)
	for j := hllQ; j >= 1; j-- {
		z += float64(histo[j])
		z *= 0.5
	}
	z += m * hllSigma(float64(histo[0])/m)
	return uint64(math.Round(hllAlphaInf * m * m / z))
}

func hllSigma(x float64) float64 {
	if x == 1 {
		return math.Inf(1)
	}
	y, z := 1.0, x
	for {
		x *= x
		zp := z
		z += x * y
		y += y
		if zp == z {
			return z
		}
	}
}

func hllTau(x float64) float64 {
	if x == 0 || x == 1 {
		return 0
	}
	y, z := 1.0, 1-x
	for {
		x = math.Sqrt(x)
		zp := z
		y *= 0.5
		z -= (1 - x) * (1 - x) * y
		if zp == z {
			return z / 3
		}
	}
}

// cmdPFDebug supports the state-changing TODENSE subcommand.
func cmdPFDebug(s *Store, args [][]byte) error {
	o, err := s.hllObject(args[2])
	if err != nil {
		return err
	}
	if o == nil {
		return ErrNoSuchKey
	}
	if eq(args[1], "TODENSE") {
		d, ok := hllToDense(o.Str)
		if !ok {
			return errInvalidHLL
		}
		o.Str = d
	}
	return nil
}
