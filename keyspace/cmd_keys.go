package keyspace

import (
	"errors"
	"maps"
	"math"

	"github.com/persistkit/persistkit/format/rdb"
)

var (
	errSameObject    = errors.New("source and destination objects are the same")
	errExpireOptions = errors.New("NX and XX, GT or LT options at the same time are not compatible")
)

func init() {
	register("DEL", -2, cmdDel)
	register("UNLINK", -2, cmdDel)
	register("EXPIRE", -3, cmdExpire)
	register("PEXPIRE", -3, cmdExpire)
	register("EXPIREAT", -3, cmdExpire)
	register("PEXPIREAT", -3, cmdExpire)
	register("PERSIST", 2, cmdPersist)
	register("RENAME", 3, cmdRename)
	register("RENAMENX", 3, cmdRename)
	register("MOVE", 3, cmdMove)
	register("COPY", -3, cmdCopy)
	for _, n := range []string{"EXISTS", "TYPE", "TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME",
		"TOUCH", "KEYS", "SCAN", "RANDOMKEY", "DUMP", "OBJECT", "DBSIZE"} {
		register(n, -1, noop)
	}
}

func cmdDel(s *Store, args [][]byte) error {
	for _, k := range args[1:] {
		delete(s.db().Keys, string(k))
	}
	return nil
}

// cmdExpire is EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT with the 7.0 NX/XX/GT/LT
// flags. A time in the past still only sets the TTL: a loading server
// never deletes (checkAlreadyExpired is false while loading).
func cmdExpire(s *Store, args [][]byte) error {
	v, err := parseInt(args[2])
	if err != nil {
		return err
	}
	var nx, xx, gt, lt bool
	for _, a := range args[3:] {
		switch {
		case eq(a, "NX"):
			nx = true
		case eq(a, "XX"):
			xx = true
		case eq(a, "GT"):
			gt = true
		case eq(a, "LT"):
			lt = true
		default:
			return errors.New("unsupported option " + string(a))
		}
	}
	if (nx && (xx || gt || lt)) || (gt && lt) {
		return errExpireOptions
	}
	var unit, base int64 = 1, 0
	if eq(args[0], "EXPIRE") || eq(args[0], "EXPIREAT") {
		unit = 1000
	}
	if eq(args[0], "EXPIRE") || eq(args[0], "PEXPIRE") {
		base = s.NowMs
	}
	if v > math.MaxInt64/unit || v < math.MinInt64/unit {
		return errInvalidExpire
	}
	when := v * unit
	if (when > 0 && base > math.MaxInt64-when) || (when < 0 && base < math.MinInt64-when) {
		return errInvalidExpire
	}
	when += base
	o := s.lookup(args[1])
	if o == nil {
		return nil
	}
	cur := o.ExpireAtMs
	switch {
	case nx && o.HasTTL(), xx && !o.HasTTL():
		return nil
	case gt && (!o.HasTTL() || when <= cur):
		return nil
	case lt && o.HasTTL() && when >= cur:
		return nil
	}
	// A negative absolute time is stored as such by Redis; keep it but out
	// of the NoExpire sentinel's way.
	if when < 0 {
		when = 0
	}
	o.ExpireAtMs = when
	return nil
}

func cmdPersist(s *Store, args [][]byte) error {
	if o := s.lookup(args[1]); o != nil {
		o.ExpireAtMs = rdb.NoExpire
	}
	return nil
}

func cmdRename(s *Store, args [][]byte) error {
	d := s.db()
	src, dst := string(args[1]), string(args[2])
	o := d.Keys[src]
	if o == nil {
		return ErrNoSuchKey
	}
	if src == dst {
		return nil
	}
	if eq(args[0], "RENAMENX") && d.Keys[dst] != nil {
		return nil
	}
	delete(d.Keys, src)
	d.Keys[dst] = o
	return nil
}

func cmdMove(s *Store, args [][]byte) error {
	dbi, err := parseDB(args[2])
	if err != nil {
		return err
	}
	if dbi == s.CurDB {
		return errSameObject
	}
	src, dst := s.db(), s.DBs[dbi]
	k := string(args[1])
	o := src.Keys[k]
	if o == nil || dst.Keys[k] != nil {
		return nil
	}
	delete(src.Keys, k)
	dst.Keys[k] = o
	return nil
}

func cmdCopy(s *Store, args [][]byte) error {
	dbi, replace := s.CurDB, false
	for i := 3; i < len(args); i++ {
		switch {
		case eq(args[i], "REPLACE"):
			replace = true
		case eq(args[i], "DB") && i+1 < len(args):
			n, err := parseDB(args[i+1])
			if err != nil {
				return err
			}
			dbi = n
			i++
		default:
			return ErrSyntax
		}
	}
	src, dst := string(args[1]), string(args[2])
	if src == dst && dbi == s.CurDB {
		return errSameObject
	}
	o := s.db().Keys[src]
	if o == nil {
		return nil
	}
	d := s.DBs[dbi]
	if d.Keys[dst] != nil && !replace {
		return nil
	}
	d.Keys[dst] = cloneObject(o)
	return nil
}

// cloneObject deep-copies o, so later commands on the copy leave o alone.
func cloneObject(o *Object) *Object {
	c := *o
	switch o.Kind {
	case rdb.KindString:
		c.Str = clone(o.Str)
	case rdb.KindList:
		c.List = make([][]byte, len(o.List))
		for i, e := range o.List {
			c.List[i] = clone(e)
		}
	case rdb.KindSet:
		c.Set = maps.Clone(o.Set)
	case rdb.KindZSet:
		c.ZSet = maps.Clone(o.ZSet)
	case rdb.KindHash:
		c.Hash = make(map[string]*HashValue, len(o.Hash))
		for f, v := range o.Hash {
			hv := *v
			hv.Value = clone(v.Value)
			c.Hash[f] = &hv
		}
	case rdb.KindStream:
		c.Stream = cloneStream(o.Stream)
	case rdb.KindModule:
		if o.Module != nil {
			m := *o.Module
			m.Raw = clone(o.Module.Raw)
			c.Module = &m
		}
	}
	return &c
}

func cloneStream(st *rdb.Stream) *rdb.Stream {
	if st == nil {
		return nil
	}
	c := *st
	c.Entries = make([]rdb.StreamEntry, len(st.Entries))
	for i, e := range st.Entries {
		c.Entries[i] = rdb.StreamEntry{ID: e.ID, Fields: make([]rdb.StreamField, len(e.Fields))}
		for j, f := range e.Fields {
			c.Entries[i].Fields[j] = rdb.StreamField{Field: clone(f.Field), Value: clone(f.Value)}
		}
	}
	c.Groups = make([]rdb.StreamGroup, len(st.Groups))
	for i, g := range st.Groups {
		cg := g
		cg.Name = clone(g.Name)
		cg.PEL = make([]rdb.StreamPending, len(g.PEL))
		for j, p := range g.PEL {
			p.Consumer = clone(p.Consumer)
			cg.PEL[j] = p
		}
		cg.Consumers = make([]rdb.StreamConsumer, len(g.Consumers))
		for j, cs := range g.Consumers {
			cs.Name = clone(cs.Name)
			cs.PEL = append([]rdb.StreamID(nil), cs.PEL...)
			cg.Consumers[j] = cs
		}
		c.Groups[i] = cg
	}
	c.IDMP = clone(st.IDMP)
	if st.IDMP == nil {
		c.IDMP = nil
	}
	return &c
}
