package keyspace

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/persistkit/persistkit/format/rdb"
)

// ErrValue reports a value that cannot become an [Object].
var ErrValue = errors.New("keyspace: invalid value")

// ObjectFromValue turns a decoded value into a mutable [Object] without TTL.
// Byte slices are shared with v, not copied. Duplicate set members, zset
// members or hash fields (only possible in corrupt data) keep the last one.
func ObjectFromValue(v rdb.Value) (*Object, error) {
	switch v := v.(type) {
	case *rdb.String:
		o := NewObject(rdb.KindString)
		o.Str = v.Data
		return o, nil
	case *rdb.List:
		o := NewObject(rdb.KindList)
		o.List = v.Elems
		return o, nil
	case *rdb.Set:
		o := NewObject(rdb.KindSet)
		o.Set = make(map[string]struct{}, len(v.Members))
		for _, m := range v.Members {
			o.Set[string(m)] = struct{}{}
		}
		return o, nil
	case *rdb.ZSet:
		o := NewObject(rdb.KindZSet)
		o.ZSet = make(map[string]float64, len(v.Members))
		for _, m := range v.Members {
			o.ZSet[string(m.Member)] = m.Score
		}
		return o, nil
	case *rdb.Hash:
		o := NewObject(rdb.KindHash)
		o.Hash = make(map[string]*HashValue, len(v.Fields))
		for _, f := range v.Fields {
			o.Hash[string(f.Field)] = &HashValue{Value: f.Value, ExpireAtMs: f.ExpireAtMs}
		}
		return o, nil
	case *rdb.Stream:
		if v == nil {
			break
		}
		o := NewObject(rdb.KindStream)
		o.Stream = v
		return o, nil
	case *rdb.Module:
		if v == nil {
			break
		}
		o := NewObject(rdb.KindModule)
		o.Module = v
		return o, nil
	}
	return nil, fmt.Errorf("%w: %T", ErrValue, v)
}

// ToValue returns o's value in a deterministic order: set members and hash
// fields sorted by bytes, zset members by (score, member), lists in order;
// streams and modules as stored. Byte slices alias o.
func (o *Object) ToValue() rdb.Value {
	switch o.Kind {
	case rdb.KindString:
		return &rdb.String{Data: o.Str}
	case rdb.KindList:
		return &rdb.List{Elems: o.List}
	case rdb.KindSet:
		keys := sortedKeys(o.Set)
		v := &rdb.Set{Members: make([][]byte, len(keys))}
		for i, k := range keys {
			v.Members[i] = []byte(k)
		}
		return v
	case rdb.KindZSet:
		v := &rdb.ZSet{Members: make([]rdb.ZMember, 0, len(o.ZSet))}
		for m, s := range o.ZSet {
			v.Members = append(v.Members, rdb.ZMember{Member: []byte(m), Score: s})
		}
		slices.SortFunc(v.Members, compareZMember)
		return v
	case rdb.KindHash:
		keys := sortedKeys(o.Hash)
		v := &rdb.Hash{Fields: make([]rdb.HashField, len(keys))}
		for i, k := range keys {
			hv := o.Hash[k]
			v.Fields[i] = rdb.HashField{Field: []byte(k), Value: hv.Value, ExpireAtMs: hv.ExpireAtMs}
		}
		return v
	case rdb.KindStream:
		if o.Stream == nil {
			return &rdb.Stream{}
		}
		return o.Stream
	case rdb.KindModule:
		if o.Module == nil {
			return &rdb.Module{}
		}
		return o.Module
	}
	return nil
}

// compareZMember orders like ZRANGE: by score, then member bytes. -0 and 0
// compare equal as in Redis.
func compareZMember(a, b rdb.ZMember) int {
	if a.Score < b.Score {
		return -1
	}
	if a.Score > b.Score {
		return 1
	}
	return bytes.Compare(a.Member, b.Member)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmp.Compare[string])
	return keys
}
