package main

import (
	"math/bits"
	"strconv"

	"github.com/persistkit/persistkit/format/rdb"
)

// In-memory size estimate of a key on Redis 7.0 with default settings, as
// MEMORY USAGE key SAMPLES 0 reports it (objectComputeSize plus the key's
// sds and its dictEntry). The in-memory encoding is derived from the
// decoded value and the default thresholds, not from the file's encoding.

const (
	memRobj      = 16 // sizeof(robj)
	memDictEntry = 24 // sizeof(dictEntry)
	memDict      = 56 // sizeof(dict), 7.0
	memQuicklist = 40 // sizeof(quicklist)
	memQLNode    = 40 // sizeof(quicklistNode): 4 words + 4 bytes of bitfields, padded
	memZset      = 16 // sizeof(zset)
	memZSkiplist = 32 // sizeof(zskiplist)
	memStream    = 80 // sizeof(stream)
	memStreamCG  = 40 // sizeof(streamCG)
	memNACK      = 24 // sizeof(streamNACK)
	memConsumer  = 24 // sizeof(streamConsumer)
	memRax       = 24 // sizeof(rax)
	memRaxNode   = 4  // sizeof(raxNode)

	hashMaxListpackEntries = 128
	hashMaxListpackValue   = 64
	zsetMaxListpackEntries = 128
	zsetMaxListpackValue   = 64
	setMaxIntsetEntries    = 512
	listMaxListpackBytes   = 8192 // list-max-listpack-size -2
	streamNodeMaxEntries   = 100
	streamNodeMaxBytes     = 4096
)

// mallocSize rounds n up to a jemalloc size class: 8, 16, 32, 48, 64, then
// four classes per power of two (80, 96, 112, 128, 160, ...). That is
// jemalloc's default 16-byte quantum, as in Debian's redis-server (system
// jemalloc 5.3.0), which MEMORY USAGE was checked against: it has no 24
// class (a 17..32 byte allocation reports 32). Redis's bundled jemalloc
// (--with-lg-quantum=3) also has 24, 40 and 56, so small keys there can
// be up to 8 bytes per allocation smaller than this estimate.
func mallocSize(n int64) int64 {
	switch {
	case n <= 0:
		return 0
	case n <= 8:
		return 8
	case n <= 16:
		return 16
	case n <= 32:
		return 32
	case n <= 48:
		return 48
	case n <= 64:
		return 64
	}
	// (2^k, 2^(k+1)] is split in 4 steps of 2^(k-2).
	k := 63 - bits.LeadingZeros64(uint64(n-1)) // 2^k < n <= 2^(k+1)
	step := int64(1) << (k - 2)
	return (n + step - 1) / step * step
}

// sdsAllocSize is zmalloc_size of an sds holding n bytes (sdsnewlen picks
// the header type by length; type 5 for < 32).
func sdsAllocSize(n int) int64 {
	var hdr int64
	switch {
	case n < 1<<5:
		hdr = 1
	case n < 1<<8:
		hdr = 3
	case n < 1<<16:
		hdr = 5
	case n < 1<<32:
		hdr = 9
	default:
		hdr = 17
	}
	return mallocSize(hdr + int64(n) + 1)
}

// strictInt reports whether s is a canonical int64 (string2ll).
func strictInt(s []byte) (int64, bool) {
	if len(s) == 0 || len(s) > 20 {
		return 0, false
	}
	v, err := strconv.ParseInt(string(s), 10, 64)
	if err != nil || strconv.FormatInt(v, 10) != string(s) {
		return 0, false
	}
	return v, true
}

// lpIntSize is the encoded size (without backlen) of an integer entry.
func lpIntSize(v int64) int64 {
	switch {
	case v >= 0 && v <= 127:
		return 1
	case v >= -4096 && v <= 4095:
		return 2
	case v >= -1<<15 && v < 1<<15:
		return 3
	case v >= -1<<23 && v < 1<<23:
		return 4
	case v >= -1<<31 && v < 1<<31:
		return 5
	}
	return 9
}

