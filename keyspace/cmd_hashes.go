package keyspace

import (
	"errors"
	"math"

	"github.com/persistkit/persistkit/format/rdb"
)

var (
	errHashNotInteger = errors.New("hash value is not an integer")
	errHashNotFloat   = errors.New("hash value is not a float")
	errNumFields      = errors.New("the numfields parameter must match the number of arguments")
	errFieldsKeyword  = errors.New("mandatory argument FIELDS is missing or not at the right position")
)

// maxFieldExpireMs is EB_EXPIRE_TIME_MAX, the largest field TTL (2^48-1).
const maxFieldExpireMs = 1<<48 - 1

func init() {
	register("HSET", -4, cmdHSet)
	register("HMSET", -4, cmdHSet)
	register("HSETNX", 4, cmdHSetNX)
	register("HDEL", -3, cmdHDel)
	register("HINCRBY", 4, cmdHIncrBy)
	register("HINCRBYFLOAT", 4, cmdHIncrByFloat)
	register("HEXPIRE", -6, cmdHExpire)
	register("HPEXPIRE", -6, cmdHExpire)
	register("HEXPIREAT", -6, cmdHExpire)
	register("HPEXPIREAT", -6, cmdHExpire)
	register("HPERSIST", -5, cmdHPersist)
	register("HGETDEL", -5, cmdHGetDel)
	for _, n := range []string{"HGET", "HMGET", "HGETALL", "HKEYS", "HVALS", "HLEN", "HEXISTS",
		"HSTRLEN", "HSCAN", "HRANDFIELD", "HTTL", "HPTTL", "HEXPIRETIME", "HPEXPIRETIME"} {
		register(n, -2, noop)
	}
}

func cmdHSet(s *Store, args [][]byte) error {
	if len(args)%2 != 0 {
		return ErrArity
	}
	o, err := s.lookupOrCreate(args[1], rdb.KindHash)
	if err != nil {
		return err
	}
	for i := 2; i < len(args); i += 2 {
		o.Hash[string(args[i])] = &HashValue{Value: clone(args[i+1])}
	}
	return nil
}

func cmdHSetNX(s *Store, args [][]byte) error {
	o, err := s.lookupOrCreate(args[1], rdb.KindHash)
	if err != nil {
		return err
	}
	if _, ok := o.Hash[string(args[2])]; !ok {
		o.Hash[string(args[2])] = &HashValue{Value: clone(args[3])}
	}
	return nil
}

func cmdHDel(s *Store, args [][]byte) error {
	o, err := s.lookupKind(args[1], rdb.KindHash)
	if err != nil || o == nil {
		return err
	}
	for _, f := range args[2:] {
		delete(o.Hash, string(f))
	}
	s.deleteIfEmpty(args[1], o)
	return nil
}

// cmdHIncrBy keeps the field's TTL (HASH_SET_KEEP_TTL).
func cmdHIncrBy(s *Store, args [][]byte) error {
	by, err := parseInt(args[3])
	if err != nil {
		return err
	}
	o, err := s.lookupOrCreate(args[1], rdb.KindHash)
	if err != nil {
		return err
	}
	hv := o.Hash[string(args[2])]
	var cur int64
	if hv != nil {
		if cur, err = parseInt(hv.Value); err != nil {
			s.deleteIfEmpty(args[1], o)
			return errHashNotInteger
		}
	}
	if (by < 0 && cur < 0 && by < math.MinInt64-cur) || (by > 0 && cur > 0 && by > math.MaxInt64-cur) {
		s.deleteIfEmpty(args[1], o)
		return ErrOverflow
	}
	if hv == nil {
		hv = &HashValue{}
		o.Hash[string(args[2])] = hv
	}
	hv.Value = formatInt(cur + by)
	return nil
}

func cmdHIncrByFloat(s *Store, args [][]byte) error {
	incr, err := parseLongDouble(args[3])
	if err != nil {
		return err
	}
	o, err := s.lookupOrCreate(args[1], rdb.KindHash)
	if err != nil {
		return err
	}
	hv := o.Hash[string(args[2])]
	cur := newLongDouble()
	if hv != nil {
		if cur, err = parseLongDouble(hv.Value); err != nil {
			s.deleteIfEmpty(args[1], o)
			return errHashNotFloat
		}
	}
	res := newLongDouble().Add(cur, incr)
	if hv == nil {
		hv = &HashValue{}
		o.Hash[string(args[2])] = hv
	}
	hv.Value = formatLongDouble(res)
	return nil
}

// fieldsArg parses "FIELDS n f1 .. fn" at args[i] (to the end).
func fieldsArg(args [][]byte, i int) ([][]byte, error) {
	if i >= len(args) || !eq(args[i], "FIELDS") || i+1 >= len(args) {
		return nil, errFieldsKeyword
	}
	n, err := parseInt(args[i+1])
	if err != nil {
		return nil, err
	}
	if n <= 0 || n != int64(len(args)-i-2) {
		return nil, errNumFields
	}
	return args[i+2:], nil
}

