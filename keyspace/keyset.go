package keyspace

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math/bits"
	"os"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/persistkit/persistkit/format/rdb"
)

// DefaultKeySetBudget is the memory budget of a [KeySet] whose options leave
// MemoryBudget at 0: an in-memory table of 16 MiB (about 780 000 keys), with
// room to grow it and for the spill buffers.
const DefaultKeySetBudget = 24 << 20

// MaxKeySetOffset is the largest record offset a [KeySet] accepts (64 TiB).
const MaxKeySetOffset = 1<<46 - 2

// KeySetBatch is how many keys [KeySet.Add] queues before it tests them
// together (so the cache misses of the table lookups overlap).
const KeySetBatch = 32

const (
	keySetParts   = 256      // spill partitions per level, by one hash byte
	keySetSlot    = 16       // bytes per table slot and per spill record
	keySetMinSize = 64 << 10 // smallest budget honoured
)

// KeySetOptions configure a [KeySet]. The zero value is usable: default
// budget, spill files in [os.TempDir], hash matches taken as duplicates.
type KeySetOptions struct {
	// MemoryBudget bounds, in bytes, the memory the set allocates: the
	// in-memory table (growth included), the spill buffers, and the
	// per-partition tables of Finish. 0 means [DefaultKeySetBudget]; values
	// below 64 KiB are raised to 64 KiB.
	MemoryBudget int
	// TempDir is where the spill file is created; "" means
	// [os.TempDir].
	TempDir string
	// KeyAt returns the key of the record at offset, as passed to Add. It
	// may use buf's storage for the result. KeySet calls it only for keys
	// whose 64-bit hashes are equal, to confirm them exactly. If KeyAt is
	// nil (input that cannot be read again, such as a pipe), equal hashes
	// count as a duplicate, reported with Unconfirmed set; a false report
	// then needs a collision of a seeded 64-bit hash (about n²/2^65 for n
	// keys).
	KeyAt func(offset int64, buf []byte) ([]byte, error)
	// FinishWorkers is how many goroutines Finish tests the spilled
	// partitions on. 0 or 1: the caller's goroutine only, and the set
	// starts none. Above 1, KeyAt is still called one call at a time, and
	// the set falls back to one goroutine when the budget has no room for
	// the others' buffers or a partition would need splitting.
	FinishWorkers int
	// Duplicate receives each key found again, at most once per later
	// occurrence. d and d.Key are valid only during the call. A non-nil
	// error stops the set: the method that made the call returns it, and so
	// does every later call except Close.
	Duplicate func(d *Duplicate) error
}

// Duplicate describes a key that was added (or probed) again.
type Duplicate struct {
	// DB is the database of both occurrences. The set keeps 16 bits of
	// it: Finish reports db numbers from 65535 up as 65535, and two keys
	// of such dbs are told apart by their hashes only (Redis allows 16
	// dbs by default).
	DB uint64
	// Key is the key name: the bytes passed to Add for duplicates found at
	// once, or what KeyAt returned for those found by Finish (nil without
	// KeyAt).
	Key []byte
	// First is the offset of the first occurrence.
	First int64
	// Offset is the offset of this occurrence.
	Offset int64
	// Unconfirmed is set when only the 64-bit hashes were compared
	// (KeySetOptions.KeyAt is nil).
	Unconfirmed bool
	// Deferred is set for duplicates found by Finish, after the set
	// outgrew its memory budget.
	Deferred bool
}

