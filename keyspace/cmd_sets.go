package keyspace

import (
	"fmt"

	"github.com/persistkit/persistkit/format/rdb"
)

// errRandom marks a command whose effect depends on Redis' random choice;
// AOFs carry its resolved form (SPOP -> SREM) since 3.2.
var errRandom = fmt.Errorf("%w: random choice cannot be replayed", ErrUnsupported)

func init() {
	register("SADD", -3, cmdSAdd)
	register("SREM", -3, cmdSRem)
	register("SMOVE", 4, cmdSMove)
	register("SPOP", -2, cmdSPop)
	register("SINTERSTORE", -3, cmdSetStore)
	register("SUNIONSTORE", -3, cmdSetStore)
	register("SDIFFSTORE", -3, cmdSetStore)
	for _, n := range []string{"SMEMBERS", "SISMEMBER", "SMISMEMBER", "SCARD", "SRANDMEMBER",
		"SINTER", "SUNION", "SDIFF", "SINTERCARD", "SSCAN"} {
		register(n, -2, noop)
	}
}

func cmdSAdd(s *Store, args [][]byte) error {
	o, err := s.lookupOrCreate(args[1], rdb.KindSet)
	if err != nil {
		return err
	}
	for _, m := range args[2:] {
		o.Set[string(m)] = struct{}{}
	}
	return nil
}

func cmdSRem(s *Store, args [][]byte) error {
	o, err := s.lookupKind(args[1], rdb.KindSet)
	if err != nil || o == nil {
		return err
	}
	for _, m := range args[2:] {
		delete(o.Set, string(m))
	}
	s.deleteIfEmpty(args[1], o)
	return nil
}

func cmdSMove(s *Store, args [][]byte) error {
	if s.lookup(args[1]) == nil {
		return nil // checked before any type check
	}
	src, err := s.lookupKind(args[1], rdb.KindSet)
	if err != nil {
		return err
	}
	if _, err := s.lookupKind(args[2], rdb.KindSet); err != nil {
		return err
	}
	m := string(args[3])
	if _, ok := src.Set[m]; !ok || string(args[1]) == string(args[2]) {
		return nil
	}
	delete(src.Set, m)
	s.deleteIfEmpty(args[1], src)
	dst, _ := s.lookupOrCreate(args[2], rdb.KindSet)
	dst.Set[m] = struct{}{}
	return nil
}

// cmdSPop is deterministic only when every member is popped.
func cmdSPop(s *Store, args [][]byte) error {
	count, err := popCount(args)
	if err != nil {
		return err
	}
	o, err := s.lookupKind(args[1], rdb.KindSet)
	if err != nil || o == nil || count == 0 {
		return err
	}
	if count < int64(len(o.Set)) {
		return errRandom
	}
	delete(s.db().Keys, string(args[1]))
	return nil
}

// readSets returns the sets named by keys (nil for a missing key).
func (s *Store) readSets(keys [][]byte) ([]map[string]struct{}, error) {
	out := make([]map[string]struct{}, len(keys))
	for i, k := range keys {
		o, err := s.lookupKind(k, rdb.KindSet)
		if err != nil {
			return nil, err
		}
		if o != nil {
			out[i] = o.Set
		}
	}
	return out, nil
}

// cmdSetStore is SINTERSTORE/SUNIONSTORE/SDIFFSTORE dst key...; an empty
// result deletes dst, otherwise dst is replaced (TTL dropped).
func cmdSetStore(s *Store, args [][]byte) error {
	sets, err := s.readSets(args[2:])
	if err != nil {
		return err
	}
	res := map[string]struct{}{}
	switch {
	case eq(args[0], "SUNIONSTORE"):
		for _, st := range sets {
			for m := range st {
				res[m] = struct{}{}
			}
		}
	case eq(args[0], "SINTERSTORE"):
		for m := range sets[0] {
			in := true
			for _, st := range sets[1:] {
				if _, ok := st[m]; !ok {
					in = false
					break
				}
			}
			if in {
				res[m] = struct{}{}
			}
		}
	default:
		for m := range sets[0] {
			in := false
			for _, st := range sets[1:] {
				if _, ok := st[m]; ok {
					in = true
					break
				}
			}
			if !in {
				res[m] = struct{}{}
			}
		}
	}
	if len(res) == 0 {
		delete(s.db().Keys, string(args[1]))
		return nil
	}
	o := NewObject(rdb.KindSet)
	o.Set = res
	s.setKey(args[1], o, false)
	return nil
}
