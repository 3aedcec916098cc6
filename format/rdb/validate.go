package rdb

import (
	"bytes"
	"math"
	"strconv"
)

// Deep validation (DecodeOptions.Deep), after Redis' sanitize-dump-payload
// (rdb.md §12) plus checks Redis leaves out: listpack/ziplist zsets must be
// sorted by (score, member) as Redis keeps them in memory.

// validator checks the elements of one collection as they are decoded.
type validator struct {
	kind    Kind
	ordered bool // listpack/ziplist zset: (score, member) ascending
	ttlRule bool // listpack-ex hash: non-zero TTLs ascending, then zeros
	n       int
	seen    map[string]struct{}

	prevScore  float64
	prevMember []byte
	sawNoTTL   bool
	prevTTL    int64
}

func newValidator(e *Entry) *validator {
	v := &validator{kind: e.Kind}
	switch e.Kind {
	case KindSet, KindZSet, KindHash:
		v.seen = make(map[string]struct{})
	}
	v.ordered = e.Kind == KindZSet && (e.Encoding == EncListpack || e.Encoding == EncZiplist)
	v.ttlRule = e.Encoding == EncListpackEx
	return v
}

func (v *validator) check(el *Element) error {
	v.n++
	if v.seen != nil {
		if _, dup := v.seen[string(el.Member)]; dup {
			what := "member"
			if v.kind == KindHash {
				what = "field"
			}
			return errCorrupt("duplicate " + what + " " + strconv.Quote(string(el.Member)))
		}
		v.seen[string(el.Member)] = struct{}{}
	}
	switch v.kind {
	case KindZSet:
		if math.IsNaN(el.Score) {
			return errCorrupt("NaN score")
		}
		if v.ordered {
			if v.n > 1 && (el.Score < v.prevScore || el.Score == v.prevScore && bytes.Compare(el.Member, v.prevMember) < 0) {
				return errCorrupt("zset entries out of order")
			}
			v.prevScore = el.Score
			v.prevMember = append(v.prevMember[:0], el.Member...)
		}
	case KindHash:
		if v.ttlRule {
			t := el.ExpireAtMs
			switch {
			case t == 0:
				v.sawNoTTL = true
			case v.sawNoTTL:
				return errCorrupt("field with TTL after a field without")
			case t < v.prevTTL:
				return errCorrupt("field TTLs out of order")
			default:
				v.prevTTL = t
			}
		}
	}
	return nil
}

// IsEmpty reports whether v is a collection with no elements. Redis skips
// such keys when loading ("empty keys skipped") and redis-check-rdb flags
// them; the decoder returns them so the caller can decide.
func IsEmpty(v Value) bool {
	switch v := v.(type) {
	case *List:
		return len(v.Elems) == 0
	case *Set:
		return len(v.Members) == 0
	case *ZSet:
		return len(v.Members) == 0
	case *Hash:
		return len(v.Fields) == 0
	}
	return false
}
