package rdb

import (
	"bytes"
	"hash/maphash"
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
	seen    *memberSet // nil when members may repeat (lists)

	prevScore  float64
	prevMember []byte
	sawNoTTL   bool
	prevTTL    int64
}

// newValidator starts checking e's elements; ms (reset here) remembers the
// members for the duplicate test and is reused from value to value.
func newValidator(e *Entry, ms *memberSet) *validator {
	v := &validator{kind: e.Kind}
	switch e.Kind {
	case KindSet, KindZSet, KindHash:
		ms.reset()
		v.seen = ms
	}
	v.ordered = e.Kind == KindZSet && (e.Encoding == EncListpack || e.Encoding == EncZiplist)
	v.ttlRule = e.Encoding == EncListpackEx
	return v
}

func (v *validator) check(el *Element) error {
	v.n++
	if v.seen != nil {
		if v.seen.add(el.Member) {
			what := "member"
			if v.kind == KindHash {
				what = "field"
			}
			return errCorrupt("duplicate " + what + " " + strconv.Quote(string(el.Member)))
		}
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

// memberSet is an exact set of byte strings for the duplicate-member test:
// members are copied into one arena and indexed by an open-addressing table
// of (hash, index) pairs. Unlike a map[string]struct{} it allocates nothing
// per member and is reused across values, which made the duplicate test
// the top cost of deep-checking files of small collections.
type memberSet struct {
	seed  maphash.Seed
	arena []byte
	ends  []int // member i is arena[ends[i-1]:ends[i]]
	table []msSlot
}

type msSlot struct {
	hash uint64
	idx  uint32 // member index + 1; 0 marks a free slot
}

// msKeep bounds what reset keeps: one huge collection must not make every
// later small one clear a huge table.
const msKeep = 1 << 12

func (s *memberSet) reset() {
	if s.table == nil {
		s.seed = maphash.MakeSeed()
	}
	if len(s.table) > msKeep {
		s.table = nil
	} else {
		clear(s.table)
	}
	if cap(s.arena) > 64*msKeep {
		s.arena = nil
	}
	if cap(s.ends) > msKeep {
		s.ends = nil
	}
	s.arena, s.ends = s.arena[:0], s.ends[:0]
}

func (s *memberSet) member(i uint32) []byte {
	start := 0
	if i > 0 {
		start = s.ends[i-1]
	}
	return s.arena[start:s.ends[i]]
}

// add inserts m and reports whether it was already there.
func (s *memberSet) add(m []byte) bool {
	if 2*(len(s.ends)+1) > len(s.table) {
		s.grow()
	}
	h := maphash.Bytes(s.seed, m)
	mask := uint64(len(s.table) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		sl := &s.table[i]
		if sl.idx == 0 {
			s.arena = append(s.arena, m...)
			s.ends = append(s.ends, len(s.arena))
			*sl = msSlot{hash: h, idx: uint32(len(s.ends))}
			return false
		}
		if sl.hash == h && bytes.Equal(s.member(sl.idx-1), m) {
			return true
		}
	}
}

func (s *memberSet) grow() {
	old := s.table
	s.table = make([]msSlot, max(16, 2*len(old)))
	mask := uint64(len(s.table) - 1)
	for _, sl := range old {
		if sl.idx == 0 {
			continue
		}
		i := sl.hash & mask
		for s.table[i].idx != 0 {
			i = (i + 1) & mask
		}
		s.table[i] = sl
	}
}
