package keyspace

import "github.com/persistkit/persistkit/format/rdb"

// popFamily is one family of pop commands: LPOP/RPOP, BLPOP/BRPOP and
// [B]LMPOP over lists, or ZPOPMIN/MAX, BZPOPMIN/MAX and [B]ZMPOP over
// zsets. Both parse alike; only the popping differs.
type popFamily struct {
	kind rdb.Kind
	// The names that pop from the front (the list's head, the lowest
	// scores), the blocking multi-key command, and the side words.
	frontPop, frontBPop, blockingMPop string
	frontSide, backSide               string
	pop                               func(s *Store, key []byte, o *Object, front bool, n int64)
}

var (
	listPops = &popFamily{kind: rdb.KindList, frontPop: "LPOP", frontBPop: "BLPOP", blockingMPop: "BLMPOP",
		frontSide: "LEFT", backSide: "RIGHT", pop: (*Store).popList}
	zsetPops = &popFamily{kind: rdb.KindZSet, frontPop: "ZPOPMIN", frontBPop: "BZPOPMIN", blockingMPop: "BZMPOP",
		frontSide: "MIN", backSide: "MAX", pop: (*Store).popZ}
)

// single is LPOP/RPOP or ZPOPMIN/MAX key [count].
func (f *popFamily) single(s *Store, args [][]byte) error {
	n, err := popCount(args)
	if err != nil {
		return err
	}
	o, err := s.lookupKind(args[1], f.kind)
	if err != nil || o == nil {
		return err
	}
	f.pop(s, args[1], o, eq(args[0], f.frontPop), n)
	return nil
}

// blocking is BLPOP/BRPOP or BZPOPMIN/MAX key... timeout: one element of
// the first non-empty key; a loading server never blocks.
func (f *popFamily) blocking(s *Store, args [][]byte) error {
	if _, err := parseFloat(args[len(args)-1]); err != nil {
		return err
	}
	return f.first(s, args[1:len(args)-1], eq(args[0], f.frontBPop), 1)
}

// multi is [B]LMPOP or [B]ZMPOP [timeout] numkeys key... side [COUNT n].
func (f *popFamily) multi(s *Store, args [][]byte) error {
	i := 1
	if eq(args[0], f.blockingMPop) {
		if _, err := parseFloat(args[1]); err != nil {
			return err
		}
		i = 2
	}
	keys, rest, err := numKeys(args, i)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		return ErrSyntax
	}
	var front bool
	switch {
	case eq(rest[0], f.frontSide):
		front = true
	case eq(rest[0], f.backSide):
	default:
		return ErrSyntax
	}
	count, err := parseCountOpt(rest[1:])
	if err != nil {
		return err
	}
	return f.first(s, keys, front, count)
}

// first pops up to n elements from the first of keys that exists.
func (f *popFamily) first(s *Store, keys [][]byte, front bool, n int64) error {
	for _, k := range keys {
		o, err := s.lookupKind(k, f.kind)
		if err != nil {
			return err
		}
		if o != nil {
			f.pop(s, k, o, front, n)
			return nil
		}
	}
	return nil
}
