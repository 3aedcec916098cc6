package main

// keySet is a set of 64-bit key hashes for check's duplicate-key test: open
// addressing with linear probing over one flat slice. It replaces a
// map[db]map[uint64]struct{}, which was check's top hot spot on files of
// small keys: the table is far bigger than the caches, so every lookup is a
// cache (and TLB) miss. addBatch overlaps those misses.
type keySet struct {
	slots []uint64 // 0 marks a free slot; hash 0 is stored as 1
	n     int
	sink  uint64 // keeps the prefetching loads alive
}

// reserve sizes the table for n more keys (RESIZEDB announces them), so it
// does not rehash while growing.
func (s *keySet) reserve(n uint64) {
	want := uint64(s.n) + min(n, 1<<30)
	if want*4/3 <= uint64(len(s.slots)) {
		return
	}
	size := uint64(1024)
	for size/4*3 < want {
		size *= 2
	}
	s.rehash(int(size))
}

// addBatch inserts hs in order and sets dup[i] when hs[i] was already
// present (also earlier in hs). It first loads every home slot, so the
// memory accesses run in parallel rather than one miss after another.
func (s *keySet) addBatch(hs []uint64, dup []bool) {
	if s.n+len(hs) > len(s.slots)/4*3 {
		s.rehash(max(1024, 2*len(s.slots)))
	}
	mask := uint64(len(s.slots) - 1)
	var sink uint64
	for _, h := range hs {
		sink += s.slots[h&mask]
	}
	s.sink = sink
	for i, h := range hs {
		dup[i] = s.add(h, mask)
	}
}

func (s *keySet) add(h, mask uint64) bool {
	if h == 0 {
		h = 1
	}
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case 0:
			s.slots[i] = h
			s.n++
			return false
		case h:
			return true
		}
	}
}

func (s *keySet) rehash(size int) {
	old := s.slots
	s.slots = make([]uint64, size)
	mask := uint64(size - 1)
	for _, h := range old {
		if h == 0 {
			continue
		}
		i := h & mask
		for s.slots[i] != 0 {
			i = (i + 1) & mask
		}
		s.slots[i] = h
	}
}