// KeySet finds duplicate keys among the keys of a file, identified by
// (db, key name), with memory bounded by a budget whatever the number of
// keys, and without false positives or negatives when KeyAt is set.
//
// Keys are added in file order with their record's offset. While it fits
// the budget, the set is an open-addressing table of (64-bit seeded hash of
// db and key, offset) pairs; a key whose hash is already there is compared
// exactly (through KeyAt) and, if equal, reported at once to
// KeySetOptions.Duplicate. Once the table would outgrow the budget, or
// Reserve announces more keys than it can hold, the set spills: the table
// and every later key go as 16-byte (hash, offset) records to one of 256
// partitions chosen by the hash's top byte, in a temporary file written in
// chunks. Finish then loads one partition at a time into a table (on
// FinishWorkers goroutines, a partition each) and reports the duplicates
// found there, sorted by offset, with both offsets (Deferred set). A partition whose distinct hashes do not fit the budget
// is split again by the next hash byte, so the budget holds for any number
// of keys. The spill file needs 16 bytes of disk per key; it is unlinked as
// soon as it is created where the system allows it, and otherwise removed
// by Finish or Close.
//
// Memory is the budget plus the keys of one batch (KeySetBatch), one byte
// per spilled chunk naming its partition (about 1.3 KiB per million keys at
// the default budget), and the duplicates Finish found and has yet to
// report (24 bytes each; a sound file has none).
//
// A KeySet is not safe for concurrent use.
type KeySet struct {
	opt    KeySetOptions
	budget int
	seed   maphash.Seed
	hash   func(db uint64, key []byte) uint64 // tests inject collisions here

	slots []keySlot // in-memory table; nil once spilled
	n     int       // entries in slots
	sink  uint64    // keeps the prefetching loads alive

	// queued keys
	nq   int
	qh   [KeySetBatch]uint64
	qv   [KeySetBatch]uint64
	qdb  [KeySetBatch]uint64
	qend [KeySetBatch]int // end of each key in qkey
	qkey []byte

	// spill state
	spilled  bool
	sf       *spillFile
	spare    []keySlot // the table's memory, reused by Finish
	rbuf     []byte    // one chunk read back
	chunk    int       // bytes per spill chunk
	tableMax int       // bytes the table may take next to the spill buffers
	bufUsed  int       // bytes of spill buffers allocated

	cache    keyCache  // the Add path's
	part     partState // the serial Finish's
	keyMu    sync.Mutex
	dups     []keyDup // found by Finish, not yet reported
	peak     int      // largest memory in use, for tests
	finishOn int      // goroutines Finish used, for tests
	finished bool
	err      error
}

// keyCache remembers the last first-occurrence key KeyAt returned: a key
// repeated many times is read once.
type keyCache struct {
	off int64
	key []byte
	ok  bool
}

// partState is what testing partitions needs besides the table, one per
// goroutine of Finish.
type partState struct {
	kbuf  []byte   // KeyAt's result for a later occurrence
	cache keyCache // KeyAt's result for a first occurrence
	dups  []keyDup
}

// keySlot is a table entry: the hash and the packed record (see pack).
// v == 0 marks a free slot.
type keySlot struct{ h, v uint64 }

// keyDup is a duplicate found by Finish.
type keyDup struct {
	first, off int64
	db         uint16
}

// pack stores offset+1 (so that 0 means free), a probe flag and the db's low
// 16 bits in one word.
func pack(off int64, db uint64, probe bool) uint64 {
	v := uint64(off+1)<<17 | uint64(min(db, 0xFFFF))
	if probe {
		v |= 1 << 16
	}
	return v
}

func unpackOff(v uint64) int64 { return int64(v>>17) - 1 }
func unpackDB(v uint64) uint16 { return uint16(v) }
func isProbe(v uint64) bool    { return v&(1<<16) != 0 }

// NewKeySet returns an empty set. nil opt means the zero options.
func NewKeySet(opt *KeySetOptions) *KeySet {
	s := &KeySet{seed: maphash.MakeSeed()}
	if opt != nil {
		s.opt = *opt
	}
	s.budget = s.opt.MemoryBudget
	if s.budget == 0 {
		s.budget = DefaultKeySetBudget
	}
	s.budget = max(s.budget, keySetMinSize)
	// An eighth of the budget for the spill buffers (one chunk of at most
	// 16 KiB per partition, and one to read back); the table has the rest.
	s.chunk = min(16<<10, s.budget/8/(keySetParts+1)/keySetSlot*keySetSlot)
	s.tableMax = s.budget - (keySetParts+1)*s.chunk
	return s
}

