package keyspace

import (
	"errors"
	"math"
	"strconv"

	"github.com/persistkit/persistkit/format/rdb"
)

// itemsPerCmd is Redis' AOF_REWRITE_ITEMS_PER_CMD: variadic commands of a
// rewrite carry at most this many elements.
const itemsPerCmd = 64

// ErrNoCommandForm is returned by [Rewriter.Key] for a value that has no
// command form (a module value when no DUMP payload can be built); nothing
// was emitted for it.
var ErrNoCommandForm = errors.New("value has no command form")

// RewriteOptions tune the commands a [Rewriter] emits.
type RewriteOptions struct {
	// ScorePrecision is the number of significant digits of zset scores
	// (17 gives %.17g); 0 means the shortest text that round-trips, like
	// Redis >= 7.2.
	ScorePrecision int
	// ModuleDumpVersion, when > 0, makes module values a RESTORE of a DUMP
	// payload of this RDB version, which a server with the module loaded
	// accepts; when 0 module values have no command form.
	ModuleDumpVersion int
}

// Rewriter turns keys into the commands an AOF rewrite would emit
// (aof.md §8): SET, RPUSH, SADD, ZADD, HMSET (+ HPEXPIREAT), XADD/XSETID/
// XGROUP/XCLAIM, RESTORE for module values, then PEXPIREAT.
type Rewriter struct {
	emit func(args ...[]byte) error
	opt  RewriteOptions
	args [][]byte
}

// NewRewriter returns a Rewriter that passes each command to emit, which
// must consume args before it returns (they are reused).
func NewRewriter(emit func(args ...[]byte) error, opt RewriteOptions) *Rewriter {
	return &Rewriter{emit: emit, opt: opt}
}

func (r *Rewriter) cmd(args ...[]byte) error { return r.emit(args...) }

func (r *Rewriter) fmtScore(f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return []byte("inf")
	case math.IsInf(f, -1):
		return []byte("-inf")
	}
	prec := r.opt.ScorePrecision
	if prec == 0 {
		prec = -1 // shortest round trip
	}
	return strconv.AppendFloat(nil, f, 'g', prec, 64)
}

func rewriteID(id rdb.StreamID) []byte {
	s := strconv.AppendUint(nil, id.Ms, 10)
	s = append(s, '-')
	return strconv.AppendUint(s, id.Seq, 10)
}

// FunctionLoad emits FUNCTION LOAD for a function library's code.
func (r *Rewriter) FunctionLoad(code []byte) error {
	return r.cmd([]byte("FUNCTION"), []byte("LOAD"), code)
}

// batch emits name key items... in commands of at most itemsPerCmd items
// (pairs count as itemsPerCmd pairs via per).
func (r *Rewriter) batch(name string, key []byte, items [][]byte, per int) error {
	for len(items) > 0 {
		n := min(len(items), itemsPerCmd*per)
		r.args = append(r.args[:0], []byte(name), key)
		r.args = append(r.args, items[:n]...)
		if err := r.cmd(r.args...); err != nil {
			return err
		}
		items = items[n:]
	}
	return nil
}

// Key emits the commands that create key with value v and, unless
// expireAtMs is [rdb.NoExpire], its TTL. It returns [ErrNoCommandForm],
// having emitted nothing, for a value without a command form.
func (r *Rewriter) Key(key []byte, v rdb.Value, expireAtMs int64) error {
	var err error
	switch v := v.(type) {
	case *rdb.String:
		err = r.cmd([]byte("SET"), key, v.Data)
	case *rdb.List:
		err = r.batch("RPUSH", key, v.Elems, 1)
	case *rdb.Set:
		err = r.batch("SADD", key, v.Members, 1)
	case *rdb.ZSet:
		items := make([][]byte, 0, 2*len(v.Members))
		for _, m := range v.Members {
			items = append(items, r.fmtScore(m.Score), m.Member)
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
					if err = r.cmd([]byte("HPEXPIREAT"), key, strconv.AppendInt(nil, f.ExpireAtMs, 10), []byte("FIELDS"), []byte("1"), f.Field); err != nil {
						break
					}
				}
			}
		}
	case *rdb.Stream:
		err = r.stream(key, v)
	case *rdb.Module:
		// Module values have no generic command form (the module's own
		// aof_rewrite callback is not available offline): RESTORE them from
		// a DUMP payload, which a server with the module loaded accepts.
		if r.opt.ModuleDumpVersion <= 0 {
			return ErrNoCommandForm
		}
		payload, perr := rdb.EncodeDump(v, r.opt.ModuleDumpVersion)
		if perr != nil {
			return ErrNoCommandForm
		}
		err = r.cmd([]byte("RESTORE"), key, []byte("0"), payload)
	}
	if err == nil && expireAtMs != rdb.NoExpire {
		err = r.cmd([]byte("PEXPIREAT"), key, strconv.AppendInt(nil, expireAtMs, 10))
	}
	return err
}

// stream follows rewriteStreamObject: entries with XADD (an empty stream is
// created with MAXLEN 0), XSETID for the metadata, then groups, PELs
// (XCLAIM ... JUSTID FORCE) and consumers.
func (r *Rewriter) stream(key []byte, s *rdb.Stream) error {
	if len(s.Entries) == 0 {
		// XADD refuses 0-0; XSETID below moves the last ID back.
		id := s.LastID
		if id == (rdb.StreamID{}) {
			id.Seq = 1
		}
		if err := r.cmd([]byte("XADD"), key, []byte("MAXLEN"), []byte("0"), rewriteID(id), []byte("x"), []byte("y")); err != nil {
			return err
		}
	}
	for _, e := range s.Entries {
		r.args = append(r.args[:0], []byte("XADD"), key, rewriteID(e.ID))
		for _, f := range e.Fields {
			r.args = append(r.args, f.Field, f.Value)
		}
		if err := r.cmd(r.args...); err != nil {
			return err
		}
	}
	args := [][]byte{[]byte("XSETID"), key, rewriteID(s.LastID)}
	if s.HasV2Meta {
		args = append(args, []byte("ENTRIESADDED"), strconv.AppendUint(nil, s.EntriesAdded, 10),
			[]byte("MAXDELETEDID"), rewriteID(s.MaxDeletedID))
	}
	if err := r.cmd(args...); err != nil {
		return err
	}
	for _, g := range s.Groups {
		args := [][]byte{[]byte("XGROUP"), []byte("CREATE"), key, g.Name, rewriteID(g.LastID)}
		if s.HasV2Meta {
			args = append(args, []byte("ENTRIESREAD"), strconv.AppendInt(nil, g.EntriesRead, 10))
		}
		if err := r.cmd(args...); err != nil {
			return err
		}
		for _, p := range g.PEL {
			if err := r.cmd([]byte("XCLAIM"), key, g.Name, p.Consumer, []byte("0"), rewriteID(p.ID),
				[]byte("TIME"), strconv.AppendInt(nil, p.DeliveryTimeMs, 10),
				[]byte("RETRYCOUNT"), strconv.AppendUint(nil, p.DeliveryCount, 10),
				[]byte("JUSTID"), []byte("FORCE")); err != nil {
				return err
			}
		}
		for _, c := range g.Consumers {
			if len(c.PEL) == 0 {
				if err := r.cmd([]byte("XGROUP"), []byte("CREATECONSUMER"), key, g.Name, c.Name); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