func lpBacklen(n int64) int64 {
	switch {
	case n <= 127:
		return 1
	case n < 16383:
		return 2
	case n < 2097151:
		return 3
	case n < 268435455:
		return 4
	}
	return 5
}

func lpWithBacklen(n int64) int64 { return n + lpBacklen(n) }

// lpEntrySize is the bytes one element takes in a listpack.
func lpEntrySize(s []byte) int64 {
	if v, ok := strictInt(s); ok {
		return lpWithBacklen(lpIntSize(v))
	}
	n := int64(len(s))
	switch {
	case n < 64:
		return lpWithBacklen(1 + n)
	case n < 4096:
		return lpWithBacklen(2 + n)
	}
	return lpWithBacklen(5 + n)
}

func lpIntEntrySize(v int64) int64 { return lpWithBacklen(lpIntSize(v)) }

const lpOverhead = 7 // 6-byte header + end byte

// scoreString formats a zset score as 7.0's d2string does.
func scoreString(f float64) []byte {
	if f == float64(int64(f)) && f > -1e17 && f < 1e17 {
		return strconv.AppendInt(nil, int64(f), 10)
	}
	return strconv.AppendFloat(nil, f, 'g', 17, 64)
}

func dictSlots(n int) int64 {
	s := int64(4)
	for s < int64(n) {
		s <<= 1
	}
	return s
}

// skiplistNodeAvg is the expected zmalloc_size of a zskiplistNode
// (24 bytes + 16 per level, level geometric with p = 0.25).
var skiplistNodeAvg = func() float64 {
	var e, p float64 = 0, 0.75
	for l := int64(1); l <= 32; l++ {
		e += p * float64(mallocSize(24+16*l))
		p *= 0.25
	}
	return e
}()

// raxUsage is streamRadixTreeMemoryUsage (7.0) for a rax of n 16-byte
// keys: 7.0 overwrites its sizeof(rax) term, so it is 16 per key plus 244
// per node. The node count is approximated: 1 for an empty rax, 2 for one
// key, about half2/2 per key beyond (shared ID prefixes branch: 2.5 fits
// the node rax of the 7.0 corpus, 2 the consumer-group PELs).
func raxUsage(n int, half2 int64) int64 {
	nodes := int64(1)
	switch {
	case n == 1:
		nodes = 2
	case n > 1:
		nodes = (int64(n)*half2 + 1) / 2
	}
	return int64(n)*16 + nodes*(memRaxNode+8*30)
}

// memEstimate is the MEMORY USAGE estimate for key holding v.
func memEstimate(key []byte, v rdb.Value) int64 {
	return keyMem(key, valueMem(v))
}

// keyMem is the MEMORY USAGE estimate for key holding a value of valMem
// bytes: the key's sds and dict entry on top.
func keyMem(key []byte, valMem int64) int64 {
	return sdsAllocSize(len(key)) + memDictEntry + valMem
}

// valueMem is objectComputeSize for v.
func valueMem(v rdb.Value) int64 {
	switch v := v.(type) {
	case *rdb.String:
		return stringMem(v.Data)
	case *rdb.List:
		m := newMemSizer(rdb.KindList)
		for _, e := range v.Elems {
			m.add(&rdb.Element{Member: e})
		}
		return m.mem()
	case *rdb.Set:
		m := newMemSizer(rdb.KindSet)
		for _, e := range v.Members {
			m.add(&rdb.Element{Member: e})
		}
		return m.mem()
	case *rdb.Hash:
		m := newMemSizer(rdb.KindHash)
		for _, f := range v.Fields {
			m.add(&rdb.Element{Member: f.Field, Value: f.Value})
		}
		return m.mem()
	case *rdb.ZSet:
		m := newMemSizer(rdb.KindZSet)
		for _, z := range v.Members {
			m.add(&rdb.Element{Member: z.Member, Score: z.Score})
		}
		return m.mem()
	case *rdb.Stream:
		return streamMem(v)
	case *rdb.Module:
		return memRobj + int64(len(v.Raw))
	}
	return memRobj
}

