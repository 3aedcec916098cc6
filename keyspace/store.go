// Package keyspace is the in-process replay engine: it rebuilds a Redis
// keyspace from RDB records or AOF commands, computes Redis' DEBUG DIGEST and
// compares keyspaces. It never prints; not safe for concurrent use.
package keyspace

import (
	"math"
	"sort"

	"github.com/persistkit/persistkit/format/rdb"
)

// NumDBs is Redis' default "databases" setting.
const NumDBs = 16

// Object is a value in the store together with its key-level metadata.
// Exactly one of the value fields is used, as Kind says. Collections use
// mutable forms suited to applying commands; export sorts them. The
// metadata is narrow so that an Object fits a 112-byte size class: the
// store holds one per key.
type Object struct {
	Kind rdb.Kind
	// Encoding is the on-disk encoding this value was read with, if it came
	// from an RDB; informational only.
	Encoding   rdb.Encoding
	LFUFreq    int16 // 0..255, -1 when unknown
	LRUIdleSec int32 // -1 when unknown; saturates at math.MaxInt32
	ExpireAtMs int64 // rdb.NoExpire when the key has no TTL

	Str    []byte
	List   [][]byte
	Set    map[string]struct{}
	ZSet   map[string]float64
	Hash   map[string]*HashValue
	Stream *rdb.Stream
	Module *rdb.Module
}

// setLRULFU records an idle time and LFU counter as read from an RDB or a
// RESTORE; negative values mean unknown. Redis' LRU clock has 24 bits of
// seconds, so saturating at math.MaxInt32 loses nothing Redis keeps.
func (o *Object) setLRULFU(idleSec int64, freq int) {
	o.LRUIdleSec = int32(min(idleSec, math.MaxInt32))
	if idleSec < 0 {
		o.LRUIdleSec = -1
	}
	o.LFUFreq = -1
	if freq >= 0 {
		o.LFUFreq = int16(min(freq, 255))
	}
}

// HashValue is a hash field's value and TTL (0 = none).
type HashValue struct {
	Value      []byte
	ExpireAtMs int64
}

// DB is one database.
type DB struct {
	Keys map[string]*Object
}

// Store is a whole keyspace.
type Store struct {
	DBs [NumDBs]*DB
	// Functions maps library name to its full source code.
	Functions map[string][]byte
	// ModuleAux holds module aux records passed through raw.
	ModuleAux []*rdb.ModuleAux
	// Aux holds the AUX fields of the last RDB loaded, in file order.
	Aux []*rdb.Aux
	// NowMs is the reference time that decides what counts as expired;
	// 0 means nothing is ever expired.
	NowMs int64
	// CurDB is the database selected for Apply.
	CurDB int

	// tx queues the commands of an open MULTI block (see apply.go).
	tx *txQueue
	// scripts is the Lua state and script cache of EVAL/EVALSHA, created
	// on first use (see cmd_script.go).
	scripts *scriptEngine
}

// New returns an empty store with the given reference time.
func New(nowMs int64) *Store {
	s := &Store{Functions: map[string][]byte{}, NowMs: nowMs}
	for i := range s.DBs {
		s.DBs[i] = &DB{Keys: map[string]*Object{}}
	}
	return s
}

// SortedKeys returns the keys of db in byte order.
func (d *DB) SortedKeys() []string {
	keys := make([]string, 0, len(d.Keys))
	for k := range d.Keys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Len is the number of keys in all databases.
func (s *Store) Len() int {
	n := 0
	for _, d := range s.DBs {
		n += len(d.Keys)
	}
	return n
}

// NewObject returns an empty object of the given kind without TTL or
// LRU/LFU information; collections are allocated empty.
func NewObject(kind rdb.Kind) *Object {
	o := &Object{Kind: kind, ExpireAtMs: rdb.NoExpire, LRUIdleSec: -1, LFUFreq: -1}
	switch kind {
	case rdb.KindSet:
		o.Set = map[string]struct{}{}
	case rdb.KindZSet:
		o.ZSet = map[string]float64{}
	case rdb.KindHash:
		o.Hash = map[string]*HashValue{}
	case rdb.KindStream:
		o.Stream = &rdb.Stream{}
	}
	return o
}

// HasTTL says whether the key has an expire time. Negative values
// (rdb.NoExpire) mean no TTL.
func (o *Object) HasTTL() bool { return o.ExpireAtMs >= 0 }

// Len is the number of elements of a collection (1 for strings and
// modules, live entries for streams).
func (o *Object) Len() int {
	switch o.Kind {
	case rdb.KindList:
		return len(o.List)
	case rdb.KindSet:
		return len(o.Set)
	case rdb.KindZSet:
		return len(o.ZSet)
	case rdb.KindHash:
		return len(o.Hash)
	case rdb.KindStream:
		if o.Stream == nil {
			return 0
		}
		return len(o.Stream.Entries)
	}
	return 1
}
