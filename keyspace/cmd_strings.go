package keyspace

import (
	"errors"
	"math"

	"github.com/persistkit/persistkit/format/rdb"
)

// maxStringLen is Redis' proto-max-bulk-len default: SETRANGE, APPEND and
// SETBIT refuse to grow a string past it, which also bounds what a hostile
// AOF can make us allocate. A variable so that fuzzing can lower it.
var maxStringLen int64 = 512 << 20

var (
	errStringTooLong = errors.New("string exceeds maximum allowed size (proto-max-bulk-len)")
	errInvalidExpire = errors.New("invalid expire time")
	errNaN           = errors.New("increment would produce NaN or Infinity")
)

func init() {
	register("SET", -3, cmdSet)
	register("SETNX", 3, cmdSetNX)
	register("SETEX", 4, cmdSetEX)
	register("PSETEX", 4, cmdSetEX)
	register("GETSET", 3, cmdGetSet)
	register("GETDEL", 2, cmdGetDel)
	register("GETEX", -2, cmdGetEx)
	register("MSET", -3, cmdMSet)
	register("MSETNX", -3, cmdMSetNX)
	register("APPEND", 3, cmdAppend)
	register("SETRANGE", 4, cmdSetRange)
	register("INCR", 2, cmdIncr)
	register("DECR", 2, cmdIncr)
	register("INCRBY", 3, cmdIncr)
	register("DECRBY", 3, cmdIncr)
	register("INCRBYFLOAT", 3, cmdIncrByFloat)
	for _, n := range []string{"GET", "MGET", "STRLEN", "GETRANGE", "SUBSTR", "LCS"} {
		register(n, -2, noop)
	}
}

// expireArg is a parsed EX/PX/EXAT/PXAT option.
type expireArg struct {
	unit int64 // 1000 for seconds, 1 for milliseconds
	abs  bool
	val  int64
}

// absMs converts the option to absolute Unix ms relative to now, with the
// range checks of Redis' getExpireMillisecondsOrReply.
func (e expireArg) absMs(now int64) (int64, error) {
	if e.val <= 0 || (e.unit == 1000 && e.val > math.MaxInt64/1000) {
		return 0, errInvalidExpire
	}
	ms := e.val * e.unit
	if !e.abs {
		if ms > math.MaxInt64-now {
			return 0, errInvalidExpire
		}
		ms += now
	}
	return ms, nil
}

// parseExpireOpt reads "EX n" style options at args[i]; ok is false when
// args[i] is not one.
func parseExpireOpt(args [][]byte, i int) (e expireArg, ok bool, err error) {
	switch {
	case eq(args[i], "EX"):
		e = expireArg{unit: 1000}
	case eq(args[i], "PX"):
		e = expireArg{unit: 1}
	case eq(args[i], "EXAT"):
		e = expireArg{unit: 1000, abs: true}
	case eq(args[i], "PXAT"):
		e = expireArg{unit: 1, abs: true}
	default:
		return e, false, nil
	}
	if i+1 >= len(args) {
		return e, true, ErrSyntax
	}
	v, err := parseInt(args[i+1])
	if err != nil {
		return e, true, err
	}
	e.val = v
	return e, true, nil
}

func cmdSet(s *Store, args [][]byte) error {
	key, val := args[1], args[2]
	var nx, xx, get, keepTTL bool
	var exp *expireArg
	for i := 3; i < len(args); i++ {
		a := args[i]
		switch {
		case eq(a, "NX") && !xx:
			nx = true
		case eq(a, "XX") && !nx:
			xx = true
		case eq(a, "GET"):
			get = true
		case eq(a, "KEEPTTL") && exp == nil:
			keepTTL = true
		default:
			e, ok, err := parseExpireOpt(args, i)
			if !ok || exp != nil || keepTTL {
				return ErrSyntax
			}
			if err != nil {
				return err
			}
			exp = &e
			i++
		}
	}
	var when int64 = rdb.NoExpire
	if exp != nil {
		w, err := exp.absMs(s.NowMs)
		if err != nil {
			return err
		}
		when = w
	}
	if nx || xx || get { // a plain SET needs no lookup of the old value
		old := s.lookup(key)
		if get && old != nil && old.Kind != rdb.KindString {
			return ErrWrongType
		}
		if (nx && old != nil) || (xx && old == nil) {
			return nil
		}
	}
	o := newString(clone(val))
	s.setKey(key, o, keepTTL)
	if exp != nil {
		o.ExpireAtMs = when
	}
	return nil
}

func cmdSetNX(s *Store, args [][]byte) error {
	if s.lookup(args[1]) == nil {
		s.setKey(args[1], newString(clone(args[2])), false)
	}
	return nil
}

// cmdSetEX is SETEX key seconds value / PSETEX key ms value.
func cmdSetEX(s *Store, args [][]byte) error {
	v, err := parseInt(args[2])
	if err != nil {
		return err
	}
	e := expireArg{unit: 1000, val: v}
	if eq(args[0], "PSETEX") {
		e.unit = 1
	}
	when, err := e.absMs(s.NowMs)
	if err != nil {
		return err
	}
	o := newString(clone(args[3]))
	o.ExpireAtMs = when
	s.setKey(args[1], o, false)
	return nil
}

