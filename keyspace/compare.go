package keyspace

import (
	"bytes"
	"fmt"
	"math"
	"strconv"

	"github.com/persistkit/persistkit/format/rdb"
)

// DiffKind says how two keyspaces differ at one key.
type DiffKind uint8

// Kinds of [Difference].
const (
	DiffMissing   DiffKind = iota // key only in a
	DiffExtra                     // key only in b
	DiffType                      // same key, different types
	DiffValue                     // same type, different content
	DiffTTL                       // same value, different key TTL
	DiffFunctions                 // function libraries differ (DB is -1)
)

func (k DiffKind) String() string {
	switch k {
	case DiffMissing:
		return "missing"
	case DiffExtra:
		return "extra"
	case DiffType:
		return "type"
	case DiffValue:
		return "value"
	case DiffTTL:
		return "ttl"
	case DiffFunctions:
		return "functions"
	}
	return "unknown"
}

// Difference is one difference found by [Diff].
type Difference struct {
	Kind   DiffKind
	DB     int    // -1 for DiffFunctions
	Key    []byte // the key, or the library name for DiffFunctions
	Detail string // human-readable: the first differing element, the two TTLs, ...
}

func (d Difference) String() string {
	if d.Kind == DiffFunctions {
		return fmt.Sprintf("functions: library %q: %s", d.Key, d.Detail)
	}
	s := fmt.Sprintf("db%d %q: %s", d.DB, d.Key, d.Kind)
	if d.Detail != "" {
		s += ": " + d.Detail
	}
	return s
}

// Diff compares a (expected) with b (actual) and returns at most max
// differences (all when max <= 0) in db, key order, functions last. Keys
// expired at each store's own NowMs are ignored, as in [Store.Each].
// Encodings, LRU/LFU and consumer group details are not compared.
func Diff(a, b *Store, max int) []Difference {
	var out []Difference
	full := func() bool { return max > 0 && len(out) >= max }
	add := func(d Difference) { out = append(out, d) }

	for dbi := 0; dbi < NumDBs && !full(); dbi++ {
		ak, bk := liveKeys(a, dbi), liveKeys(b, dbi)
		i, j := 0, 0
		for (i < len(ak) || j < len(bk)) && !full() {
			switch {
			case j >= len(bk) || (i < len(ak) && ak[i] < bk[j]):
				add(Difference{Kind: DiffMissing, DB: dbi, Key: []byte(ak[i])})
				i++
			case i >= len(ak) || bk[j] < ak[i]:
				add(Difference{Kind: DiffExtra, DB: dbi, Key: []byte(bk[j])})
				j++
			default:
				k := ak[i]
				if d, ok := diffObject(a.DBs[dbi].Keys[k], b.DBs[dbi].Keys[k]); ok {
					d.DB, d.Key = dbi, []byte(k)
					add(d)
				}
				i++
				j++
			}
		}
	}

	for _, name := range unionKeys(a.Functions, b.Functions) {
		if full() {
			break
		}
		ac, aok := a.Functions[name]
		bc, bok := b.Functions[name]
		switch {
		case !bok:
			add(Difference{Kind: DiffFunctions, DB: -1, Key: []byte(name), Detail: "missing"})
		case !aok:
			add(Difference{Kind: DiffFunctions, DB: -1, Key: []byte(name), Detail: "extra"})
		case !bytes.Equal(ac, bc):
			add(Difference{Kind: DiffFunctions, DB: -1, Key: []byte(name), Detail: "code differs"})
		}
	}
	return out
}

func liveKeys(s *Store, dbi int) []string {
	db := s.DBs[dbi]
	if db == nil {
		return nil
	}
	keys := db.SortedKeys()
	live := keys[:0]
	for _, k := range keys {
		if !s.expired(db.Keys[k]) {
			live = append(live, k)
		}
	}
	return live
}

func unionKeys(a, b map[string][]byte) []string {
	m := make(map[string][]byte, len(a)+len(b))
	for k := range a {
		m[k] = nil
	}
	for k := range b {
		m[k] = nil
	}
	return sortedKeys(m)
}

// diffObject returns the first difference between two values of one key.
func diffObject(a, b *Object) (Difference, bool) {
	if a.Kind != b.Kind {
		return Difference{Kind: DiffType, Detail: a.Kind.String() + " != " + b.Kind.String()}, true
	}
	if detail := diffValue(a, b); detail != "" {
		return Difference{Kind: DiffValue, Detail: detail}, true
	}
	if a.HasTTL() != b.HasTTL() || (a.HasTTL() && a.ExpireAtMs != b.ExpireAtMs) {
		return Difference{Kind: DiffTTL, Detail: ttlText(a) + " != " + ttlText(b)}, true
	}
	return Difference{}, false
}

func ttlText(o *Object) string {
	if !o.HasTTL() {
		return "no ttl"
	}
	return "expire at " + strconv.FormatInt(o.ExpireAtMs, 10) + " ms"
}

