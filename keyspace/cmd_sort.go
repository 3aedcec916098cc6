package keyspace

import (
	"bytes"
	"errors"
	"math"
	"slices"

	"github.com/persistkit/persistkit/format/rdb"
)

var errSortScore = errors.New("One or more scores can't be converted into double")

func init() {
	register("SORT", -2, cmdSort)
	register("SORT_RO", -2, noop)
}

// sortPatternValue is lookupKeyByPattern: "#" is the element itself; the
// first '*' is replaced by the element; "->field" reads a hash field.
// Missing keys or wrong types give nil.
func (s *Store) sortPatternValue(pattern, elem []byte) []byte {
	if string(pattern) == "#" {
		return elem
	}
	star := bytes.IndexByte(pattern, '*')
	if star < 0 {
		return nil
	}
	keyPat, field := pattern, []byte(nil)
	if arrow := bytes.LastIndex(pattern, []byte("->")); arrow > star && arrow+2 < len(pattern) {
		keyPat, field = pattern[:arrow], pattern[arrow+2:]
	}
	key := make([]byte, 0, len(keyPat)+len(elem))
	key = append(key, keyPat[:star]...)
	key = append(key, elem...)
	key = append(key, keyPat[star+1:]...)
	o := s.lookup(key)
	switch {
	case o == nil:
		return nil
	case field == nil && o.Kind == rdb.KindString:
		return o.Str
	case field != nil && o.Kind == rdb.KindHash:
		if hv := o.Hash[string(field)]; hv != nil {
			return hv.Value
		}
	}
	return nil
}

// cmdSort is SORT key [BY pattern] [LIMIT offset count] [GET pattern ...]
// [ASC|DESC] [ALPHA] [STORE dst]; only STORE changes the keyspace. With
// STORE, Redis orders sets even under BY nosort so that replicas agree,
// and compares strings bytewise (not strcoll). Elements that compare equal
// keep their source order; for a set or a sorted set (read through its
// dict) that is the server's hash-table order, which cannot be reproduced,
// so byte (score) order stands in.
func cmdSort(s *Store, args [][]byte) error {
	var desc, alpha, dontSort bool
	var by []byte
	var gets [][]byte
	var store []byte
	start, count := int64(0), int64(-1)
	for i := 2; i < len(args); i++ {
		rem := len(args) - i - 1
		switch {
		case eq(args[i], "ASC"):
			desc = false
		case eq(args[i], "DESC"):
			desc = true
		case eq(args[i], "ALPHA"):
			alpha = true
		case eq(args[i], "LIMIT") && rem >= 2:
			var err error
			if start, err = parseInt(args[i+1]); err != nil {
				return err
			}
			if count, err = parseInt(args[i+2]); err != nil {
				return err
			}
			i += 2
		case eq(args[i], "STORE") && rem >= 1:
			store = args[i+1]
			i++
		case eq(args[i], "BY") && rem >= 1:
			by = args[i+1]
			// A pattern without '*' means "don't sort" (unless it reads a
			// hash field, which still needs a '*').
			if bytes.IndexByte(by, '*') < 0 {
				dontSort = true
			}
			i++
		case eq(args[i], "GET") && rem >= 1:
			gets = append(gets, args[i+1])
			i++
		default:
			return ErrSyntax
		}
	}
	o := s.lookup(args[1])
	var elems [][]byte
	if o != nil {
		switch o.Kind {
		case rdb.KindList:
			elems = o.List
		case rdb.KindSet:
			for _, m := range sortedKeys(o.Set) {
				elems = append(elems, []byte(m))
			}
		case rdb.KindZSet:
			for _, e := range sortedZ(o.ZSet) {
				elems = append(elems, []byte(e.member))
			}
		default:
			return ErrWrongType
		}
	}
	if store == nil {
		return nil
	}
	if o != nil && o.Kind == rdb.KindSet && dontSort {
		// Deterministic for replication: sort the elements themselves.
		dontSort, alpha, by = false, true, nil
	}
	if dontSort && desc {
		// Lists and zsets keep their native order, walked from the tail.
		elems = slices.Clone(elems)
		slices.Reverse(elems)
	}
	type item struct {
		elem  []byte
		score float64
		cmp   []byte
	}
	items := make([]item, len(elems))
	for i, e := range elems {
		items[i].elem = e
		if dontSort {
			continue
		}
		val := e
		if by != nil {
			val = s.sortPatternValue(by, e)
		}
		if alpha {
			items[i].cmp = val
			continue
		}
		if val != nil {
			v, err := sortScore(val)
			if err != nil {
				return err
			}
			items[i].score = v
		}
	}
	if !dontSort {
		slices.SortStableFunc(items, func(a, b item) int {
			var c int
			switch {
			case !alpha:
				switch {
				case a.score > b.score:
					c = 1
				case a.score < b.score:
					c = -1
				default:
					c = bytes.Compare(a.elem, b.elem)
				}
			case by != nil:
				switch {
				case a.cmp == nil && b.cmp == nil:
				case a.cmp == nil:
					c = -1
				case b.cmp == nil:
					c = 1
				default:
					c = bytes.Compare(a.cmp, b.cmp)
				}
			default:
				c = bytes.Compare(a.elem, b.elem)
			}
			if desc {
				return -c
			}
			return c
		})
	}
	// LIMIT as Redis clamps it.
	n := int64(len(items))
	if start < 0 {
		start = 0
	}
	if count < 0 {
		count = n
	}
	if start >= n {
		start, count = 0, 0
	} else if start+count > n {
		count = n - start
	}
	items = items[start : start+count]
	var out [][]byte
	for _, it := range items {
		if len(gets) == 0 {
			out = append(out, clone(it.elem))
			continue
		}
		for _, g := range gets {
			out = append(out, clone(s.sortPatternValue(g, it.elem)))
		}
	}
	if len(out) == 0 {
		delete(s.db().Keys, string(store))
		return nil
	}
	res := NewObject(rdb.KindList)
	res.List = out
	s.setKey(store, res, false)
	return nil
}

// sortScore is SORT's strtod: leading blanks skipped, the whole rest
// consumed ("" is 0), no NaN, no ERANGE.
func sortScore(b []byte) (float64, error) {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, nil
	}
	v, err := parseFloat(b)
	if err != nil || (v != 0 && math.Abs(v) < math.SmallestNonzeroFloat64*(1<<52)) {
		return 0, errSortScore
	}
	return v, nil
}