func (s *KeySet) keyHash(db uint64, key []byte) uint64 {
	if s.hash != nil {
		return s.hash(db, key)
	}
	// Equal keys of two dbs hash apart; equal hashes are compared exactly
	// anyway.
	return maphash.Bytes(s.seed, key) ^ db*0x9E3779B97F4A7C15
}

// maxSlots is the largest table that fits the budget next to the spill
// buffers.
func (s *KeySet) maxSlots() int {
	n := 1024
	for n*2*keySetSlot <= s.tableMax {
		n *= 2
	}
	return n
}

func (s *KeySet) use(bytes int) { s.peak = max(s.peak, bytes) }

// Reserve makes room in the in-memory table for n more keys (RESIZEDB
// announces them), as far as the budget allows, so that the table does not
// rehash while it fills. If the table cannot hold them all, the set spills
// now: every key would go through the table and then to the spill files,
// and the table's random accesses cost more than writing the keys out
// straight away. It returns the set's sticky error.
func (s *KeySet) Reserve(n uint64) error {
	if s.spilled || s.err != nil {
		return s.err
	}
	want := uint64(s.n) + min(n, 1<<40)
	if want > uint64(s.maxSlots())/4*3 {
		if err := s.spill(); err != nil {
			return s.fail(err)
		}
		return nil
	}
	size := len(s.slots)
	for uint64(size)/4*3 < want {
		size = max(1024, 2*size)
	}
	if size > len(s.slots) {
		if (len(s.slots)+size)*keySetSlot > s.budget {
			// The old and new tables together would not fit: grow
			// as far as they do; spilling takes over after that.
			for size > 1024 && (len(s.slots)+size)*keySetSlot > s.budget {
				size /= 2
			}
		}
		if size > len(s.slots) {
			s.rehash(size)
		}
	}
	return nil
}

// Add queues key of db, read from the record at offset, for the duplicate
// test, which runs every KeySetBatch keys and at Flush and Finish. Offsets
// must increase from call to call (file order) and be at most
// MaxKeySetOffset. key is copied. The error is the set's sticky error:
// a failed spill write, KeyAt's or Duplicate's error.
func (s *KeySet) Add(db uint64, key []byte, offset int64) error {
	return s.queue(db, key, offset, false)
}

// Probe is Add without adding: it reports key as a duplicate if it was
// added before, but a later Add of the same key does not count this one.
// (LoadRDB tests keys it then drops, such as expired ones, this way.)
func (s *KeySet) Probe(db uint64, key []byte, offset int64) error {
	return s.queue(db, key, offset, true)
}

func (s *KeySet) queue(db uint64, key []byte, offset int64, probe bool) error {
	if s.err != nil {
		return s.err
	}
	if s.finished {
		return s.fail(errors.New("keyspace: KeySet: Add after Finish"))
	}
	if offset < 0 || offset > MaxKeySetOffset {
		return s.fail(fmt.Errorf("keyspace: KeySet: offset %d out of range", offset))
	}
	if s.spilled && s.nq == 0 {
		// Spilled keys are only written out: no lookup to batch, and
		// the key is not needed again.
		if err := s.write(s.keyHash(db, key), pack(offset, db, probe)); err != nil {
			return s.fail(err)
		}
		return nil
	}
	i := s.nq
	s.qh[i] = s.keyHash(db, key)
	s.qv[i] = pack(offset, db, probe)
	s.qdb[i] = db
	s.qkey = append(s.qkey, key...)
	s.qend[i] = len(s.qkey)
	if s.nq++; s.nq == KeySetBatch {
		return s.Flush()
	}
	return nil
}

func (s *KeySet) fail(err error) error {
	if s.err == nil {
		s.err = err
	}
	return s.err
}