func cmdGetSet(s *Store, args [][]byte) error {
	if _, err := s.lookupKind(args[1], rdb.KindString); err != nil {
		return err
	}
	s.setKey(args[1], newString(clone(args[2])), false)
	return nil
}

func cmdGetDel(s *Store, args [][]byte) error {
	o, err := s.lookupKind(args[1], rdb.KindString)
	if err != nil {
		return err
	}
	if o != nil {
		delete(s.db().Keys, string(args[1]))
	}
	return nil
}

// cmdGetEx checks, like Redis, the options' shape first, then the key
// (missing: nothing to do; wrong type: error), then the expire value.
func cmdGetEx(s *Store, args [][]byte) error {
	var exp *expireArg
	var expErr error
	persist := false
	for i := 2; i < len(args); i++ {
		if eq(args[i], "PERSIST") && exp == nil && !persist {
			persist = true
			continue
		}
		e, ok, err := parseExpireOpt(args, i)
		if !ok || exp != nil || persist || errors.Is(err, ErrSyntax) {
			return ErrSyntax
		}
		exp, expErr = &e, err
		i++
	}
	o, err := s.lookupKind(args[1], rdb.KindString)
	if err != nil || o == nil {
		return err
	}
	if exp != nil {
		if expErr != nil {
			return expErr
		}
		when, err := exp.absMs(s.NowMs)
		if err != nil {
			return err
		}
		o.ExpireAtMs = when
	} else if persist {
		o.ExpireAtMs = rdb.NoExpire
	}
	return nil
}

func cmdMSet(s *Store, args [][]byte) error {
	if len(args)%2 != 1 {
		return ErrArity
	}
	for i := 1; i < len(args); i += 2 {
		s.setKey(args[i], newString(clone(args[i+1])), false)
	}
	return nil
}

func cmdMSetNX(s *Store, args [][]byte) error {
	if len(args)%2 != 1 {
		return ErrArity
	}
	for i := 1; i < len(args); i += 2 {
		if s.lookup(args[i]) != nil {
			return nil
		}
	}
	return cmdMSet(s, args)
}

func cmdAppend(s *Store, args [][]byte) error {
	o, err := s.lookupKind(args[1], rdb.KindString)
	if err != nil {
		return err
	}
	if o == nil {
		s.setKey(args[1], newString(clone(args[2])), false)
		return nil
	}
	if int64(len(o.Str))+int64(len(args[2])) > maxStringLen {
		return errStringTooLong
	}
	o.Str = append(o.Str, args[2]...)
	return nil
}

func cmdSetRange(s *Store, args [][]byte) error {
	off, err := parseInt(args[2])
	if err != nil {
		return err
	}
	if off < 0 {
		return ErrOutOfRange
	}
	val := args[3]
	o, err := s.lookupKind(args[1], rdb.KindString)
	if err != nil {
		return err
	}
	if len(val) == 0 {
		return nil // no key created, no change
	}
	if off+int64(len(val)) > maxStringLen {
		return errStringTooLong
	}
	if o == nil {
		o = newString(nil)
		s.setKey(args[1], o, false)
	}
	if need := int(off) + len(val); need > len(o.Str) {
		o.Str = append(o.Str, make([]byte, need-len(o.Str))...)
	}
	copy(o.Str[off:], val)
	return nil
}

// cmdIncr is INCR, DECR, INCRBY and DECRBY; the TTL is kept.
func cmdIncr(s *Store, args [][]byte) error {
	var by int64 = 1
	if len(args) == 3 {
		v, err := parseInt(args[2])
		if err != nil {
			return err
		}
		by = v
	}
	if eq(args[0], "DECR") || eq(args[0], "DECRBY") {
		if by == math.MinInt64 {
			return ErrOverflow
		}
		by = -by
	}
	o, err := s.lookupKind(args[1], rdb.KindString)
	if err != nil {
		return err
	}
	var cur int64
	if o != nil {
		if cur, err = parseInt(o.Str); err != nil {
			return err
		}
	}
	if (by < 0 && cur < 0 && by < math.MinInt64-cur) || (by > 0 && cur > 0 && by > math.MaxInt64-cur) {
		return ErrOverflow
	}
	if o == nil {
		s.setKey(args[1], newString(formatInt(cur+by)), false)
		return nil
	}
	o.Str = formatInt(cur + by)
	return nil
}

// cmdIncrByFloat computes in x87 long double precision like Redis on
// x86-64 and prints with "%.17Lf" trimmed. (Since 2.6 AOFs carry the
// result as SET instead, so this only serves hand-written input.)
func cmdIncrByFloat(s *Store, args [][]byte) error {
	o, err := s.lookupKind(args[1], rdb.KindString)
	if err != nil {
		return err
	}
	incr, err := parseLongDouble(args[2])
	if err != nil {
		return err
	}
	cur := newLongDouble()
	if o != nil {
		if cur, err = parseLongDouble(o.Str); err != nil {
			return err
		}
	}
	res := newLongDouble().Add(cur, incr)
	if res.IsInf() {
		return errNaN
	}
	if o == nil {
		s.setKey(args[1], newString(formatLongDouble(res)), false)
		return nil
	}
	o.Str = formatLongDouble(res)
	return nil
}

// clone copies an argument so the store never aliases a reader's buffer.
func clone(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return append([]byte(nil), b...)
}
