package rdb

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"math"
	"math/bits"
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

// reset starts checking e's elements; ms (reset here) remembers the
// members for the duplicate test and is reused from value to value, as is
// v itself (one per Decoder: no allocation per value).
func (v *validator) reset(e *Entry, ms *memberSet) {
	*v = validator{kind: e.Kind, prevMember: v.prevMember[:0]}
	switch e.Kind {
	case KindSet, KindZSet, KindHash:
		// An intset is strictly increasing (walkIntset checks it), so
		// its members cannot repeat.
		if e.Encoding != EncIntset {
			ms.reset()
			v.seen = ms
		}
	}
	v.ordered = e.Kind == KindZSet && (e.Encoding == EncListpack || e.Encoding == EncZiplist)
	v.ttlRule = e.Encoding == EncListpackEx
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
//
// Tables are kept from value to value, so a file of large collections does
// not allocate (and page-fault) a growing table for each one; a value
// clears only the slots it uses, so the prefix a small collection uses
// stays cache-friendly after a big one. Slots are 8 bytes (the hash's low
// 32 bits and the member's index): with 16-byte slots (a 64-bit hash and a
// generation stamp, which spared the clearing) the table's cache misses
// were a fifth of checking a file of large sets and hashes.
type memberSet struct {
	seed  maphash.Seed
	arena []byte
	ends  []int // member i is arena[ends[i-1]:ends[i]]
	table []msSlot
	spare []msSlot // the other table, for the next grow
	warm  bool     // a value has reserved before: its table is kept

	k0, k1, k2, k3 uint64 // hash keys for short members, from seed
}

type msSlot struct {
	hash uint32 // the low 32 bits of the member's hash
	idx  uint32 // member index + 1; 0: free
}

// msKeep bounds what is kept between values (slots per table, arena
// bytes / 64): one huge collection must not pin its memory for the rest
// of the file.
const msKeep = 1 << 16

// msStart is the table size a value starts with.
const msStart = 16

// msReserveMax caps the table size taken from a count in the file before
// the members arrive: a lying count costs at most 256 KiB, once per
// Decoder (tables are kept), and values of up to 8191 members never grow
// (moving the entries was a tenth of deep-checking zsets of 5000).
const msReserveMax = 1 << 15

// msReserveFirst caps the first reservation of a Decoder: a short-lived
// decoder (check --fix probes thousands of positions in damaged bytes, one
// decoder each) would otherwise pay up to 256 KiB for a count read from
// garbage. A real first value that is larger grows a few times, once.
const msReserveFirst = 1 << 10

// reserve sizes the empty table for about n members, n being a count from
// the file: it saves the grows a value would otherwise go through.
func (s *memberSet) reserve(n uint64) {
	limit := msReserveMax
	if !s.warm {
		limit, s.warm = msReserveFirst, true
	}
	want := msStart
	for uint64(want) < 2*n+2 && want < limit {
		want *= 2
	}
	if want <= len(s.table) || len(s.ends) > 0 {
		return
	}
	if cap(s.spare) > cap(s.table) {
		s.table, s.spare = s.spare, s.table
	}
	s.table = sizeTable(s.table, want)
}

func (s *memberSet) reset() {
	if s.table == nil {
		s.seed = maphash.MakeSeed()
		s.k0 = maphash.String(s.seed, "k0")
		s.k1 = maphash.String(s.seed, "k1")
		s.k2 = maphash.String(s.seed, "k2")
		s.k3 = maphash.String(s.seed, "k3") | 1
	}
	if cap(s.table) > msKeep {
		s.table = nil
	}
	if cap(s.spare) > msKeep {
		s.spare = nil
	}
	if cap(s.arena) > 64*msKeep {
		s.arena = nil
	}
	if cap(s.ends) > msKeep {
		s.ends = nil
	}
	s.arena, s.ends = s.arena[:0], s.ends[:0]
	s.table = sizeTable(s.table, msStart)
}

// sizeTable returns t resized to n free slots, reallocating only when its
// capacity is short.
func sizeTable(t []msSlot, n int) []msSlot {
	if cap(t) < n {
		return make([]msSlot, n)
	}
	t = t[:n]
	clear(t)
	return t
}

// hash is maphash, except for members of up to 16 bytes (most of them),
// which get a seeded multiply-mix of two overlapping words as in wyhash:
// no call, a few instructions.
func (s *memberSet) hash(m []byte) uint64 {
	var a, b uint64
	switch n := len(m); {
	case n > 16:
		return maphash.Bytes(s.seed, m)
	case n >= 8:
		a, b = binary.LittleEndian.Uint64(m), binary.LittleEndian.Uint64(m[n-8:])
	case n >= 4:
		a, b = uint64(binary.LittleEndian.Uint32(m)), uint64(binary.LittleEndian.Uint32(m[n-4:]))
	case n > 0:
		a = uint64(m[0])<<16 | uint64(m[n>>1])<<8 | uint64(m[n-1])
	}
	hi, lo := bits.Mul64(a^s.k0, b^s.k1^uint64(len(m)))
	hi, lo = bits.Mul64(hi^lo^s.k2, s.k3)
	return hi ^ lo
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
	h := uint32(s.hash(m))
	mask := uint32(len(s.table) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		sl := &s.table[i]
		if sl.idx == 0 {
			s.arena = append(s.arena, m...)
			s.ends = append(s.ends, len(s.arena))
			sl.hash, sl.idx = h, uint32(len(s.ends))
			return false
		}
		if sl.hash == h && bytes.Equal(s.member(sl.idx-1), m) {
			return true
		}
	}
}

func (s *memberSet) grow() {
	old := s.table
	t := sizeTable(s.spare, max(msStart, 2*len(old)))
	mask := uint32(len(t) - 1)
	for _, sl := range old {
		if sl.idx == 0 {
			continue
		}
		i := sl.hash & mask
		for t[i].idx != 0 {
			i = (i + 1) & mask
		}
		t[i] = sl
	}
	s.table, s.spare = t, old
}