// Flush runs the duplicate test on the queued keys now, calling
// KeySetOptions.Duplicate for those found in the in-memory table.
func (s *KeySet) Flush() error {
	if s.err != nil {
		return s.err
	}
	n := s.nq
	s.nq = 0
	defer func() {
		s.qkey = s.qkey[:0]
		if cap(s.qkey) > 1<<20 {
			s.qkey = nil // after huge keys, do not keep their room
		}
	}()
	if n == 0 {
		return nil
	}
	if !s.spilled && s.n+n > len(s.slots)/4*3 {
		size := max(1024, 2*len(s.slots))
		if size <= s.maxSlots() && (len(s.slots)+size)*keySetSlot <= s.budget {
			s.rehash(size)
		} else if err := s.spill(); err != nil {
			return s.fail(err)
		}
	}
	if s.spilled {
		for i := range n {
			if err := s.write(s.qh[i], s.qv[i]); err != nil {
				return s.fail(err)
			}
		}
		return nil
	}
	// Load every home slot first: the misses then overlap instead of
	// following one another (the table is far bigger than the caches).
	mask := uint64(len(s.slots) - 1)
	var sink uint64
	for _, h := range s.qh[:n] {
		sink += s.slots[h&mask].v
	}
	s.sink = sink
	start := 0
	for i := range n {
		key := s.qkey[start:s.qend[i]]
		start = s.qend[i]
		if err := s.insert(s.qh[i], s.qv[i], s.qdb[i], key, mask); err != nil {
			return s.fail(err)
		}
	}
	return nil
}

// insert looks h up in the in-memory table, reports a duplicate if the same
// key is there, and otherwise adds it (unless it is a probe).
func (s *KeySet) insert(h, v, db uint64, key []byte, mask uint64) error {
	for i := h & mask; ; i = (i + 1) & mask {
		sl := &s.slots[i]
		if sl.v == 0 {
			if !isProbe(v) {
				*sl = keySlot{h, v &^ (1 << 16)}
				s.n++
			}
			return nil
		}
		if sl.h != h || unpackDB(sl.v) != unpackDB(v) {
			continue
		}
		first := unpackOff(sl.v)
		d := Duplicate{DB: db, Key: key, First: first, Offset: unpackOff(v), Unconfirmed: s.opt.KeyAt == nil}
		if s.opt.KeyAt != nil {
			k, err := s.keyAt(&s.cache, first)
			if err != nil {
				return err
			}
			if !bytes.Equal(k, key) {
				continue // a 64-bit collision of two keys
			}
		}
		if s.opt.Duplicate != nil {
			return s.opt.Duplicate(&d)
		}
		return nil
	}
}

// keyAt is KeyAt for a first occurrence, through c.
func (s *KeySet) keyAt(c *keyCache, off int64) ([]byte, error) {
	if c.ok && c.off == off {
		return c.key, nil
	}
	k, err := s.callKeyAt(off, c.key[:0])
	if err != nil {
		c.ok = false
		return nil, err
	}
	c.off, c.key, c.ok = off, k, true
	return k, nil
}

// callKeyAt calls KeyAt one call at a time (Finish's goroutines share it).
func (s *KeySet) callKeyAt(off int64, buf []byte) ([]byte, error) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	k, err := s.opt.KeyAt(off, buf)
	if err != nil {
		return nil, fmt.Errorf("keyspace: KeySet: reading key at offset %d: %w", off, err)
	}
	return k, nil
}

func (s *KeySet) rehash(size int) {
	s.use((len(s.slots) + size) * keySetSlot)
	s.slots = rehashSlots(s.slots, size)
}