// quote shows a byte string briefly and safely.
func quote(b []byte) string {
	const limit = 64
	if len(b) > limit {
		return strconv.Quote(string(b[:limit])) + "..."
	}
	return strconv.Quote(string(b))
}

func diffValue(a, b *Object) string {
	switch a.Kind {
	case rdb.KindString:
		if !bytes.Equal(a.Str, b.Str) {
			return quote(a.Str) + " != " + quote(b.Str)
		}
	case rdb.KindList:
		for i := 0; i < min(len(a.List), len(b.List)); i++ {
			if !bytes.Equal(a.List[i], b.List[i]) {
				return fmt.Sprintf("element %d: %s != %s", i, quote(a.List[i]), quote(b.List[i]))
			}
		}
		if len(a.List) != len(b.List) {
			return fmt.Sprintf("length %d != %d", len(a.List), len(b.List))
		}
	case rdb.KindSet:
		for _, m := range sortedKeys(a.Set) {
			if _, ok := b.Set[m]; !ok {
				return "member " + quote([]byte(m)) + " missing"
			}
		}
		for _, m := range sortedKeys(b.Set) {
			if _, ok := a.Set[m]; !ok {
				return "member " + quote([]byte(m)) + " extra"
			}
		}
	case rdb.KindZSet:
		for _, m := range sortedKeys(a.ZSet) {
			bs, ok := b.ZSet[m]
			as := a.ZSet[m]
			if !ok {
				return "member " + quote([]byte(m)) + " missing"
			}
			if as != bs && !(math.IsNaN(as) && math.IsNaN(bs)) || math.Signbit(as) != math.Signbit(bs) {
				return fmt.Sprintf("member %s: score %s != %s", quote([]byte(m)),
					rdb.AppendFpconv(nil, as), rdb.AppendFpconv(nil, bs))
			}
		}
		for _, m := range sortedKeys(b.ZSet) {
			if _, ok := a.ZSet[m]; !ok {
				return "member " + quote([]byte(m)) + " extra"
			}
		}
	case rdb.KindHash:
		for _, f := range sortedKeys(a.Hash) {
			av, bv := a.Hash[f], b.Hash[f]
			switch {
			case bv == nil:
				return "field " + quote([]byte(f)) + " missing"
			case !bytes.Equal(av.Value, bv.Value):
				return fmt.Sprintf("field %s: %s != %s", quote([]byte(f)), quote(av.Value), quote(bv.Value))
			case av.ExpireAtMs != bv.ExpireAtMs:
				return fmt.Sprintf("field %s: ttl %d != %d", quote([]byte(f)), av.ExpireAtMs, bv.ExpireAtMs)
			}
		}
		for _, f := range sortedKeys(b.Hash) {
			if a.Hash[f] == nil {
				return "field " + quote([]byte(f)) + " extra"
			}
		}
	case rdb.KindStream:
		return diffStream(a.Stream, b.Stream)
	case rdb.KindModule:
		am, bm := a.Module, b.Module
		if am == nil || bm == nil {
			if am != bm {
				return "module value missing"
			}
			return ""
		}
		if am.ModuleID != bm.ModuleID || am.EncVer != bm.EncVer || !bytes.Equal(am.Raw, bm.Raw) {
			return "module " + am.Name + " data differs"
		}
	}
	return ""
}

func diffStream(a, b *rdb.Stream) string {
	if a == nil {
		a = &rdb.Stream{}
	}
	if b == nil {
		b = &rdb.Stream{}
	}
	for i := 0; i < min(len(a.Entries), len(b.Entries)); i++ {
		ea, eb := a.Entries[i], b.Entries[i]
		if ea.ID != eb.ID {
			return fmt.Sprintf("entry %d: id %d-%d != %d-%d", i, ea.ID.Ms, ea.ID.Seq, eb.ID.Ms, eb.ID.Seq)
		}
		if len(ea.Fields) != len(eb.Fields) {
			return fmt.Sprintf("entry %d-%d: %d fields != %d", ea.ID.Ms, ea.ID.Seq, len(ea.Fields), len(eb.Fields))
		}
		for j := range ea.Fields {
			fa, fb := ea.Fields[j], eb.Fields[j]
			if !bytes.Equal(fa.Field, fb.Field) || !bytes.Equal(fa.Value, fb.Value) {
				return fmt.Sprintf("entry %d-%d: field %d: %s=%s != %s=%s", ea.ID.Ms, ea.ID.Seq, j,
					quote(fa.Field), quote(fa.Value), quote(fb.Field), quote(fb.Value))
			}
		}
	}
	if len(a.Entries) != len(b.Entries) {
		return fmt.Sprintf("length %d != %d", len(a.Entries), len(b.Entries))
	}
	if a.LastID != b.LastID {
		return fmt.Sprintf("last id %d-%d != %d-%d", a.LastID.Ms, a.LastID.Seq, b.LastID.Ms, b.LastID.Seq)
	}
	if len(a.Groups) != len(b.Groups) {
		return fmt.Sprintf("%d consumer groups != %d", len(a.Groups), len(b.Groups))
	}
	return ""
}