// stringMem is objectComputeSize for a string value: a shared integer, an
// embedded string up to 44 bytes, else an sds of its own.
func stringMem(data []byte) int64 {
	if _, ok := strictInt(data); ok {
		return memRobj
	}
	if len(data) <= 44 {
		return mallocSize(memRobj + 3 + int64(len(data)) + 1)
	}
	return memRobj + sdsAllocSize(len(data))
}

// streamMem approximates a stream: listpack nodes of up to 100 entries /
// 4 KB rebuilt from the live entries, the rax of node IDs, and consumer
// group PELs.
func streamMem(s *rdb.Stream) int64 {
	n := int64(memRobj + memStream)
	nodes := 0
	var lpsz int64
	var master []rdb.StreamField
	count := 0
	flush := func() {
		if count > 0 {
			n += mallocSize(lpsz)
			nodes++
		}
		count = 0
	}
	var baseMs uint64
	var baseSeq uint64
	entrySize := func(e *rdb.StreamEntry) int64 {
		same := len(master) == len(e.Fields)
		for i := range e.Fields {
			if !same {
				break
			}
			if string(master[i].Field) != string(e.Fields[i].Field) {
				same = false
			}
		}
		sz := lpIntEntrySize(2) + lpIntEntrySize(int64(e.ID.Ms-baseMs)) + lpIntEntrySize(int64(e.ID.Seq-baseSeq))
		if !same {
			sz += lpIntEntrySize(int64(len(e.Fields)))
		}
		for _, f := range e.Fields {
			if !same {
				sz += lpEntrySize(f.Field)
			}
			sz += lpEntrySize(f.Value)
		}
		return sz + lpIntEntrySize(int64(len(e.Fields)+3))
	}
	for i := range s.Entries {
		e := &s.Entries[i]
		// streamAppendItem starts a new node when the entry would
		// reach stream-node-max-bytes or the node is full.
		if count > 0 && (count >= streamNodeMaxEntries || lpsz+entrySize(e) >= streamNodeMaxBytes) {
			flush()
		}
		if count == 0 {
			master = e.Fields
			baseMs, baseSeq = e.ID.Ms, e.ID.Seq
			// count, deleted, master field count, fields, master terminator
			lpsz = lpOverhead + 3*lpIntEntrySize(int64(len(e.Fields))) + lpIntEntrySize(0)
			for _, f := range e.Fields {
				lpsz += lpEntrySize(f.Field)
			}
		}
		lpsz += entrySize(e)
		count++
	}
	flush()
	n += raxUsage(nodes, 5)
	for _, g := range s.Groups {
		n += memStreamCG + raxUsage(len(g.PEL), 4) + memNACK*int64(len(g.PEL))
		for _, c := range g.Consumers {
			n += memConsumer + int64(len(c.Name)) + raxUsage(len(c.PEL), 4)
		}
	}
	return n
}

// entryMem reads the value of e and returns its payload bytes, element
// count and memory estimate: valueSize, valueLen and valueMem of its
// Value, with collections streamed element by element instead of built
// (memory of the 1 GB mixed.rdb: most of its time went to allocating and
// collecting the Values). Streams and module values are still built.
func entryMem(dec *rdb.Decoder, e *rdb.Entry) (payload, elems, mem int64, err error) {
	if e.Kind == rdb.KindStream || e.Kind == rdb.KindModule {
		v, err := dec.Value()
		if err != nil {
			return 0, 0, 0, err
		}
		return valueSize(v), valueLen(v), valueMem(v), nil
	}
	m := newMemSizer(e.Kind)
	if err := dec.Elements(m.add); err != nil {
		return 0, 0, 0, err
	}
	return m.payload, m.n, m.mem(), nil
}