// spill switches to the partitioned file: the table goes to it, and its
// memory is kept for Finish (giving it back to the allocator only to ask
// for as much again would raise the peak).
func (s *KeySet) spill() error {
	sf, err := s.newSpillFile()
	if err != nil {
		return err
	}
	s.sf, s.spilled = sf, true
	s.rbuf = make([]byte, s.chunk)
	s.use(len(s.slots)*keySetSlot + s.bufUsed + len(s.rbuf))
	for _, sl := range s.slots {
		if sl.v != 0 {
			if err := sf.add(int(sl.h>>56), sl.h, sl.v); err != nil {
				return err
			}
		}
	}
	s.spare, s.slots, s.n = s.slots, nil, 0
	if s.spare == nil {
		// Spilling at Reserve: allocate Finish's table now. Untouched
		// until then it costs no resident memory, but it counts in
		// the heap the garbage collector paces by, as the table would
		// have: without it a file of large values (1 GB mixed.rdb)
		// ran 2.7x as many collections and took ~20% more CPU.
		s.spare = make([]keySlot, s.maxSlots())
		s.use(len(s.spare)*keySetSlot + s.bufUsed + len(s.rbuf))
	}
	return nil
}

func (s *KeySet) write(h, v uint64) error {
	return s.sf.add(int(h>>56), h, v)
}

// spillFile holds records in keySetParts partitions: each partition fills a
// chunk in memory, and full chunks are appended to one file, whose owner
// index says which partition each chunk belongs to. One file (instead of
// one per partition) because creating and deleting hundreds of files costs
// more than the writes on ext4.
type spillFile struct {
	f     *os.File
	path  string // "" once removed
	chunk int
	buf   []byte // keySetParts chunks being filled
	fill  [keySetParts]int
	count [keySetParts]int64 // records per partition
	owner []uint8            // partition of each chunk in the file
}

func (s *KeySet) newSpillFile() (*spillFile, error) {
	f, err := os.CreateTemp(s.opt.TempDir, "persistkit-keyset-")
	if err != nil {
		return nil, fmt.Errorf("keyspace: KeySet: %w", err)
	}
	sf := &spillFile{f: f, path: f.Name(), chunk: s.chunk, buf: make([]byte, keySetParts*s.chunk)}
	s.bufUsed += len(sf.buf)
	// Unlinked while open, it cannot be left behind (Windows refuses;
	// close removes it there).
	if os.Remove(sf.path) == nil {
		sf.path = ""
	}
	return sf, nil
}

// add appends a record to partition p.
func (sf *spillFile) add(p int, h, v uint64) error {
	b := sf.buf[p*sf.chunk : (p+1)*sf.chunk]
	f := sf.fill[p]
	binary.LittleEndian.PutUint64(b[f:], h)
	binary.LittleEndian.PutUint64(b[f+8:], v)
	sf.count[p]++
	if f += keySetSlot; f < sf.chunk {
		sf.fill[p] = f
		return nil
	}
	sf.fill[p] = 0
	sf.owner = append(sf.owner, uint8(p))
	if _, err := sf.f.Write(b); err != nil {
		return fmt.Errorf("keyspace: KeySet: spill: %w", err)
	}
	return nil
}

// each calls fn for the records of partition p in the order they were
// added; rbuf holds one chunk.
func (sf *spillFile) each(p int, rbuf []byte, fn func(h, v uint64) error) error {
	eachRec := func(b []byte) error {
		for ; len(b) >= keySetSlot; b = b[keySetSlot:] {
			if err := fn(binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:])); err != nil {
				return err
			}
		}
		return nil
	}
	for i, o := range sf.owner {
		if int(o) != p {
			continue
		}
		b := rbuf[:sf.chunk]
		if _, err := sf.f.ReadAt(b, int64(i)*int64(sf.chunk)); err != nil {
			return fmt.Errorf("keyspace: KeySet: reading spill: %w", err)
		}
		if err := eachRec(b); err != nil {
			return err
		}
	}
	return eachRec(sf.buf[p*sf.chunk : p*sf.chunk+sf.fill[p]])
}

func (sf *spillFile) close() error {
	err := sf.f.Close()
	if sf.path != "" {
		if rerr := os.Remove(sf.path); err == nil {
			err = rerr
		}
		sf.path = ""
	}
	return err
}

