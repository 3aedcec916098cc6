package keyspace

import (
	"bytes"

	"github.com/persistkit/persistkit/format/rdb"
)

func init() {
	register("LPUSH", -3, cmdPush)
	register("RPUSH", -3, cmdPush)
	register("LPUSHX", -3, cmdPush)
	register("RPUSHX", -3, cmdPush)
	register("LPOP", -2, listPops.single)
	register("RPOP", -2, listPops.single)
	register("BLPOP", -3, listPops.blocking)
	register("BRPOP", -3, listPops.blocking)
	register("LMPOP", -4, listPops.multi)
	register("BLMPOP", -5, listPops.multi)
	register("LINSERT", 5, cmdLInsert)
	register("LSET", 4, cmdLSet)
	register("LREM", 4, cmdLRem)
	register("LTRIM", 4, cmdLTrim)
	register("LMOVE", 5, cmdLMove)
	register("BLMOVE", 6, cmdLMove)
	register("RPOPLPUSH", 3, cmdLMove)
	register("BRPOPLPUSH", 4, cmdLMove)
	for _, n := range []string{"LRANGE", "LLEN", "LINDEX", "LPOS"} {
		register(n, -2, noop)
	}
}

func cmdPush(s *Store, args [][]byte) error {
	o, err := s.lookupKind(args[1], rdb.KindList)
	if err != nil {
		return err
	}
	if o == nil {
		if eq(args[0], "LPUSHX") || eq(args[0], "RPUSHX") {
			return nil
		}
		o, _ = s.lookupOrCreate(args[1], rdb.KindList)
	}
	elems := args[2:]
	if args[0][0] == 'R' || args[0][0] == 'r' {
		for _, e := range elems {
			o.List = append(o.List, clone(e))
		}
		return nil
	}
	// LPUSH a b c leaves c b a in front: one shift for the whole batch.
	n := len(elems)
	o.List = append(o.List, make([][]byte, n)...)
	copy(o.List[n:], o.List[:len(o.List)-n])
	for i, e := range elems {
		o.List[n-1-i] = clone(e)
	}
	return nil
}

// popList removes up to n elements from the head (left) or tail.
func (s *Store) popList(key []byte, o *Object, left bool, n int64) {
	if n > int64(len(o.List)) {
		n = int64(len(o.List))
	}
	if left {
		o.List = o.List[n:]
	} else {
		o.List = o.List[:int64(len(o.List))-n]
	}
	s.deleteIfEmpty(key, o)
}

// popCount parses the optional COUNT of LPOP/RPOP, SPOP and ZPOPMIN/MAX
// (args[2]): default 1, negative counts rejected as Redis does.
func popCount(args [][]byte) (int64, error) {
	if len(args) > 3 {
		return 0, ErrSyntax
	}
	if len(args) < 3 {
		return 1, nil
	}
	v, err := parseInt(args[2])
	if err != nil {
		return 0, err
	}
	if v < 0 {
		return 0, ErrOutOfRange
	}
	return v, nil
}

// numKeys splits "numkeys key..." at args[i] into the keys and the rest.
func numKeys(args [][]byte, i int) (keys, rest [][]byte, err error) {
	n, err := parseInt(args[i])
	if err != nil {
		return nil, nil, err
	}
	if n <= 0 || n > int64(len(args)-i-1) {
		return nil, nil, ErrSyntax
	}
	return args[i+1 : i+1+int(n)], args[i+1+int(n):], nil
}

// parseCountOpt reads an optional trailing "COUNT n" (n > 0); default 1.
func parseCountOpt(rest [][]byte) (int64, error) {
	switch {
	case len(rest) == 0:
		return 1, nil
	case len(rest) == 2 && eq(rest[0], "COUNT"):
		n, err := parseInt(rest[1])
		if err != nil {
			return 0, err
		}
		if n <= 0 {
			return 0, ErrOutOfRange
		}
		return n, nil
	}
	return 0, ErrSyntax
}

func cmdLInsert(s *Store, args [][]byte) error {
	var after bool
	switch {
	case eq(args[2], "AFTER"):
		after = true
	case eq(args[2], "BEFORE"):
	default:
		return ErrSyntax
	}
	o, err := s.lookupKind(args[1], rdb.KindList)
	if err != nil || o == nil {
		return err
	}
	for i, e := range o.List {
		if bytes.Equal(e, args[3]) {
			if after {
				i++
			}
			o.List = append(o.List, nil)
			copy(o.List[i+1:], o.List[i:])
			o.List[i] = clone(args[4])
			return nil
		}
	}
	return nil
}

