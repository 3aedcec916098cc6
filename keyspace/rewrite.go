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
// XGROUP/XCLAIM, RESTORE for module values, then PEXPIREAT. It allocates
// nothing per key for strings, lists, sets, zsets and hashes. Not safe for
// concurrent use.
type Rewriter struct {
	emit func(args ...[]byte) error
	opt  RewriteOptions
	args [][]byte
	// num holds the numbers (scores, times) of the command being built;
	// args may point into it, so it is reset only between commands.
	num []byte
}

// Command names, shared by every command (emit must not modify args).
var (
	cmdSET        = []byte("SET")
	cmdRPUSH      = []byte("RPUSH")
	cmdSADD       = []byte("SADD")
	cmdZADD       = []byte("ZADD")
	cmdHMSET      = []byte("HMSET")
	cmdHPEXPIREAT = []byte("HPEXPIREAT")
	cmdPEXPIREAT  = []byte("PEXPIREAT")
	argFIELDS     = []byte("FIELDS")
	argOne        = []byte("1")
	cmdXADD       = []byte("XADD")
)

// NewRewriter returns a Rewriter that passes each command to emit, which
// must consume args before it returns (they are reused) and not modify
// them.
func NewRewriter(emit func(args ...[]byte) error, opt RewriteOptions) *Rewriter {
	return &Rewriter{emit: emit, opt: opt}
}

func (r *Rewriter) cmd(args ...[]byte) error { return r.emit(args...) }

// flush emits the command built in r.args and starts the next one.
func (r *Rewriter) flush() error {
	err := r.emit(r.args...)
	r.args, r.num = r.args[:0], r.num[:0]
	return err
}

// appendNum appends the decimal n to r.num and returns it.
func (r *Rewriter) appendNum(n int64) []byte {
	start := len(r.num)
	r.num = strconv.AppendInt(r.num, n, 10)
	return r.num[start:len(r.num):len(r.num)]
}

// appendID appends a stream ID "ms-seq" to r.num and returns it.
func (r *Rewriter) appendID(id rdb.StreamID) []byte {
	start := len(r.num)
	r.num = strconv.AppendUint(r.num, id.Ms, 10)
	r.num = append(r.num, '-')
	r.num = strconv.AppendUint(r.num, id.Seq, 10)
	return r.num[start:len(r.num):len(r.num)]
}

func (r *Rewriter) fmtScore(f float64) []byte {
	start := len(r.num)
	r.num = appendScore(r.num, f, r.opt.ScorePrecision)
	return r.num[start:len(r.num):len(r.num)]
}

// appendScore formats a zset score as %.<prec>g would, or as the shortest
// text that round-trips when prec is 0; infinities are inf and -inf.
func appendScore(dst []byte, f float64, prec int) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	}
	// Integral scores print as integers below the exponent threshold:
	// 10^6 for the shortest form (%e from exponent 6 on), 10^15 (well
	// inside the 17 digits) for %.17g. -0 keeps its sign through strconv.
	limit := int64(0)
	switch prec {
	case 0:
		limit = 1e6
	case 17:
		limit = 1e15
	}
	if i := int64(f); float64(i) == f && i > -limit && i < limit && (i != 0 || !math.Signbit(f)) {
		return strconv.AppendInt(dst, i, 10)
	}
	switch prec {
	case 0:
		prec = -1 // shortest round trip
	case 17:
		if out, ok := appendG17(dst, f); ok {
			return out
		}
	}
	return strconv.AppendFloat(dst, f, 'g', prec, 64)
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

// batch emits name key items... in commands of at most itemsPerCmd items.
func (r *Rewriter) batch(name, key []byte, items [][]byte) error {
	for len(items) > 0 {
		n := min(len(items), itemsPerCmd)
		r.args = append(r.args[:0], name, key)
		r.args = append(r.args, items[:n]...)
		if err := r.flush(); err != nil {
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
	r.args, r.num = r.args[:0], r.num[:0]
	switch v := v.(type) {
	case *rdb.String:
		r.args = append(r.args, cmdSET, key, v.Data)
		err = r.flush()
	case *rdb.List:
		err = r.batch(cmdRPUSH, key, v.Elems)
	case *rdb.Set:
		err = r.batch(cmdSADD, key, v.Members)
	case *rdb.ZSet:
		// Commands of at most itemsPerCmd score-member pairs.
		for ms := v.Members; len(ms) > 0 && err == nil; {
			n := min(len(ms), itemsPerCmd)
			r.args = append(r.args, cmdZADD, key)
			for i := range ms[:n] {
				r.args = append(r.args, r.fmtScore(ms[i].Score), ms[i].Member)
			}
			err = r.flush()
			ms = ms[n:]
		}
	case *rdb.Hash:
		for fs := v.Fields; len(fs) > 0 && err == nil; {
			n := min(len(fs), itemsPerCmd)
			r.args = append(r.args, cmdHMSET, key)
			for i := range fs[:n] {
				r.args = append(r.args, fs[i].Field, fs[i].Value)
			}
			err = r.flush()
			fs = fs[n:]
		}
		for i := range v.Fields {
			if err != nil {
				break
			}
			if f := &v.Fields[i]; f.ExpireAtMs != 0 {
				r.args = append(r.args, cmdHPEXPIREAT, key, r.appendNum(f.ExpireAtMs), argFIELDS, argOne, f.Field)
				err = r.flush()
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
		r.args = append(r.args[:0], cmdPEXPIREAT, key, r.appendNum(expireAtMs))
		err = r.flush()
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
	// One XADD per entry, built in the reused r.args and r.num.
	for i := range s.Entries {
		e := &s.Entries[i]
		r.args, r.num = r.args[:0], r.num[:0]
		r.args = append(r.args, cmdXADD, key, r.appendID(e.ID))
		for _, f := range e.Fields {
			r.args = append(r.args, f.Field, f.Value)
		}
		if err := r.flush(); err != nil {
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
