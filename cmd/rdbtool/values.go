package main

import (
	"github.com/persistkit/persistkit/format/rdb"
)

// valueSize is the logical payload of a value in bytes: the sum of its
// byte strings, 8 per score, 16 per stream ID. It ignores encoding
// overhead, so it compares across RDB versions.
func valueSize(v rdb.Value) int64 {
	var n int64
	switch v := v.(type) {
	case *rdb.String:
		n = int64(len(v.Data))
	case *rdb.List:
		for _, e := range v.Elems {
			n += int64(len(e))
		}
	case *rdb.Set:
		for _, e := range v.Members {
			n += int64(len(e))
		}
	case *rdb.ZSet:
		for _, m := range v.Members {
			n += int64(len(m.Member)) + 8
		}
	case *rdb.Hash:
		for _, f := range v.Fields {
			n += int64(len(f.Field) + len(f.Value))
		}
	case *rdb.Stream:
		for _, e := range v.Entries {
			n += 16
			for _, f := range e.Fields {
				n += int64(len(f.Field) + len(f.Value))
			}
		}
	case *rdb.Module:
		n = int64(len(v.Raw))
	}
	return n
}

// valueLen is the element count: 1 for strings and modules, live entries
// for streams.
func valueLen(v rdb.Value) int64 {
	switch v := v.(type) {
	case *rdb.List:
		return int64(len(v.Elems))
	case *rdb.Set:
		return int64(len(v.Members))
	case *rdb.ZSet:
		return int64(len(v.Members))
	case *rdb.Hash:
		return int64(len(v.Fields))
	case *rdb.Stream:
		return int64(len(v.Entries))
	}
	return 1
}

// parseKind maps a TYPE name to a Kind.
func parseKind(s string) (rdb.Kind, bool) {
	for k := rdb.KindString; k <= rdb.KindStream; k++ {
		if k.String() == s {
			return k, true
		}
	}
	return 0, false
}
