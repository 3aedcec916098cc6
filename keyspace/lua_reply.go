package keyspace

import (
	"bytes"
	"slices"
	"strconv"

	"github.com/persistkit/persistkit/format/rdb"
)

// The replies redis.call gives a script. Apply only mutates, so replies
// are modelled here: read commands are answered from the store, and write
// commands get their reply from the state before and after they run.
// Reply values: int64 (integer), []byte (bulk), nil (nil bulk), []any
// (array), statusReply. As Redis does for scripts in verbatim mode, the
// replies of commands flagged "sort for script" (SMEMBERS, HKEYS, HVALS)
// are sorted; HGETALL, which Redis returns in hash-table order, is sorted
// by field here. A command whose reply is not modelled fails the script
// with ErrUnsupported rather than hand it a made-up value.

// statusReply is a RESP simple string (+OK).
type statusReply string

const okReply = statusReply("OK")

type scriptRead struct {
	arity int
	fn    func(s *Store, args [][]byte) (any, error)
}

// scriptReads are the read-only commands scripts may call.
var scriptReads = map[string]scriptRead{
	"GET": {2, func(s *Store, a [][]byte) (any, error) { return s.readString(a[1]) }},
	"MGET": {-2, func(s *Store, a [][]byte) (any, error) {
		out := make([]any, 0, len(a)-1)
		for _, k := range a[1:] {
			o := s.lookup(k)
			if o == nil || o.Kind != rdb.KindString {
				out = append(out, nil)
				continue
			}
			out = append(out, o.Str)
		}
		return out, nil
	}},
	"STRLEN": {2, func(s *Store, a [][]byte) (any, error) {
		v, err := s.readString(a[1])
		if err != nil || v == nil {
			return int64(0), err
		}
		return int64(len(v.([]byte))), nil
	}},
	"EXISTS": {-2, func(s *Store, a [][]byte) (any, error) {
		var n int64
		for _, k := range a[1:] {
			if s.lookup(k) != nil {
				n++
			}
		}
		return n, nil
	}},
	"TYPE": {2, func(s *Store, a [][]byte) (any, error) {
		o := s.lookup(a[1])
		if o == nil {
			return statusReply("none"), nil
		}
		names := [...]string{"string", "list", "set", "zset", "hash", "module", "stream"}
		if int(o.Kind) >= len(names) {
			return statusReply("none"), nil
		}
		return statusReply(names[o.Kind]), nil
	}},
	"TTL":  {2, func(s *Store, a [][]byte) (any, error) { return s.readTTL(a[1], 1000), nil }},
	"PTTL": {2, func(s *Store, a [][]byte) (any, error) { return s.readTTL(a[1], 1), nil }},
	"HGET": {3, func(s *Store, a [][]byte) (any, error) {
		o, err := s.lookupKind(a[1], rdb.KindHash)
		if err != nil || o == nil {
			return nil, err
		}
		if f, ok := o.Hash[string(a[2])]; ok {
			return f.Value, nil
		}
		return nil, nil
	}},
	"HMGET": {-3, func(s *Store, a [][]byte) (any, error) {
		o, err := s.lookupKind(a[1], rdb.KindHash)
		if err != nil {
			return nil, err
		}
		out := make([]any, 0, len(a)-2)
		for _, f := range a[2:] {
			var v any
			if o != nil {
				if hv, ok := o.Hash[string(f)]; ok {
					v = hv.Value
				}
			}
			out = append(out, v)
		}
		return out, nil
	}},
	"HEXISTS": {3, memberReply(rdb.KindHash, func(o *Object, m string) bool { _, ok := o.Hash[m]; return ok })},
	"HLEN":    {2, lenReply(rdb.KindHash)},
	"HGETALL": {2, hashReply(true, true)},
	"HKEYS":   {2, hashReply(true, false)},
	"HVALS":   {2, hashReply(false, true)},
	"LLEN":    {2, lenReply(rdb.KindList)},
	"LRANGE": {4, func(s *Store, a [][]byte) (any, error) {
		start, err := parseInt(a[2])
		if err != nil {
			return nil, err
		}
		end, err := parseInt(a[3])
		if err != nil {
			return nil, err
		}
		o, err := s.lookupKind(a[1], rdb.KindList)
		if err != nil || o == nil {
			return []any{}, err
		}
		lo, hi, empty := rangeBounds(len(o.List), start, end)
		out := []any{}
		if !empty {
			for _, v := range o.List[lo : hi+1] {
				out = append(out, v)
			}
		}
		return out, nil
	}},
	"LINDEX": {3, func(s *Store, a [][]byte) (any, error) {
		idx, err := parseInt(a[2])
		if err != nil {
			return nil, err
		}
		o, err := s.lookupKind(a[1], rdb.KindList)
		if err != nil || o == nil {
			return nil, err
		}
		if i, ok := listIndex(len(o.List), idx); ok {
			return o.List[i], nil
		}
		return nil, nil
	}},
	"SCARD": {2, lenReply(rdb.KindSet)},
	"SMEMBERS": {2, func(s *Store, a [][]byte) (any, error) {
		o, err := s.lookupKind(a[1], rdb.KindSet)
		if err != nil || o == nil {
			return []any{}, err
		}
		ms := make([]string, 0, len(o.Set))
		for m := range o.Set {
			ms = append(ms, m)
		}
		slices.Sort(ms)
		out := make([]any, len(ms))
		for i, m := range ms {
			out[i] = []byte(m)
		}
		return out, nil
	}},
	"SISMEMBER": {3, memberReply(rdb.KindSet, func(o *Object, m string) bool { _, ok := o.Set[m]; return ok })},
	"ZCARD":     {2, lenReply(rdb.KindZSet)},
	"ZSCORE": {3, func(s *Store, a [][]byte) (any, error) {
		o, err := s.lookupKind(a[1], rdb.KindZSet)
		if err != nil || o == nil {
			return nil, err
		}
		if sc, ok := o.ZSet[string(a[2])]; ok {
			return rdb.AppendG17(nil, sc), nil
		}
		return nil, nil
	}},
	"ZRANGE":    {-4, zrangeReply(false)},
	"ZREVRANGE": {-4, zrangeReply(true)},
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func (s *Store) readString(key []byte) (any, error) {
	o, err := s.lookupKind(key, rdb.KindString)
	if err != nil || o == nil {
		return nil, err
	}
	return o.Str, nil
}

// readTTL is TTL (unit 1000) / PTTL (unit 1): -2 no key, -1 no TTL,
// else the time left from s.NowMs, rounded like ttlGenericCommand.
func (s *Store) readTTL(key []byte, unit int64) int64 {
	o := s.lookup(key)
	switch {
	case o == nil:
		return -2
	case !o.HasTTL():
		return -1
	}
	ttl := max(o.ExpireAtMs-s.NowMs, 0)
	return (ttl + unit/2) / unit
}

// memberReply answers HEXISTS and SISMEMBER: 1 when the key holds a value
// of kind that has the member (or field) a[2], else 0.
func memberReply(kind rdb.Kind, has func(o *Object, m string) bool) func(*Store, [][]byte) (any, error) {
	return func(s *Store, a [][]byte) (any, error) {
		o, err := s.lookupKind(a[1], kind)
		if err != nil || o == nil {
			return int64(0), err
		}
		return boolInt(has(o, string(a[2]))), nil
	}
}

func lenReply(kind rdb.Kind) func(*Store, [][]byte) (any, error) {
	return func(s *Store, a [][]byte) (any, error) {
		o, err := s.lookupKind(a[1], kind)
		if err != nil || o == nil {
			return int64(0), err
		}
		return int64(o.Len()), nil
	}
}

// hashReply answers HGETALL/HKEYS/HVALS in field order (HVALS: sorted
// values, as Redis sorts it for scripts).
func hashReply(fields, values bool) func(*Store, [][]byte) (any, error) {
	return func(s *Store, a [][]byte) (any, error) {
		o, err := s.lookupKind(a[1], rdb.KindHash)
		if err != nil || o == nil {
			return []any{}, err
		}
		fs := make([]string, 0, len(o.Hash))
		for f := range o.Hash {
			fs = append(fs, f)
		}
		slices.Sort(fs)
		out := make([]any, 0, 2*len(fs))
		for _, f := range fs {
			if fields {
				out = append(out, []byte(f))
			}
			if values {
				out = append(out, o.Hash[f].Value)
			}
		}
		if values && !fields {
			slices.SortFunc(out, func(x, y any) int { return bytes.Compare(x.([]byte), y.([]byte)) })
		}
		return out, nil
	}
}

// zrangeReply is ZRANGE/ZREVRANGE key start stop [WITHSCORES] (index
// ranges only; BYSCORE/BYLEX/LIMIT are not modelled).
func zrangeReply(rev bool) func(*Store, [][]byte) (any, error) {
	return func(s *Store, a [][]byte) (any, error) {
		withScores := false
		for _, opt := range a[4:] {
			if !eq(opt, "WITHSCORES") {
				if eq(opt, "REV") && !rev {
					return nil, ErrUnsupported
				}
				return nil, ErrSyntax
			}
			withScores = true
		}
		start, err := parseInt(a[2])
		if err != nil {
			return nil, err
		}
		end, err := parseInt(a[3])
		if err != nil {
			return nil, err
		}
		o, err := s.lookupKind(a[1], rdb.KindZSet)
		if err != nil || o == nil {
			return []any{}, err
		}
		z := sortedZ(o.ZSet)
		if rev {
			slices.Reverse(z)
		}
		out := []any{}
		lo, hi, empty := rangeBounds(len(z), start, end)
		if !empty {
			for _, e := range z[lo : hi+1] {
				out = append(out, []byte(e.member))
				if withScores {
					out = append(out, rdb.AppendG17(nil, e.score))
				}
			}
		}
		return out, nil
	}
}

// scriptWrite runs a write command (run applies it and returns the
// bare cause) and returns its reply.
type scriptWrite func(s *Store, args [][]byte, run func() error) (any, error)

// scriptWrites models the replies of the write commands scripts commonly
// use; the others fail the script with ErrUnsupported.
var scriptWrites = map[string]scriptWrite{}

func init() {
	ok := func(s *Store, a [][]byte, run func() error) (any, error) { return okReply, run() }
	for _, n := range []string{"SETEX", "PSETEX", "MSET", "LSET", "LTRIM", "RENAME", "FLUSHDB", "FLUSHALL",
		"SELECT", "SWAPDB", "HMSET", "RESTORE", "PFMERGE"} {
		scriptWrites[n] = ok
	}
	// Integer replies that are the size of a key after the command.
	lenAfter := func(key int) scriptWrite {
		return func(s *Store, a [][]byte, run func() error) (any, error) {
			if err := run(); err != nil {
				return nil, err
			}
			return s.keyLen(a[key]), nil
		}
	}
	for _, n := range []string{"LPUSH", "RPUSH", "LPUSHX", "RPUSHX", "APPEND", "SETRANGE"} {
		scriptWrites[n] = lenAfter(1)
	}
	for _, n := range []string{"SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE", "ZUNIONSTORE", "ZINTERSTORE",
		"ZDIFFSTORE", "ZRANGESTORE"} {
		scriptWrites[n] = lenAfter(1)
	}
	// Integer replies that are how much a key grew or shrank.
	grew := func(sign int64) scriptWrite {
		return func(s *Store, a [][]byte, run func() error) (any, error) {
			before := s.keyLen(a[1])
			if err := run(); err != nil {
				return nil, err
			}
			return sign * (s.keyLen(a[1]) - before), nil
		}
	}
	for _, n := range []string{"SADD", "HSET"} {
		scriptWrites[n] = grew(1)
	}
	for _, n := range []string{"SREM", "HDEL", "LREM", "ZREM", "ZREMRANGEBYSCORE", "ZREMRANGEBYRANK", "ZREMRANGEBYLEX"} {
		scriptWrites[n] = grew(-1)
	}
	// Replies that are the new value of a string or field.
	scriptWrites["INCR"] = numAfter(false, false)
	scriptWrites["DECR"] = numAfter(false, false)
	scriptWrites["INCRBY"] = numAfter(false, false)
	scriptWrites["DECRBY"] = numAfter(false, false)
	scriptWrites["INCRBYFLOAT"] = numAfter(false, true)
	scriptWrites["HINCRBY"] = numAfter(true, false)
	scriptWrites["HINCRBYFLOAT"] = numAfter(true, true)

	scriptWrites["SET"] = func(s *Store, a [][]byte, run func() error) (any, error) {
		old := s.lookup(a[1])
		if err := run(); err != nil {
			return nil, err
		}
		if slices.ContainsFunc(a[3:], func(b []byte) bool { return eq(b, "GET") }) {
			if old == nil {
				return nil, nil
			}
			return old.Str, nil
		}
		if now := s.lookup(a[1]); now == nil || now == old {
			return nil, nil // NX/XX not met
		}
		return okReply, nil
	}
	scriptWrites["SETNX"] = func(s *Store, a [][]byte, run func() error) (any, error) {
		existed := s.lookup(a[1]) != nil
		return boolInt(!existed), run()
	}
	scriptWrites["MSETNX"] = func(s *Store, a [][]byte, run func() error) (any, error) {
		none := true
		for i := 1; i < len(a); i += 2 {
			none = none && s.lookup(a[i]) == nil
		}
		if err := run(); err != nil {
			return nil, err
		}
		return boolInt(none), nil
	}
	oldString := func(s *Store, a [][]byte, run func() error) (any, error) {
		old, err := s.readString(a[1])
		if err != nil {
			return nil, err
		}
		return old, run()
	}
	scriptWrites["GETSET"] = oldString
	scriptWrites["GETDEL"] = oldString
	scriptWrites["DEL"] = func(s *Store, a [][]byte, run func() error) (any, error) {
		seen := map[string]bool{}
		var n int64
		for _, k := range a[1:] {
			if !seen[string(k)] && s.lookup(k) != nil {
				n++
			}
			seen[string(k)] = true
		}
		return n, run()
	}
	scriptWrites["UNLINK"] = scriptWrites["DEL"]
	expire := func(s *Store, a [][]byte, run func() error) (any, error) {
		o := s.lookup(a[1])
		if o == nil {
			return int64(0), run()
		}
		before := o.ExpireAtMs
		if err := run(); err != nil {
			return nil, err
		}
		// With NX/XX/GT/LT an unchanged TTL means the condition failed.
		now := s.lookup(a[1])
		return boolInt(len(a) == 3 || now != o || now.ExpireAtMs != before), nil
	}
	for _, n := range []string{"EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"} {
		scriptWrites[n] = expire
	}
	scriptWrites["PERSIST"] = func(s *Store, a [][]byte, run func() error) (any, error) {
		o := s.lookup(a[1])
		return boolInt(o != nil && o.HasTTL()), run()
	}
	scriptWrites["RENAMENX"] = func(s *Store, a [][]byte, run func() error) (any, error) {
		free := s.lookup(a[2]) == nil
		if err := run(); err != nil {
			return nil, err
		}
		return boolInt(free), nil
	}
	scriptWrites["HSETNX"] = func(s *Store, a [][]byte, run func() error) (any, error) {
		o, err := s.lookupKind(a[1], rdb.KindHash)
		if err != nil {
			return nil, err
		}
		_, had := o.hashField(a[2])
		return boolInt(!had), run()
	}
	scriptWrites["SMOVE"] = func(s *Store, a [][]byte, run func() error) (any, error) {
		o, _ := s.lookupKind(a[1], rdb.KindSet)
		had := false
		if o != nil {
			_, had = o.Set[string(a[3])]
		}
		if err := run(); err != nil {
			return nil, err
		}
		return boolInt(had), nil
	}
	scriptWrites["LINSERT"] = func(s *Store, a [][]byte, run func() error) (any, error) {
		before := s.keyLen(a[1])
		if err := run(); err != nil {
			return nil, err
		}
		after := s.keyLen(a[1])
		switch {
		case after == 0:
			return int64(0), nil
		case after == before:
			return int64(-1), nil
		}
		return after, nil
	}
	pop := func(left bool) scriptWrite {
		return func(s *Store, a [][]byte, run func() error) (any, error) {
			o, err := s.lookupKind(a[1], rdb.KindList)
			if err != nil {
				return nil, err
			}
			var items [][]byte
			if o != nil {
				items = slices.Clone(o.List)
			}
			if !left {
				slices.Reverse(items)
			}
			if err := run(); err != nil {
				return nil, err
			}
			if len(a) == 2 {
				if len(items) == 0 {
					return nil, nil
				}
				return items[0], nil
			}
			if o == nil {
				return nil, nil
			}
			n, _ := parseInt(a[2])
			out := []any{}
			for _, v := range items[:min(int(n), len(items))] {
				out = append(out, v)
			}
			return out, nil
		}
	}
	scriptWrites["LPOP"] = pop(true)
	scriptWrites["RPOP"] = pop(false)
	move := func(s *Store, a [][]byte, run func() error) (any, error) {
		left := len(a) > 3 && eq(a[3], "LEFT")
		o, err := s.lookupKind(a[1], rdb.KindList)
		if err != nil {
			return nil, err
		}
		var v any
		if o != nil && len(o.List) > 0 {
			if left {
				v = o.List[0]
			} else {
				v = o.List[len(o.List)-1]
			}
		}
		return v, run()
	}
	scriptWrites["RPOPLPUSH"] = move
	scriptWrites["LMOVE"] = move
	scriptWrites["ZADD"] = func(s *Store, a [][]byte, run func() error) (any, error) {
		var ch, incr, cond bool
		i := 2
	opts:
		for ; i < len(a); i++ {
			switch {
			case eq(a[i], "CH"):
				ch = true
			case eq(a[i], "INCR"):
				incr = true
			case eq(a[i], "NX"), eq(a[i], "XX"), eq(a[i], "GT"), eq(a[i], "LT"):
				cond = true
			default:
				break opts
			}
		}
		o, err := s.lookupKind(a[1], rdb.KindZSet)
		if err != nil {
			return nil, err
		}
		before := map[string]float64{}
		if o != nil {
			for j := i + 1; j < len(a); j += 2 {
				if sc, ok := o.ZSet[string(a[j])]; ok {
					before[string(a[j])] = sc
				}
			}
		}
		if err := run(); err != nil {
			return nil, err
		}
		z, _ := s.lookupKind(a[1], rdb.KindZSet)
		var n int64
		for j := i + 1; j < len(a); j += 2 {
			m := string(a[j])
			sc, now := z.zscore(m)
			old, was := before[m]
			if incr {
				if !now || (cond && was && old == sc) {
					return nil, nil
				}
				return rdb.AppendG17(nil, sc), nil
			}
			if now && (!was || (ch && old != sc)) {
				n++
			}
		}
		return n, nil
	}
	scriptWrites["ZINCRBY"] = func(s *Store, a [][]byte, run func() error) (any, error) {
		if err := run(); err != nil {
			return nil, err
		}
		z, _ := s.lookupKind(a[1], rdb.KindZSet)
		sc, _ := z.zscore(string(a[3]))
		return rdb.AppendG17(nil, sc), nil
	}
	zpop := func(minFirst bool) scriptWrite {
		return func(s *Store, a [][]byte, run func() error) (any, error) {
			o, err := s.lookupKind(a[1], rdb.KindZSet)
			if err != nil {
				return nil, err
			}
			var z []zEntry
			if o != nil {
				z = sortedZ(o.ZSet)
			}
			if !minFirst {
				slices.Reverse(z)
			}
			n := int64(1)
			if len(a) > 2 {
				if n, err = parseInt(a[2]); err != nil {
					return nil, err
				}
			}
			if err := run(); err != nil {
				return nil, err
			}
			out := []any{}
			for _, e := range z[:min(max(n, 0), int64(len(z)))] {
				out = append(out, []byte(e.member), rdb.AppendG17(nil, e.score))
			}
			return out, nil
		}
	}
	scriptWrites["ZPOPMIN"] = zpop(true)
	scriptWrites["ZPOPMAX"] = zpop(false)
	scriptWrites["PFADD"] = func(s *Store, a [][]byte, run func() error) (any, error) {
		o := s.lookup(a[1])
		var before []byte
		if o != nil {
			before = bytes.Clone(o.Str)
		}
		if err := run(); err != nil {
			return nil, err
		}
		now := s.lookup(a[1])
		return boolInt(o == nil || !bytes.Equal(before, now.Str)), nil
	}
	scriptWrites["SETBIT"] = func(s *Store, a [][]byte, run func() error) (any, error) {
		var old int64
		if o, _ := s.lookupKind(a[1], rdb.KindString); o != nil {
			if off, err := parseUint(a[2]); err == nil && off/8 < uint64(len(o.Str)) {
				old = int64(o.Str[off/8]>>(7-off%8)) & 1
			}
		}
		return old, run()
	}
}

// numAfter replies with the value of a string (hash=false) or hash field
// after INCR*/HINCRBY*: an integer, or bulk text for the FLOAT forms.
func numAfter(hash, float bool) scriptWrite {
	return func(s *Store, a [][]byte, run func() error) (any, error) {
		if err := run(); err != nil {
			return nil, err
		}
		var v []byte
		if hash {
			o, _ := s.lookupKind(a[1], rdb.KindHash)
			v, _ = o.hashField(a[2])
		} else if o := s.lookup(a[1]); o != nil {
			v = o.Str
		}
		if float {
			return v, nil
		}
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return nil, err
		}
		return n, nil
	}
}

// keyLen is the length of a key's value (string bytes, collection
// elements), 0 when missing.
func (s *Store) keyLen(key []byte) int64 {
	o := s.lookup(key)
	if o == nil {
		return 0
	}
	if o.Kind == rdb.KindString {
		return int64(len(o.Str))
	}
	return int64(o.Len())
}

func (o *Object) hashField(f []byte) ([]byte, bool) {
	if o == nil {
		return nil, false
	}
	hv, ok := o.Hash[string(f)]
	if !ok {
		return nil, false
	}
	return hv.Value, true
}

func (o *Object) zscore(m string) (float64, bool) {
	if o == nil {
		return 0, false
	}
	sc, ok := o.ZSet[m]
	return sc, ok
}
