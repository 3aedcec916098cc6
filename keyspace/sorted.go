package keyspace

import (
	"cmp"
	"slices"
	"strings"

	"github.com/persistkit/persistkit/format/rdb"
)

// KeyObject is a key of a [DB] with its object.
type KeyObject struct {
	Key string
	Obj *Object
}

// SortedEntries returns d's keys with their objects in byte order of the
// keys: one sort and no map lookups, unlike [DB.SortedKeys] followed by
// lookups.
func (d *DB) SortedEntries() []KeyObject {
	es := make([]KeyObject, 0, len(d.Keys))
	for k, o := range d.Keys {
		es = append(es, KeyObject{Key: k, Obj: o})
	}
	slices.SortFunc(es, func(a, b KeyObject) int { return strings.Compare(a.Key, b.Key) })
	return es
}

// EachSorted calls fn like [Store.Each] (every live key, db by db, in key
// order) but reuses memory between calls: key is valid only until fn
// returns.
func (s *Store) EachSorted(fn func(db int, key []byte, o *Object) error) error {
	var key []byte
	for dbi, db := range s.DBs {
		if db == nil || len(db.Keys) == 0 {
			continue
		}
		es := db.SortedEntries()
		for i, e := range es {
			es[i] = KeyObject{} // let the GC have what fn drops
			if s.expired(e.Obj) {
				continue
			}
			key = append(key[:0], e.Key...)
			if err := fn(dbi, key, e.Obj); err != nil {
				return err
			}
		}
	}
	return nil
}

// ValueBuffer builds the [rdb.Value] of objects like [Object.ToValue] (same
// content, same order) while reusing its memory: a value it returns is
// valid only until the next call. The zero value is ready to use.
type ValueBuffer struct {
	str   rdb.String
	list  rdb.List
	set   rdb.Set
	zset  rdb.ZSet
	hash  rdb.Hash
	names []string
	pairs []hashPair
	arena []byte // member and field bytes of the current value
	ends  []int
}

type hashPair struct {
	field string
	v     *HashValue
}

// Value returns o's value in the order of [Object.ToValue]. Byte slices
// alias o or b.
func (b *ValueBuffer) Value(o *Object) rdb.Value {
	switch o.Kind {
	case rdb.KindString:
		b.str.Data = o.Str
		return &b.str
	case rdb.KindList:
		b.list.Elems = o.List
		return &b.list
	case rdb.KindSet:
		b.names = b.names[:0]
		for k := range o.Set {
			b.names = append(b.names, k)
		}
		slices.SortFunc(b.names, cmp.Compare[string])
		b.arena = b.arena[:0]
		for _, k := range b.names {
			b.arena = append(b.arena, k...)
		}
		b.set.Members = b.set.Members[:0]
		at := 0
		for _, k := range b.names {
			b.set.Members = append(b.set.Members, b.arena[at:at+len(k):at+len(k)])
			at += len(k)
		}
		clear(b.names)
		return &b.set
	case rdb.KindZSet:
		// Copy members into the arena first, then slice it: the arena
		// may move while it grows.
		b.arena = b.arena[:0]
		b.zset.Members = b.zset.Members[:0]
		for m, sc := range o.ZSet {
			b.arena = append(b.arena, m...)
			b.zset.Members = append(b.zset.Members, rdb.ZMember{Score: sc})
			b.ends = append(b.ends, len(b.arena))
		}
		at := 0
		for i, end := range b.ends {
			b.zset.Members[i].Member = b.arena[at:end:end]
			at = end
		}
		b.ends = b.ends[:0]
		slices.SortFunc(b.zset.Members, compareZMember)
		return &b.zset
	case rdb.KindHash:
		b.pairs = b.pairs[:0]
		for k, v := range o.Hash {
			b.pairs = append(b.pairs, hashPair{field: k, v: v})
		}
		slices.SortFunc(b.pairs, func(x, y hashPair) int { return strings.Compare(x.field, y.field) })
		b.arena = b.arena[:0]
		for _, p := range b.pairs {
			b.arena = append(b.arena, p.field...)
		}
		b.hash.Fields = b.hash.Fields[:0]
		at := 0
		for _, p := range b.pairs {
			f := b.arena[at : at+len(p.field) : at+len(p.field)]
			at += len(p.field)
			b.hash.Fields = append(b.hash.Fields, rdb.HashField{Field: f, Value: p.v.Value, ExpireAtMs: p.v.ExpireAtMs})
		}
		clear(b.pairs)
		return &b.hash
	}
	return o.ToValue()
}