// cmdHExpire is H[P]EXPIRE[AT] key time [NX|XX|GT|LT] FIELDS n f...; a
// time in the past still only sets the TTL while loading.
func cmdHExpire(s *Store, args [][]byte) error {
	v, err := parseInt(args[2])
	if err != nil {
		return err
	}
	i := 3
	var nx, xx, gt, lt bool
	switch {
	case eq(args[3], "NX"):
		nx = true
	case eq(args[3], "XX"):
		xx = true
	case eq(args[3], "GT"):
		gt = true
	case eq(args[3], "LT"):
		lt = true
	}
	if nx || xx || gt || lt {
		i++
	}
	fields, err := fieldsArg(args, i)
	if err != nil {
		return err
	}
	var unit, base int64 = 1, 0
	if eq(args[0], "HEXPIRE") || eq(args[0], "HEXPIREAT") {
		unit = 1000
	}
	if eq(args[0], "HEXPIRE") || eq(args[0], "HPEXPIRE") {
		base = s.NowMs
	}
	if v < 0 || v > maxFieldExpireMs/unit {
		return errInvalidExpire
	}
	when := v*unit + base
	if when > maxFieldExpireMs {
		return errInvalidExpire
	}
	o, err := s.lookupKind(args[1], rdb.KindHash)
	if err != nil || o == nil {
		return err
	}
	for _, f := range fields {
		hv := o.Hash[string(f)]
		if hv == nil {
			continue
		}
		has := hv.ExpireAtMs != 0
		if (nx && has) || (xx && !has) || (gt && (!has || when <= hv.ExpireAtMs)) || (lt && has && when >= hv.ExpireAtMs) {
			continue
		}
		hv.ExpireAtMs = when
		if when == 0 {
			hv.ExpireAtMs = 1 // 0 means "no TTL" in the model; 1 ms is as expired
		}
	}
	return nil
}

func cmdHPersist(s *Store, args [][]byte) error {
	fields, err := fieldsArg(args, 2)
	if err != nil {
		return err
	}
	o, err := s.lookupKind(args[1], rdb.KindHash)
	if err != nil || o == nil {
		return err
	}
	for _, f := range fields {
		if hv := o.Hash[string(f)]; hv != nil {
			hv.ExpireAtMs = 0
		}
	}
	return nil
}

// cmdHGetDel is 8.0's HGETDEL key FIELDS n f...
func cmdHGetDel(s *Store, args [][]byte) error {
	fields, err := fieldsArg(args, 2)
	if err != nil {
		return err
	}
	o, err := s.lookupKind(args[1], rdb.KindHash)
	if err != nil || o == nil {
		return err
	}
	for _, f := range fields {
		delete(o.Hash, string(f))
	}
	s.deleteIfEmpty(args[1], o)
	return nil
}

func init() {
	register("HGETEX", -5, cmdHGetEx)
	register("HSETEX", -6, cmdHSetEx)
}

// hashExpireOpt reads 8.0's EX/PX/EXAT/PXAT option of HGETEX/HSETEX at
// args[i] as an absolute field TTL.
func hashExpireOpt(s *Store, args [][]byte, i int) (when int64, ok bool, err error) {
	e, ok, err := parseExpireOpt(args, i)
	if !ok || err != nil {
		return 0, ok, err
	}
	if e.val < 0 || e.val > maxFieldExpireMs/e.unit {
		return 0, true, errInvalidExpire
	}
	when = e.val * e.unit
	if !e.abs {
		when += s.NowMs
	}
	if when > maxFieldExpireMs {
		return 0, true, errInvalidExpire
	}
	return max(when, 1), true, nil // 0 means "no TTL" in the model
}

// cmdHGetEx is 8.0's HGETEX key [EX|PX|EXAT|PXAT n | PERSIST] FIELDS n f...
func cmdHGetEx(s *Store, args [][]byte) error {
	i, when, persist := 2, int64(0), false
	switch {
	case eq(args[2], "PERSIST"):
		persist, i = true, 3
	default:
		w, ok, err := hashExpireOpt(s, args, 2)
		if err != nil {
			return err
		}
		if ok {
			when, i = w, 4
		}
	}
	fields, err := fieldsArg(args, i)
	if err != nil {
		return err
	}
	o, err := s.lookupKind(args[1], rdb.KindHash)
	if err != nil || o == nil || (when == 0 && !persist) {
		return err
	}
	for _, f := range fields {
		if hv := o.Hash[string(f)]; hv != nil {
			hv.ExpireAtMs = when // 0 for PERSIST
		}
	}
	return nil
}

// cmdHSetEx is 8.0's HSETEX key [FNX|FXX] [EX|PX|EXAT|PXAT n | KEEPTTL]
// FIELDS n f v...
func cmdHSetEx(s *Store, args [][]byte) error {
	var fnx, fxx, keep bool
	var when int64
	i := 2
	for ; i < len(args) && !eq(args[i], "FIELDS"); i++ {
		switch {
		case eq(args[i], "FNX") && !fxx:
			fnx = true
		case eq(args[i], "FXX") && !fnx:
			fxx = true
		case eq(args[i], "KEEPTTL") && when == 0:
			keep = true
		default:
			w, ok, err := hashExpireOpt(s, args, i)
			if !ok || keep || when != 0 {
				return ErrSyntax
			}
			if err != nil {
				return err
			}
			when = w
			i++
		}
	}
	if i+1 >= len(args) || !eq(args[i], "FIELDS") {
		return errFieldsKeyword
	}
	n, err := parseInt(args[i+1])
	if err != nil {
		return err
	}
	pairs := args[i+2:]
	if n <= 0 || int64(len(pairs)) != 2*n {
		return errNumFields
	}
	o, err := s.lookupKind(args[1], rdb.KindHash)
	if err != nil {
		return err
	}
	for j := 0; j < len(pairs); j += 2 {
		exists := o != nil && o.Hash[string(pairs[j])] != nil
		if (fnx && exists) || (fxx && !exists) {
			return nil
		}
	}
	o, _ = s.lookupOrCreate(args[1], rdb.KindHash)
	for j := 0; j < len(pairs); j += 2 {
		hv := &HashValue{Value: clone(pairs[j+1]), ExpireAtMs: when}
		if old := o.Hash[string(pairs[j])]; keep && old != nil {
			hv.ExpireAtMs = old.ExpireAtMs
		}
		o.Hash[string(pairs[j])] = hv
	}
	return nil
}
