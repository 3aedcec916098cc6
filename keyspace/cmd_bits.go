package keyspace

import (
	"errors"
	"math"
	"strings"

	"github.com/persistkit/persistkit/format/rdb"
)

var (
	errBitOffset = errors.New("bit offset is not an integer or out of range")
	errBitValue  = errors.New("bit is not an integer or out of range")
	errBitType   = errors.New("Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.")
	errBitOpNot  = errors.New("BITOP NOT must be called with a single source key.")
	errBitOpArgs = errors.New("BITOP requires at least two source keys")
)

func init() {
	register("SETBIT", 4, cmdSetBit)
	register("BITFIELD", -2, cmdBitfield)
	register("BITOP", -4, cmdBitOp)
	for _, n := range []string{"GETBIT", "BITCOUNT", "BITPOS", "BITFIELD_RO"} {
		register(n, -2, noop)
	}
}

// parseBitOffset is getBitOffsetFromArgument: "#n" counts in units of
// the field width when bits > 0.
func parseBitOffset(b []byte, bits int64) (int64, error) {
	mul := int64(1)
	if bits > 0 && len(b) > 0 && b[0] == '#' {
		mul = bits
		b = b[1:]
	}
	v, err := parseInt(b)
	if err != nil || v < 0 || (mul > 1 && v > math.MaxInt64/mul) {
		return 0, errBitOffset
	}
	v *= mul
	if v>>3 >= maxStringLen {
		return 0, errBitOffset
	}
	return v, nil
}

// bitString returns the string at key grown to hold bit maxBit,
// creating it if needed (lookupStringForBitCommand).
func (s *Store) bitString(key []byte, maxBit int64) (*Object, error) {
	o, err := s.lookupKind(key, rdb.KindString)
	if err != nil {
		return nil, err
	}
	need := int(maxBit>>3) + 1
	if o == nil {
		o = newString(make([]byte, need))
		s.setKey(key, o, false)
		return o, nil
	}
	if len(o.Str) < need {
		o.Str = append(o.Str, make([]byte, need-len(o.Str))...)
	}
	return o, nil
}

func cmdSetBit(s *Store, args [][]byte) error {
	off, err := parseBitOffset(args[2], 0)
	if err != nil {
		return err
	}
	if string(args[3]) != "0" && string(args[3]) != "1" {
		return errBitValue
	}
	o, err := s.bitString(args[1], off)
	if err != nil {
		return err
	}
	setBit(o.Str, off, args[3][0] == '1')
	return nil
}

func setBit(p []byte, off int64, on bool) {
	mask := byte(1) << (7 - uint(off&7))
	if on {
		p[off>>3] |= mask
	} else {
		p[off>>3] &^= mask
	}
}

func getUnsigned(p []byte, off int64, bits int) uint64 {
	var v uint64
	for j := 0; j < bits; j++ {
		var bit uint64
		if b := off >> 3; b < int64(len(p)) {
			bit = uint64(p[b]>>(7-uint(off&7))) & 1
		}
		v = v<<1 | bit
		off++
	}
	return v
}

func getSigned(p []byte, off int64, bits int) int64 {
	v := getUnsigned(p, off, bits)
	if bits < 64 && v&(1<<(bits-1)) != 0 {
		v |= math.MaxUint64 << bits
	}
	return int64(v)
}

func setUnsigned(p []byte, off int64, bits int, v uint64) {
	for j := 0; j < bits; j++ {
		setBit(p, off, v&(1<<(bits-1-j)) != 0)
		off++
	}
}

const (
	owWrap = iota
	owSat
	owFail
)

// checkUnsignedOverflow is checkUnsignedBitfieldOverflow.
func checkUnsignedOverflow(value uint64, incr int64, bits int, ow int) (int, uint64) {
	maxV := uint64(math.MaxUint64)
	if bits < 64 {
		maxV = 1<<bits - 1
	}
	maxIncr := int64(maxV - value)
	minIncr := -int64(value)
	wrap := func() uint64 { return (value + uint64(incr)) &^ (math.MaxUint64 << bits) }
	if value > maxV || (incr > 0 && incr > maxIncr) {
		switch ow {
		case owWrap:
			return 1, wrap()
		case owSat:
			return 1, maxV
		}
		return 1, 0
	} else if incr < 0 && incr < minIncr {
		switch ow {
		case owWrap:
			return 1, wrap()
		case owSat:
			return -1, 0
		}
		return -1, 0
	}
	return 0, 0
}

// checkSignedOverflow is checkSignedBitfieldOverflow.
func checkSignedOverflow(value, incr int64, bits int, ow int) (int, int64) {
	maxV := int64(math.MaxInt64)
	if bits < 64 {
		maxV = 1<<(bits-1) - 1
	}
	minV := -maxV - 1
	maxIncr := int64(uint64(maxV) - uint64(value))
	minIncr := minV - value
	wrap := func() int64 {
		c := uint64(value) + uint64(incr)
		if bits < 64 {
			mask := uint64(math.MaxUint64) << bits
			if c&(1<<(bits-1)) != 0 {
				c |= mask
			} else {
				c &^= mask
			}
		}
		return int64(c)
	}
	if value > maxV || (bits != 64 && incr > maxIncr) || (value >= 0 && incr > 0 && incr > maxIncr) {
		switch ow {
		case owWrap:
			return 1, wrap()
		case owSat:
			return 1, maxV
		}
		return 1, 0
	} else if value < minV || (bits != 64 && incr < minIncr) || (value < 0 && incr < 0 && incr < minIncr) {
		switch ow {
		case owWrap:
			return -1, wrap()
		case owSat:
			return -1, minV
		}
		return -1, 0
	}
	return 0, 0
}