// listIndex resolves a possibly negative index; ok is false out of range.
func listIndex(n int, idx int64) (int, bool) {
	if idx < 0 {
		idx += int64(n)
	}
	return int(idx), idx >= 0 && idx < int64(n)
}

func cmdLSet(s *Store, args [][]byte) error {
	idx, err := parseInt(args[2])
	if err != nil {
		return err
	}
	o, err := s.lookupKind(args[1], rdb.KindList)
	if err != nil {
		return err
	}
	if o == nil {
		return ErrNoSuchKey
	}
	i, ok := listIndex(len(o.List), idx)
	if !ok {
		return ErrOutOfRange
	}
	o.List[i] = clone(args[3])
	return nil
}

func cmdLRem(s *Store, args [][]byte) error {
	count, err := parseInt(args[2])
	if err != nil {
		return err
	}
	o, err := s.lookupKind(args[1], rdb.KindList)
	if err != nil || o == nil {
		return err
	}
	val := args[3]
	removed := int64(0)
	limit := count
	if limit < 0 {
		limit = -limit
	}
	keep := make([]bool, len(o.List))
	for i := range keep {
		keep[i] = true
	}
	if count >= 0 {
		for i := 0; i < len(o.List) && (count == 0 || removed < limit); i++ {
			if bytes.Equal(o.List[i], val) {
				keep[i] = false
				removed++
			}
		}
	} else {
		for i := len(o.List) - 1; i >= 0 && removed < limit; i-- {
			if bytes.Equal(o.List[i], val) {
				keep[i] = false
				removed++
			}
		}
	}
	out := o.List[:0]
	for i, e := range o.List {
		if keep[i] {
			out = append(out, e)
		}
	}
	o.List = out
	s.deleteIfEmpty(args[1], o)
	return nil
}

// rangeBounds is Redis' start/end normalisation for LTRIM/LRANGE/ZRANGE:
// it returns [lo, hi] inclusive, or empty when lo > hi.
func rangeBounds(n int, start, end int64) (lo, hi int64, empty bool) {
	ln := int64(n)
	if start < 0 {
		start += ln
	}
	if end < 0 {
		end += ln
	}
	if start < 0 {
		start = 0
	}
	if start > end || start >= ln {
		return 0, 0, true
	}
	if end >= ln {
		end = ln - 1
	}
	return start, end, false
}

func cmdLTrim(s *Store, args [][]byte) error {
	start, err := parseInt(args[2])
	if err != nil {
		return err
	}
	end, err := parseInt(args[3])
	if err != nil {
		return err
	}
	o, err := s.lookupKind(args[1], rdb.KindList)
	if err != nil || o == nil {
		return err
	}
	lo, hi, empty := rangeBounds(len(o.List), start, end)
	if empty {
		o.List = nil
	} else {
		o.List = o.List[lo : hi+1]
	}
	s.deleteIfEmpty(args[1], o)
	return nil
}

// cmdLMove is LMOVE/BLMOVE src dst LEFT|RIGHT LEFT|RIGHT and
// RPOPLPUSH/BRPOPLPUSH src dst (= RIGHT LEFT).
func cmdLMove(s *Store, args [][]byte) error {
	srcLeft, dstLeft := false, true
	if eq(args[0], "LMOVE") || eq(args[0], "BLMOVE") {
		var ok1, ok2 bool
		srcLeft, ok1 = parseSide(args[3])
		dstLeft, ok2 = parseSide(args[4])
		if !ok1 || !ok2 {
			return ErrSyntax
		}
	}
	if eq(args[0], "BLMOVE") || eq(args[0], "BRPOPLPUSH") {
		if _, err := parseFloat(args[len(args)-1]); err != nil {
			return err
		}
	}
	src, err := s.lookupKind(args[1], rdb.KindList)
	if err != nil || src == nil {
		return err
	}
	if _, err := s.lookupKind(args[2], rdb.KindList); err != nil {
		return err
	}
	var e []byte
	if srcLeft {
		e = src.List[0]
	} else {
		e = src.List[len(src.List)-1]
	}
	if bytes.Equal(args[1], args[2]) {
		// Rotation in place: the key (and its TTL) never goes away.
		if srcLeft {
			src.List = src.List[1:]
		} else {
			src.List = src.List[:len(src.List)-1]
		}
	} else {
		s.popList(args[1], src, srcLeft, 1)
	}
	dst, _ := s.lookupOrCreate(args[2], rdb.KindList)
	if dstLeft {
		dst.List = append([][]byte{e}, dst.List...)
	} else {
		dst.List = append(dst.List, e)
	}
	return nil
}

func parseSide(b []byte) (left, ok bool) {
	switch {
	case eq(b, "LEFT"):
		return true, true
	case eq(b, "RIGHT"):
		return false, true
	}
	return false, false
}