// memSizer is objectComputeSize for a collection, fed one element at a
// time: valueMem feeds it a Value's elements, entryMem the decoder's.
type memSizer struct {
	kind       rdb.Kind
	n, payload int64
	strMem     int64
	// lists: elements packed into 8 KB listpack nodes as a quicklist does
	total, cur int64
	count      int
	// sets: intset candidate
	intsOK bool
	width  int64
	// hashes and zsets: listpack candidate
	lpOK   bool
	lpSize int64
	// hash tables
	dict int64
	ele  float64
}

func newMemSizer(k rdb.Kind) *memSizer {
	return &memSizer{kind: k, cur: lpOverhead, intsOK: true, width: 2, lpOK: true, lpSize: lpOverhead}
}

func (m *memSizer) add(el *rdb.Element) error {
	m.n++
	m.payload += int64(len(el.Member) + len(el.Value))
	switch m.kind {
	case rdb.KindString:
		m.strMem = stringMem(el.Member)
	case rdb.KindList:
		es := lpEntrySize(el.Member)
		if m.count > 0 && m.cur+es > listMaxListpackBytes {
			m.total += memQLNode + mallocSize(m.cur)
			m.cur, m.count = lpOverhead, 0
		}
		m.cur += es
		m.count++
	case rdb.KindSet:
		if m.intsOK && m.n <= setMaxIntsetEntries {
			x, isInt := strictInt(el.Member)
			switch {
			case !isInt:
				m.intsOK = false
			case x < -1<<31 || x >= 1<<31:
				m.width = 8
			case (x < -1<<15 || x >= 1<<15) && m.width < 4:
				m.width = 4
			}
		}
		m.dict += memDictEntry + sdsAllocSize(len(el.Member))
	case rdb.KindHash:
		if m.lpOK && (m.n > hashMaxListpackEntries || len(el.Member) > hashMaxListpackValue || len(el.Value) > hashMaxListpackValue) {
			m.lpOK = false
		}
		if m.lpOK {
			m.lpSize += lpEntrySize(el.Member) + lpEntrySize(el.Value)
		}
		m.dict += memDictEntry + sdsAllocSize(len(el.Member)) + sdsAllocSize(len(el.Value))
	case rdb.KindZSet:
		m.payload += 8
		if m.lpOK && (m.n > zsetMaxListpackEntries || len(el.Member) > zsetMaxListpackValue) {
			m.lpOK = false
		}
		if m.lpOK {
			m.lpSize += lpEntrySize(el.Member) + lpEntrySize(scoreString(el.Score))
		}
		m.ele += float64(sdsAllocSize(len(el.Member))+memDictEntry) + skiplistNodeAvg
	}
	return nil
}

func (m *memSizer) mem() int64 {
	switch m.kind {
	case rdb.KindString:
		return m.strMem
	case rdb.KindList:
		total := m.total
		if m.count > 0 {
			total += memQLNode + mallocSize(m.cur)
		}
		return memRobj + memQuicklist + total
	case rdb.KindSet:
		if m.intsOK && m.n <= setMaxIntsetEntries {
			return memRobj + mallocSize(8+m.width*m.n)
		}
		return memRobj + memDict + 8*dictSlots(int(m.n)) + m.dict
	case rdb.KindHash:
		if m.lpOK {
			return memRobj + mallocSize(m.lpSize)
		}
		return memRobj + memDict + 8*dictSlots(int(m.n)) + m.dict
	case rdb.KindZSet:
		if m.lpOK {
			return memRobj + mallocSize(m.lpSize)
		}
		return memRobj + memZset + memZSkiplist + memDict + 8*dictSlots(int(m.n)) + mallocSize(24+32*16) + int64(m.ele)
	}
	return memRobj
}