type bitfieldOp struct {
	write  bool
	incr   bool
	signed bool
	bits   int
	off    int64
	val    int64
	ow     int
}

func cmdBitfield(s *Store, args [][]byte) error {
	var ops []bitfieldOp
	ow := owWrap
	maxBit := int64(-1)
	for i := 2; i < len(args); i++ {
		op := strings.ToUpper(string(args[i]))
		remaining := len(args) - i - 1
		switch {
		case op == "OVERFLOW" && remaining >= 1:
			switch strings.ToUpper(string(args[i+1])) {
			case "WRAP":
				ow = owWrap
			case "SAT":
				ow = owSat
			case "FAIL":
				ow = owFail
			default:
				return errors.New("Invalid OVERFLOW type specified")
			}
			i++
			continue
		case (op == "GET" && remaining >= 2) || ((op == "SET" || op == "INCRBY") && remaining >= 3):
		default:
			return ErrSyntax
		}
		t := args[i+1]
		if len(t) < 2 || (t[0] != 'i' && t[0] != 'I' && t[0] != 'u' && t[0] != 'U') {
			return errBitType
		}
		bits, err := parseInt(t[1:])
		signed := t[0] == 'i' || t[0] == 'I'
		if err != nil || bits < 1 || (signed && bits > 64) || (!signed && bits > 63) {
			return errBitType
		}
		off, err := parseBitOffset(args[i+2], bits)
		if err != nil {
			return err
		}
		b := bitfieldOp{signed: signed, bits: int(bits), off: off, ow: ow}
		if op != "GET" {
			v, err := parseInt(args[i+3])
			if err != nil {
				return err
			}
			b.write, b.incr, b.val = true, op == "INCRBY", v
			maxBit = max(maxBit, off+bits-1)
			i++
		}
		ops = append(ops, b)
		i += 2
	}
	if maxBit < 0 {
		_, err := s.lookupKind(args[1], rdb.KindString)
		return err
	}
	o, err := s.bitString(args[1], maxBit)
	if err != nil {
		return err
	}
	for _, op := range ops {
		if !op.write {
			continue
		}
		var overflow int
		var nv uint64
		if op.signed {
			old := getSigned(o.Str, op.off, op.bits)
			var w, n int64
			if op.incr {
				overflow, w = checkSignedOverflow(old, op.val, op.bits, op.ow)
				n = int64(uint64(old) + uint64(op.val))
			} else {
				overflow, w = checkSignedOverflow(op.val, 0, op.bits, op.ow)
				n = op.val
			}
			if overflow != 0 {
				n = w
			}
			nv = uint64(n)
		} else {
			old := getUnsigned(o.Str, op.off, op.bits)
			var w uint64
			if op.incr {
				overflow, w = checkUnsignedOverflow(old, op.val, op.bits, op.ow)
				nv = old + uint64(op.val)
			} else {
				nv = uint64(op.val)
				overflow, w = checkUnsignedOverflow(nv, 0, op.bits, op.ow)
			}
			if overflow != 0 {
				nv = w
			}
		}
		if overflow != 0 && op.ow == owFail {
			continue
		}
		setUnsigned(o.Str, op.off, op.bits, nv)
	}
	return nil
}

// cmdBitOp is BITOP AND|OR|XOR|NOT (and 8.2's DIFF|DIFF1|ANDOR|ONE) dst
// key...; missing keys are empty strings, shorter ones are zero-padded.
func cmdBitOp(s *Store, args [][]byte) error {
	op := strings.ToUpper(string(args[1]))
	srcKeys := args[3:]
	switch op {
	case "AND", "OR", "XOR", "ONE":
	case "NOT":
		if len(srcKeys) != 1 {
			return errBitOpNot
		}
	case "DIFF", "DIFF1", "ANDOR":
		if len(srcKeys) < 2 {
			return errBitOpArgs
		}
	default:
		return ErrSyntax
	}
	srcs := make([][]byte, len(srcKeys))
	maxLen := 0
	for i, k := range srcKeys {
		o, err := s.lookupKind(k, rdb.KindString)
		if err != nil {
			return err
		}
		if o != nil {
			srcs[i] = o.Str
			maxLen = max(maxLen, len(o.Str))
		}
	}
	if maxLen == 0 {
		delete(s.db().Keys, string(args[2]))
		return nil
	}
	at := func(src []byte, j int) byte {
		if j < len(src) {
			return src[j]
		}
		return 0
	}
	res := make([]byte, maxLen)
	for j := range res {
		x := at(srcs[0], j)
		var or, once, twice byte
		for _, src := range srcs[1:] {
			or |= at(src, j)
		}
		for _, src := range srcs {
			b := at(src, j)
			twice |= once & b
			once ^= b
		}
		switch op {
		case "AND":
			for _, src := range srcs[1:] {
				x &= at(src, j)
			}
		case "OR":
			x |= or
		case "XOR":
			for _, src := range srcs[1:] {
				x ^= at(src, j)
			}
		case "NOT":
			x = ^x
		case "DIFF":
			x &^= or
		case "DIFF1":
			x = ^x & or
		case "ANDOR":
			x &= or
		case "ONE":
			x = once &^ twice
		}
		res[j] = x
	}
	s.setKey(args[2], newString(res), false)
	return nil
}
