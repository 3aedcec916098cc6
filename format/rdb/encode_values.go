package rdb

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// appendValue appends the payload of v for type t (rdb.md §5), the part
// after the key.
func (e *Encoder) appendValue(b []byte, v Value, t Type) ([]byte, error) {
	o := &e.opt
	switch x := v.(type) {
	case *String:
		return e.appendString(b, x.Data), nil
	case *List:
		return e.appendList(b, x, t), nil
	case *Set:
		return e.appendSet(b, x, t), nil
	case *ZSet:
		return e.appendZSet(b, x, t), nil
	case *Hash:
		return e.appendHash(b, x, t)
	case *Stream:
		return e.appendStream(b, x, t)
	case *Module:
		b = appendLen(b, x.ModuleID)
		return append(b, x.Raw...), nil
	}
	return b, &FormatError{Context: fmt.Sprintf("value %T for RDB %d", v, o.Version), Err: ErrUnsupported}
}

// ---- lists ----

func (e *Encoder) appendList(b []byte, l *List, t Type) []byte {
	switch t {
	case TypeList:
		b = appendLen(b, uint64(len(l.Elems)))
		for _, s := range l.Elems {
			b = e.appendString(b, s)
		}
		return b
	case TypeListZiplist:
		return e.appendZL(b, e.strEntries(l.Elems))
	case TypeListQuicklist:
		nodes := quicklistZiplistNodes(l.Elems, e.opt.Thresholds.ListMaxListpackSize)
		b = appendLen(b, uint64(len(nodes)))
		for _, n := range nodes {
			b = e.appendZL(b, e.strEntries(n))
		}
		return b
	}
	// TypeListQuicklist2
	nodes := e.quicklist2Nodes(l.Elems)
	b = appendLen(b, uint64(len(nodes)))
	for _, n := range nodes {
		if n.plain {
			b = appendLen(b, qlPlain)
			b = e.appendString(b, n.elems[0])
			continue
		}
		b = appendLen(b, qlPacked)
		b = e.appendLP(b, e.strEntries(n.elems))
	}
	return b
}

const (
	qlPlain  = 1 // QUICKLIST_NODE_CONTAINER_PLAIN
	qlPacked = 2 // QUICKLIST_NODE_CONTAINER_PACKED
)

// optimizationLevel is quicklist.c's byte limit per negative fill.
var optimizationLevel = [...]int{4096, 8192, 16384, 32768, 65536}

const qlSafetyLimit = 8192 // SIZE_SAFETY_LIMIT

// qlLimits is quicklistNodeLimit: a byte limit for negative fills, else a
// count limit (bytes then capped by the safety limit).
func qlLimits(fill int) (bytes, count int) {
	if fill >= 0 {
		return math.MaxInt, max(fill, 1)
	}
	off := min(-fill-1, len(optimizationLevel)-1)
	return optimizationLevel[off], math.MaxInt
}

func qlExceeds(fill, newSz, newCount int) bool {
	lb, lc := qlLimits(fill)
	if lb != math.MaxInt {
		return newSz > lb
	}
	return newSz > qlSafetyLimit || newCount > lc
}

type qlNode struct {
	plain bool
	elems [][]byte
}

// quicklist2Nodes splits a list into nodes the way RPUSH fills a Redis 7
// quicklist (_quicklistNodeAllowInsert): an element joins the tail node
// while node bytes + element + 8 stay within the fill limit; elements
// larger than the limit (7.2+, RDB 11) or 1 GiB (7.0) get PLAIN nodes.
func (e *Encoder) quicklist2Nodes(elems [][]byte) []qlNode {
	fill := e.opt.Thresholds.ListMaxListpackSize
	var nodes []qlNode
	cur := -1
	curBytes := 0
	var one []byte
	for _, s := range elems {
		sz := len(s)
		large := sz >= 1<<30
		if e.opt.Version >= 11 {
			if fill >= 0 {
				large = sz > qlSafetyLimit
			} else {
				lb, _ := qlLimits(fill)
				large = sz > lb
			}
		}
		if large {
			nodes = append(nodes, qlNode{plain: true, elems: [][]byte{s}})
			cur = -1
			continue
		}
		if cur < 0 || qlExceeds(fill, curBytes+sz+8, len(nodes[cur].elems)+1) {
			nodes = append(nodes, qlNode{})
			cur = len(nodes) - 1
			curBytes = 7 // empty listpack
		}
		nodes[cur].elems = append(nodes[cur].elems, s)
		one = lpAppendEntry(one[:0], s)
		curBytes += len(one)
	}
	return nodes
}