// Finish tests the queued keys and, if the set spilled, every partition,
// then calls KeySetOptions.Duplicate for the duplicates found there in order
// of offset (Deferred set). It removes the spill files. Add after Finish is
// an error; Finish again does nothing.
func (s *KeySet) Finish() error {
	if err := s.Flush(); err != nil {
		return err
	}
	if s.finished {
		return nil
	}
	s.finished = true
	if !s.spilled {
		s.slots = nil
		return nil
	}
	if !s.finishParallel() {
		for p := range keySetParts {
			if err := s.finishPart(s.sf, p, 0, s.tableMax); err != nil {
				return s.fail(err)
			}
		}
		s.dups = s.part.dups
		s.part = partState{}
	}
	if s.err != nil {
		return s.err
	}
	slices.SortFunc(s.dups, func(a, b keyDup) int {
		if a.off != b.off {
			return cmp.Compare(a.off, b.off)
		}
		return cmp.Compare(a.first, b.first)
	})
	var key []byte
	for i, d := range s.dups {
		dd := Duplicate{DB: uint64(d.db), First: d.first, Offset: d.off, Unconfirmed: s.opt.KeyAt == nil, Deferred: true}
		if s.opt.KeyAt != nil {
			k, err := s.callKeyAt(d.off, key[:0])
			if err != nil {
				return s.fail(err)
			}
			key, dd.Key = k, k
		}
		if s.opt.Duplicate != nil {
			if err := s.opt.Duplicate(&dd); err != nil {
				s.dups = s.dups[i+1:]
				return s.fail(err)
			}
		}
	}
	s.dups = nil
	sf := s.sf
	s.sf, s.bufUsed = nil, s.bufUsed-len(sf.buf)
	return sf.close()
}

// finishParallel tests the partitions of s.sf on FinishWorkers goroutines
// (the caller's one of them), each with a share of the table's memory and
// a chunk buffer of its own, and leaves the duplicates in s.dups. It
// returns false, having done nothing, when that does not fit the budget or
// a partition has more records than a share holds (the serial path splits
// those).
func (s *KeySet) finishParallel() bool {
	workers := min(s.opt.FinishWorkers, keySetParts)
	if workers < 2 {
		return false
	}
	share := cap(s.spare) / workers
	share = 1 << (bits.Len(uint(share)) - 1) // tables are powers of 2
	extra := (workers - 1) * s.chunk
	if share < 16 || cap(s.spare)*keySetSlot+s.bufUsed+len(s.rbuf)+extra > s.budget {
		return false
	}
	for _, c := range s.sf.count {
		if c > int64(share)/4*3 {
			return false
		}
	}
	s.use(cap(s.spare)*keySetSlot + s.bufUsed + len(s.rbuf) + extra)
	s.finishOn = workers
	var next atomic.Int32 // the next partition to take
	var failed atomic.Bool
	type result struct {
		ps    partState
		err   error
		errAt int // the partition that failed
	}
	res := make([]result, workers)
	work := func(i int) {
		rbuf := s.rbuf
		if i > 0 {
			rbuf = make([]byte, s.chunk)
		}
		table := s.spare[i*share : (i+1)*share : (i+1)*share]
		for !failed.Load() {
			p := int(next.Add(1) - 1)
			if p >= keySetParts {
				return
			}
			if err := s.testPart(&res[i].ps, table, rbuf, p); err != nil {
				res[i].err, res[i].errAt = err, p
				failed.Store(true)
			}
		}
	}
	var wg sync.WaitGroup
	for i := 1; i < workers; i++ {
		wg.Go(func() { work(i) })
	}
	work(0)
	wg.Wait()
	// The first failed partition's error, as the serial path would give
	// (the partitions before it were all tested).
	errAt := keySetParts
	var err error
	for _, r := range res {
		s.dups = append(s.dups, r.ps.dups...)
		if r.err != nil && r.errAt < errAt {
			err, errAt = r.err, r.errAt
		}
	}
	if err != nil {
		s.fail(err)
	}
	return true
}

