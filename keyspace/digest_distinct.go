package keyspace

import (
	"bytes"
	"hash/maphash"
)

// distinctSet finds the distinct members of a set, zset or hash value as
// decoded (a corrupt file may repeat one; a Store keeps the last occurrence,
// as map assignment does). It is an open-addressing table of (hash, index)
// pairs reused from value to value, so it allocates nothing per element and
// costs one maphash per element, where sorting the names cost O(n log n)
// byte comparisons (14% of the digest of a file of mid-sized collections).
type distinctSet struct {
	seed   maphash.Seed
	seeded bool
	table  []dsSlot
}

type dsSlot struct {
	hash uint64
	idx  int // element index + 1; 0 marks a free slot
}

// dsKeep bounds the table kept between values, so one huge collection does
// not pin its table.
const dsKeep = 1 << 12

// last appends to dst the index of the last occurrence of each distinct
// name among n elements and returns it. The indexes come in descending
// order; the digests that use them xor element digests, so order is free.
func (s *distinctSet) last(dst []int, n int, name func(i int) []byte) []int {
	switch n {
	case 0:
		return dst
	case 1:
		return append(dst, 0)
	}
	size := 16
	for size < 2*n {
		size *= 2
	}
	if !s.seeded {
		s.seed, s.seeded = maphash.MakeSeed(), true
	}
	if cap(s.table) < size {
		s.table = make([]dsSlot, size)
	}
	// Only the part this value needs is cleared and used.
	t := s.table[:size]
	clear(t)
	if size > dsKeep {
		s.table = nil // t stays usable below
	}
	mask := uint64(size - 1)
	for i := n - 1; i >= 0; i-- {
		m := name(i)
		h := maphash.Bytes(s.seed, m)
		for j := h & mask; ; j = (j + 1) & mask {
			sl := &t[j]
			if sl.idx == 0 {
				*sl = dsSlot{hash: h, idx: i + 1}
				dst = append(dst, i)
				break
			}
			if sl.hash == h && bytes.Equal(name(sl.idx-1), m) {
				break // a later element with this name wins
			}
		}
	}
	return dst
}