// quicklistZiplistNodes splits like Redis 3.2-6.2 (ziplist nodes, type 14).
func quicklistZiplistNodes(elems [][]byte, fill int) [][][]byte {
	var nodes [][][]byte
	cur := -1
	curBytes, prev := 0, 0
	var one []byte
	for _, s := range elems {
		sz := len(s)
		over := 1
		if sz >= 254 {
			over = 5
		}
		switch {
		case sz < 64:
			over++
		case sz < 16384:
			over += 2
		default:
			over += 5
		}
		ok := false
		if cur >= 0 {
			newSz := curBytes + sz + over
			lb, lc := qlLimits(fill)
			switch {
			case fill < 0 && -fill-1 < len(optimizationLevel) && newSz <= lb:
				ok = true
			case newSz > qlSafetyLimit:
			case len(nodes[cur]) < lc && fill >= 0:
				ok = true
			}
		}
		if !ok {
			nodes = append(nodes, nil)
			cur = len(nodes) - 1
			curBytes, prev = 11, 0 // empty ziplist
		}
		nodes[cur] = append(nodes[cur], s)
		one = zlAppendPrevlen(one[:0], prev)
		if v, isInt := parseCanonicalInt(s); isInt {
			one = zlAppendInt(one, v)
		} else {
			one = zlAppendString(one, s)
		}
		prev = len(one)
		curBytes += len(one)
	}
	return nodes
}

// lpAppendEntry appends one listpack element as lpAppend stores s.
func lpAppendEntry(dst, s []byte) []byte {
	if v, ok := parseCanonicalInt(s); ok {
		return lpAppendInt(dst, v)
	}
	return lpAppendString(dst, s)
}

func strEntries(ss [][]byte) []blobEntry {
	es := make([]blobEntry, len(ss))
	for i, s := range ss {
		es[i] = blobEntry{Str: s}
	}
	return es
}

// strEntries is strEntries on the encoder's reused slice.
func (e *Encoder) strEntries(ss [][]byte) []blobEntry {
	es := e.ents[:0]
	for _, s := range ss {
		es = append(es, blobEntry{Str: s})
	}
	e.ents = es[:0]
	return es
}

// appendLP appends es as a listpack blob string, building it in a reused
// buffer.
func (e *Encoder) appendLP(b []byte, es []blobEntry) []byte {
	e.blob = appendListpack(e.blob[:0], es)
	return e.appendString(b, e.blob)
}

// appendZL is appendLP for ziplists.
func (e *Encoder) appendZL(b []byte, es []blobEntry) []byte {
	e.blob = appendZiplist(e.blob[:0], es)
	return e.appendString(b, e.blob)
}

// ---- sets ----

func (e *Encoder) appendSet(b []byte, s *Set, t Type) []byte {
	switch t {
	case TypeSetIntset:
		vals := make([]int64, 0, len(s.Members))
		for _, m := range s.Members {
			v, _ := parseCanonicalInt(m)
			vals = append(vals, v)
		}
		slices.Sort(vals)
		vals = slices.Compact(vals)
		e.blob = appendIntset(e.blob[:0], vals)
		return e.appendString(b, e.blob)
	case TypeSetListpack:
		return e.appendLP(b, e.strEntries(s.Members))
	}
	b = appendLen(b, uint64(len(s.Members)))
	for _, m := range s.Members {
		b = e.appendString(b, m)
	}
	return b
}

// ---- sorted sets ----

func (e *Encoder) appendZSet(b []byte, z *ZSet, t Type) []byte {
	ms := slices.Clone(z.Members)
	switch t {
	case TypeZSetListpack, TypeZSetZiplist:
		// Compact zsets must be sorted by (score, member): Redis relies on it.
		slices.SortStableFunc(ms, zcmp)
		es := e.ents[:0]
		for _, m := range ms {
			es = append(es, blobEntry{Str: m.Member}, e.scoreEntry(m.Score))
		}
		e.ents = es[:0]
		if t == TypeZSetZiplist {
			return e.appendZL(b, es)
		}
		return e.appendLP(b, es)
	}
	// Skiplist zsets are saved from the tail: highest score first.
	slices.SortStableFunc(ms, func(a, b ZMember) int { return zcmp(b, a) })
	b = appendLen(b, uint64(len(ms)))
	for _, m := range ms {
		b = e.appendString(b, m.Member)
		if t == TypeZSet2 {
			b = appendBinaryDouble(b, m.Score)
		} else {
			b = appendStringDouble(b, m.Score)
		}
	}
	return b
}