// testPart is loadPart for finishParallel, which made sure partition p fits
// table without growing or splitting.
func (s *KeySet) testPart(ps *partState, table []keySlot, rbuf []byte, p int) error {
	count := s.sf.count[p]
	if count == 0 {
		return nil
	}
	size := 16
	for int64(size)/4*3 < count {
		size *= 2
	}
	t := table[:size]
	clear(t)
	mask := uint64(size - 1)
	return s.sf.each(p, rbuf, func(h, v uint64) error {
		_, err := s.partInsert(ps, t, mask, h, v)
		return err
	})
}

// errSplit says a partition's distinct hashes outgrew the budget.
var errSplit = errors.New("split")

// finishPart finds the duplicates in partition p of sf, whose records'
// hashes share their top level+1 bytes, with a table of at most tableMax
// bytes. Records are in file order except that the table dumped at the
// switch comes first, and its keys are distinct and older than all others,
// so a record only ever matches an older one.
func (s *KeySet) finishPart(sf *spillFile, p, level, tableMax int) error {
	err := s.loadPart(sf, p, level, tableMax)
	if err == errSplit {
		err = s.splitPart(sf, p, level+1, tableMax)
	}
	return err
}

// loadPart inserts a partition's records into a table sized for them and
// collects the duplicates in s.part.dups. It returns errSplit, with them as it
// was, when the partition's distinct hashes do not fit tableMax and there is
// a hash byte left to split by.
func (s *KeySet) loadPart(sf *spillFile, p, level, tableMax int) error {
	count := sf.count[p]
	if count == 0 {
		return nil
	}
	// Size for every record being distinct (the usual case), within the
	// budget; repeats of one key (a hostile file) need no room.
	size := 16
	for int64(size)/4*3 < count && 2*size*keySetSlot <= tableMax {
		size *= 2
	}
	var table []keySlot
	if size <= cap(s.spare) {
		table = s.spare[:size]
		clear(table)
	} else {
		table = make([]keySlot, size)
		s.spare = table
	}
	fixed := s.bufUsed + len(s.rbuf)
	s.use(cap(s.spare)*keySetSlot + fixed)
	nDups := len(s.part.dups)
	n := 0
	return sf.each(p, s.rbuf, func(h, v uint64) error {
		if n+1 > len(table)/4*3 {
			grown := 2 * len(table)
			if grown*keySetSlot > tableMax && level < 7 {
				s.part.dups = s.part.dups[:nDups] // the split finds them again
				return errSplit
			}
			// At level 7 all 64 bits of these hashes are equal:
			// only crafted collisions get here, and the table
			// grows past the budget.
			s.use((len(table)+grown)*keySetSlot + fixed)
			table = rehashSlots(table, grown)
			s.spare = table
		}
		added, err := s.partInsert(&s.part, table, uint64(len(table)-1), h, v)
		if added {
			n++
		}
		return err
	})
}

func rehashSlots(old []keySlot, size int) []keySlot {
	t := make([]keySlot, size)
	mask := uint64(size - 1)
	for _, sl := range old {
		if sl.v == 0 {
			continue
		}
		i := sl.h & mask
		for t[i].v != 0 {
			i = (i + 1) & mask
		}
		t[i] = sl
	}
	return t
}

// partInsert is insert for Finish: both keys come from KeyAt.
func (s *KeySet) partInsert(ps *partState, table []keySlot, mask, h, v uint64) (bool, error) {
	off := unpackOff(v)
	for i := h & mask; ; i = (i + 1) & mask {
		sl := &table[i]
		if sl.v == 0 {
			if isProbe(v) {
				return false, nil
			}
			*sl = keySlot{h, v}
			return true, nil
		}
		if sl.h != h || unpackDB(sl.v) != unpackDB(v) {
			continue
		}
		first := unpackOff(sl.v)
		if s.opt.KeyAt != nil {
			a, err := s.keyAt(&ps.cache, first)
			if err != nil {
				return false, err
			}
			b, err := s.callKeyAt(off, ps.kbuf[:0])
			if err != nil {
				return false, err
			}
			ps.kbuf = b
			if !bytes.Equal(a, b) {
				continue
			}
		}
		ps.dups = append(ps.dups, keyDup{first: first, off: off, db: unpackDB(v)})
		return false, nil
	}
}

