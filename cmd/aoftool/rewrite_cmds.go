package main

import (
	"errors"
	"math"
	"strconv"

	"github.com/persistkit/persistkit/format/rdb"
)

// itemsPerCmd is Redis' AOF_REWRITE_ITEMS_PER_CMD: variadic commands of a
// rewrite carry at most this many elements.
const itemsPerCmd = 64

// errSkipped marks values that have no command form (modules whose DUMP
// payload cannot be built).
var errSkipped = errors.New("value has no command form")

// rewriter turns keys into the commands an AOF rewrite would emit (aof.md §8).
// It mirrors cmd/rdbtool's rewriter; the two CLIs cannot share package main.
type rewriter struct {
	emit    func(args ...[]byte) error // consumes args before returning
	err     error
	skipped int
	args    [][]byte
}

func (r *rewriter) cmd(args ...[]byte) error { return r.emit(args...) }

func b(s string) []byte { return []byte(s) }

func fmtScore(f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return b("inf")
	case math.IsInf(f, -1):
		return b("-inf")
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64) // shortest round trip, like 7.2+
}

func fmtID(id rdb.StreamID) []byte {
	s := strconv.AppendUint(nil, id.Ms, 10)
	s = append(s, '-')
	return strconv.AppendUint(s, id.Seq, 10)
}

// batch emits name key items... in commands of at most itemsPerCmd items
// (pairs count as itemsPerCmd pairs via per).
func (r *rewriter) batch(name string, key []byte, items [][]byte, per int) error {
	for len(items) > 0 {
		n := min(len(items), itemsPerCmd*per)
		r.args = append(r.args[:0], b(name), key)
		r.args = append(r.args, items[:n]...)
		if err := r.cmd(r.args...); err != nil {
			return err
		}
		items = items[n:]
	}
	return nil
}

// key writes the commands that create key with value v and TTL exp.
func (r *rewriter) key(key []byte, v rdb.Value, exp int64) error {
	var err error
	switch v := v.(type) {
	case *rdb.String:
		err = r.cmd(b("SET"), key, v.Data)
	case *rdb.List:
		err = r.batch("RPUSH", key, v.Elems, 1)
	case *rdb.Set:
		err = r.batch("SADD", key, v.Members, 1)
	case *rdb.ZSet:
		items := make([][]byte, 0, 2*len(v.Members))
		for _, m := range v.Members {
			items = append(items, fmtScore(m.Score), m.Member)
		}
		err = r.batch("ZADD", key, items, 2)
	case *rdb.Hash:
		items := make([][]byte, 0, 2*len(v.Fields))
		for _, f := range v.Fields {
			items = append(items, f.Field, f.Value)
		}
		if err = r.batch("HMSET", key, items, 2); err == nil {
			for _, f := range v.Fields {
				if f.ExpireAtMs != 0 {
					if err = r.cmd(b("HPEXPIREAT"), key, strconv.AppendInt(nil, f.ExpireAtMs, 10), b("FIELDS"), b("1"), f.Field); err != nil {
						break
					}
				}
			}
		}
	case *rdb.Stream:
		err = r.stream(key, v)
	case *rdb.Module:
		// TODO(issue 7): RESTORE with a DUMP payload once the encoder
		// offers one; module values cannot be rebuilt from commands.
		_ = v
		r.skipped++
		r.err = errSkipped
		return nil
	}
	if err == nil && exp != rdb.NoExpire {
		err = r.cmd(b("PEXPIREAT"), key, strconv.AppendInt(nil, exp, 10))
	}
	return err
}

// stream follows rewriteStreamObject: entries with XADD (an empty stream is
// created with MAXLEN 0), XSETID for the metadata, then groups, PELs
// (XCLAIM ... JUSTID FORCE) and consumers.
func (r *rewriter) stream(key []byte, s *rdb.Stream) error {
	if len(s.Entries) == 0 {
		// XADD refuses 0-0; XSETID below moves the last ID back.
		id := s.LastID
		if id == (rdb.StreamID{}) {
			id.Seq = 1
		}
		if err := r.cmd(b("XADD"), key, b("MAXLEN"), b("0"), fmtID(id), b("x"), b("y")); err != nil {
			return err
		}
	}
	for _, e := range s.Entries {
		r.args = append(r.args[:0], b("XADD"), key, fmtID(e.ID))
		for _, f := range e.Fields {
			r.args = append(r.args, f.Field, f.Value)
		}
		if err := r.cmd(r.args...); err != nil {
			return err
		}
	}
	args := [][]byte{b("XSETID"), key, fmtID(s.LastID)}
	if s.HasV2Meta {
		args = append(args, b("ENTRIESADDED"), strconv.AppendUint(nil, s.EntriesAdded, 10),
			b("MAXDELETEDID"), fmtID(s.MaxDeletedID))
	}
	if err := r.cmd(args...); err != nil {
		return err
	}
	for _, g := range s.Groups {
		args := [][]byte{b("XGROUP"), b("CREATE"), key, g.Name, fmtID(g.LastID)}
		if s.HasV2Meta {
			args = append(args, b("ENTRIESREAD"), strconv.AppendInt(nil, g.EntriesRead, 10))
		}
		if err := r.cmd(args...); err != nil {
			return err
		}
		for _, p := range g.PEL {
			if err := r.cmd(b("XCLAIM"), key, g.Name, p.Consumer, b("0"), fmtID(p.ID),
				b("TIME"), strconv.AppendInt(nil, p.DeliveryTimeMs, 10),
				b("RETRYCOUNT"), strconv.AppendUint(nil, p.DeliveryCount, 10),
				b("JUSTID"), b("FORCE")); err != nil {
				return err
			}
		}
		for _, c := range g.Consumers {
			if len(c.PEL) == 0 {
				if err := r.cmd(b("XGROUP"), b("CREATECONSUMER"), key, g.Name, c.Name); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