func zcmp(a, b ZMember) int {
	if c := cmp.Compare(a.Score, b.Score); c != 0 {
		return c
	}
	return bytes.Compare(a.Member, b.Member)
}

// scoreEntry is the listpack/ziplist element zzlInsertAt stores for f.
func (e *Encoder) scoreEntry(f float64) blobEntry {
	if e.opt.Version >= 10 {
		// double2ll: integral values within +-2^62 are integer entries.
		if f >= -(1<<62) && f <= 1<<62 && f == math.Trunc(f) {
			return blobEntry{Int: int64(f), IsInt: true}
		}
	}
	return blobEntry{Str: d2string(nil, f, e.opt.Version)}
}

// d2string is Redis' d2string for RDB version v's server.
func d2string(b []byte, f float64, v int) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "nan"...)
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	case f == 0:
		if math.Signbit(f) {
			return append(b, "-0"...)
		}
		return append(b, '0')
	}
	if v < 10 {
		if f > -(1<<52-1) && f < 1<<52 && f == math.Trunc(f) {
			return strconv.AppendInt(b, int64(f), 10)
		}
		return appendG17(b, f)
	}
	if f >= -(1<<62) && f <= 1<<62 && f == math.Trunc(f) {
		return strconv.AppendInt(b, int64(f), 10)
	}
	if v == 10 {
		return appendG17(b, f)
	}
	return AppendFpconv(b, f)
}

// ---- hashes ----

func (e *Encoder) appendHash(b []byte, h *Hash, t Type) ([]byte, error) {
	o := &e.opt
	if o.valkey80() && t == TypeValkeyHash2 {
		b = appendLen(b, uint64(len(h.Fields)))
		for _, f := range h.Fields {
			b = e.appendString(b, f.Field)
			b = e.appendString(b, f.Value)
			ttl := int64(-1)
			if f.ExpireAtMs != 0 {
				ttl = f.ExpireAtMs
			}
			b = appendMs(b, ttl)
		}
		return b, nil
	}
	switch t {
	case TypeHash:
		b = appendLen(b, uint64(len(h.Fields)))
		for _, f := range h.Fields {
			b = e.appendString(b, f.Field)
			b = e.appendString(b, f.Value)
		}
		return b, nil
	case TypeHashListpack, TypeHashZiplist:
		es := e.ents[:0]
		for _, f := range h.Fields {
			es = append(es, blobEntry{Str: f.Field}, blobEntry{Str: f.Value})
		}
		e.ents = es[:0]
		if t == TypeHashZiplist {
			return e.appendZL(b, es), nil
		}
		return e.appendLP(b, es), nil
	}
	minExp := int64(0)
	for _, f := range h.Fields {
		if f.ExpireAtMs < 0 || f.ExpireAtMs > hfeMaxMs {
			return b, &FormatError{Context: "hash field " + strconv.Quote(string(f.Field)), Err: fmt.Errorf("%w: field TTL %d out of range", ErrUnsupported, f.ExpireAtMs)}
		}
		if f.ExpireAtMs != 0 && (minExp == 0 || f.ExpireAtMs < minExp) {
			minExp = f.ExpireAtMs
		}
	}
	if t == TypeHashListpackEx {
		// Triples ordered by TTL, fields without TTL last (rdb.md §8).
		fs := slices.Clone(h.Fields)
		slices.SortStableFunc(fs, func(a, b HashField) int {
			return cmp.Compare(uint64(a.ExpireAtMs-1), uint64(b.ExpireAtMs-1)) // 0 wraps to the end
		})
		es := e.ents[:0]
		for _, f := range fs {
			es = append(es, blobEntry{Str: f.Field}, blobEntry{Str: f.Value}, blobEntry{Int: f.ExpireAtMs, IsInt: true})
		}
		e.ents = es[:0]
		b = appendMs(b, minExp)
		return e.appendLP(b, es), nil
	}
	// TypeHashMetadata: relative TTLs against the minimum.
	b = appendMs(b, minExp)
	b = appendLen(b, uint64(len(h.Fields)))
	for _, f := range h.Fields {
		var rel uint64
		if f.ExpireAtMs != 0 {
			rel = uint64(f.ExpireAtMs-minExp) + 1
		}
		b = appendLen(b, rel)
		b = e.appendString(b, f.Field)
		b = e.appendString(b, f.Value)
	}
	return b, nil
}

// hfeMaxMs is the largest field TTL Redis accepts (EB_EXPIRE_TIME_MAX).
const hfeMaxMs = 1<<48 - 1