// splitPart rewrites partition p of sf into a new spill file by hash byte
// level and finishes each part. The new file's buffers come out of the
// table's share of the budget.
func (s *KeySet) splitPart(sf *spillFile, p, level, tableMax int) error {
	sub, err := s.newSpillFile()
	if err != nil {
		return err
	}
	defer func() {
		s.bufUsed -= len(sub.buf)
		sub.close()
	}()
	shift := 56 - 8*level
	err = sf.each(p, s.rbuf, func(h, v uint64) error {
		return sub.add(int(h>>shift&0xFF), h, v)
	})
	if err != nil {
		return err
	}
	for q := range keySetParts {
		if err := s.finishPart(sub, q, level, tableMax-len(sub.buf)); err != nil {
			return err
		}
	}
	return nil
}

// Close removes the spill file. It is safe to call more than once and after
// any error.
func (s *KeySet) Close() error {
	s.slots, s.spare, s.rbuf, s.dups, s.part = nil, nil, nil, nil, partState{}
	if s.sf == nil {
		return nil
	}
	sf := s.sf
	s.sf = nil
	return sf.close()
}

// RDBKeyReader reads single entries of a seekable RDB file again, by the
// offsets rdb.Entry.Offset gives: its KeyAt method is what
// [KeySetOptions.KeyAt] needs for an RDB file.
type RDBKeyReader struct {
	ra      io.ReaderAt
	flavour rdb.Flavour
	prefix  []byte // header (+ a valkey-ver AUX), read on first use
}

// NewRDBKeyReader returns a reader of the entries of the RDB file ra, whose
// flavour is what [rdb.Decoder.Flavour] says once the file's AUX fields are
// read (at its first entry). ra must not depend on the position of the
// decoder reading the file, as an *os.File's ReadAt does not. An
// RDBKeyReader is not safe for concurrent use.
func NewRDBKeyReader(ra io.ReaderAt, flavour rdb.Flavour) *RDBKeyReader {
	return &RDBKeyReader{ra: ra, flavour: flavour}
}

// EntryAt decodes the entry whose record (prefix opcodes included) starts
// at off, as if it followed the file's header. Its value is not read; the
// Entry's DB is 0.
func (r *RDBKeyReader) EntryAt(off int64) (*rdb.Entry, error) {
	if r.prefix == nil {
		hdr := make([]byte, 9, 32) // REDISnnnn or VALKEYnnn
		if _, err := r.ra.ReadAt(hdr, 0); err != nil {
			return nil, err
		}
		// REDIS0011 files from Valkey 8 read differently after a
		// valkey-ver AUX field: repeat one.
		if r.flavour == rdb.FlavourValkey && string(hdr[:5]) == "REDIS" {
			hdr = append(hdr, rdb.OpAux, 10)
			hdr = append(hdr, "valkey-ver"...)
			hdr = append(hdr, 5)
			hdr = append(hdr, "8.0.0"...)
		}
		r.prefix = hdr
	}
	src := io.MultiReader(bytes.NewReader(r.prefix), io.NewSectionReader(r.ra, off, 1<<62))
	dec := rdb.NewDecoder(bufio.NewReaderSize(src, 4096), nil)
	for {
		rec, err := dec.Next()
		if err != nil {
			return nil, err
		}
		if a, ok := rec.(*rdb.Aux); ok && a.Offset < int64(len(r.prefix)) {
			continue // ours
		}
		e, ok := rec.(*rdb.Entry)
		if !ok {
			return nil, fmt.Errorf("keyspace: offset %d: not a key", off)
		}
		return e, nil
	}
}

// KeyAt appends the key of the entry at off to buf.
func (r *RDBKeyReader) KeyAt(off int64, buf []byte) ([]byte, error) {
	e, err := r.EntryAt(off)
	if err != nil {
		return nil, err
	}
	return append(buf, e.Key...), nil
}
