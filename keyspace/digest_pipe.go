package keyspace

import (
	"encoding/binary"
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/persistkit/persistkit/format/rdb"
)

// digestJob is one loaded key whose digest is still to be computed. The
// entry and value are owned by the job (the decoder reuses neither).
type digestJob struct {
	e *rdb.Entry
	v rdb.Value
	o *Object // set for values that went through an Object (streams, modules)
}

// keyHasher computes per-key digests and folds them into one accumulator
// per db; it is the SHA-1 side of [DigestRDB].
type keyHasher struct {
	r      digestRules
	nowMs  int64
	drop   bool // drop hash fields expired at nowMs
	unique bool // the decoder's deep check rejected repeated members
	perKey func(db int, key []byte, digest [20]byte) error

	acc  [NumDBs]digest // xor of SHA1(key digest) per db
	keys [NumDBs]int    // keys digested per db

	ds  distinctSet
	idx []int  // scratch: indexes of the distinct set/zset/hash elements
	buf []byte // scratch: zset score text
}

// key digests one key: mix the name, then the value, into the db's
// accumulator (and hands DEBUG DIGEST-VALUE to perKey).
func (h *keyHasher) key(j *digestJob) error {
	e := j.e
	if j.o == nil {
		h.prepare(e, j.v)
	}
	db := int(e.DB)
	var kd digest
	kd.mix(e.Key)
	h.valueDigest(&kd, e, j.v, j.o)
	h.acc[db].xor(kd[:])
	h.keys[db]++
	if h.perKey != nil {
		var vd digest
		h.valueDigest(&vd, e, j.v, j.o)
		return h.perKey(db, e.Key, vd)
	}
	return nil
}

// prepare does what converting v to an Object and loadEntry's hash-field
// drop do to a collection: sets, zsets and hashes keep one element per
// member (the last one, as map assignment does), and expired hash fields go
// when dropping. It leaves the surviving indexes in h.idx.
func (h *keyHasher) prepare(e *rdb.Entry, v rdb.Value) {
	switch v := v.(type) {
	case *rdb.Set:
		if h.unique || e.Encoding == rdb.EncIntset {
			// Distinct already: checked by the decoder (an intset is
			// strictly ascending, deep mode tests every collection).
			h.idx = appendRange(h.idx[:0], len(v.Members))
			return
		}
		h.idx = h.ds.last(h.idx[:0], len(v.Members), func(i int) []byte { return v.Members[i] })
	case *rdb.ZSet:
		if h.unique {
			h.idx = appendRange(h.idx[:0], len(v.Members))
			return
		}
		h.idx = h.ds.last(h.idx[:0], len(v.Members), func(i int) []byte { return v.Members[i].Member })
	case *rdb.Hash:
		if h.unique {
			h.idx = appendRange(h.idx[:0], len(v.Fields))
		} else {
			h.idx = h.ds.last(h.idx[:0], len(v.Fields), func(i int) []byte { return v.Fields[i].Field })
		}
		if h.drop {
			// Redis 7.4+ drops hash fields already expired at load time.
			h.idx = slices.DeleteFunc(h.idx, func(i int) bool {
				t := v.Fields[i].ExpireAtMs
				return t != 0 && t < h.nowMs
			})
		}
	}
}

func appendRange(dst []int, n int) []int {
	for i := range n {
		dst = append(dst, i)
	}
	return dst
}

// valueDigest is valueDigest (digest.go) over the decoded value, using the
// elements prepare selected; o is set for values that went through an Object.
func (h *keyHasher) valueDigest(d *digest, e *rdb.Entry, v rdb.Value, o *Object) {
	if o != nil {
		valueDigest(d, o, h.r)
		return
	}
	digestType(d, v.Kind())
	switch v := v.(type) {
	case *rdb.String:
		d.mix(v.Data)
	case *rdb.List:
		for _, el := range v.Elems {
			d.mix(el)
		}
	case *rdb.Set:
		for _, i := range h.idx {
			d.xor(v.Members[i])
		}
	case *rdb.ZSet:
		maxLen := 0
		for _, i := range h.idx {
			maxLen = max(maxLen, len(v.Members[i].Member))
		}
		zeroNeg := zsetZeroNeg(e.Encoding, len(h.idx), maxLen, h.r)
		for _, i := range h.idx {
			m := &v.Members[i]
			h.buf = digestZSetMember(d, m.Member, m.Score, zeroNeg, h.buf, h.r)
		}
	case *rdb.Hash:
		for _, i := range h.idx {
			f := &v.Fields[i]
			digestHashField(d, f.Field, f.Value, f.ExpireAtMs != 0, h.r)
		}
	}
	digestExpire(d, e.ExpireAtMs >= 0)
}

// A hashPipe bounds how far the decoder runs ahead of the hashing
// goroutines: at most pipeDepth queued batches, each of at most
// pipeBatchKeys keys or pipeBatchBytes of input (plus the batch being
// filled and one being hashed per goroutine). Batches amortise the channel
// handoff and goroutine wake-ups over many keys.
const (
	pipeBatchKeys  = 512
	pipeBatchBytes = 256 << 10
	pipeDepth      = 4
)

// errPipeStopped stops the decoding loop when hashing a key failed;
// [hashPipe.finish] then returns that error.
var errPipeStopped = errors.New("keyspace: digest stopped")

// hashPipe hands keys to keyHashers: to one per goroutine when there are
// workers, else to one right away. Batches go to whichever goroutine is
// free, so with more than one worker keys are hashed in no particular order
// (fine for the xor of per-key digests; PerKey, which promises file order,
// gets a single worker).
type hashPipe struct {
	hs []*keyHasher // one per worker, or one used inline

	cur   []digestJob // the batch being filled
	start int64       // input offset where cur began

	work chan []digestJob
	free chan []digestJob // emptied batches, for reuse
	wg   sync.WaitGroup
	stop atomic.Bool // set when a worker failed

	mu     sync.Mutex
	err    error // the first hashing error (PerKey's)
	errOff int64 // the offset of its key
}

// newHashPipe starts workers goroutines, each with a keyHasher from
// newHasher; 0 workers hash on the caller's goroutine.
func newHashPipe(newHasher func() *keyHasher, workers int) *hashPipe {
	p := &hashPipe{}
	if workers == 0 {
		p.hs = []*keyHasher{newHasher()}
		return p
	}
	p.work = make(chan []digestJob, pipeDepth)
	p.free = make(chan []digestJob, pipeDepth+workers+1)
	for range workers {
		h := newHasher()
		p.hs = append(p.hs, h)
		p.wg.Add(1)
		go p.run(h)
	}
	return p
}

// add queues j; off is the input offset after its value.
func (p *hashPipe) add(j digestJob, off int64) error {
	if p.work == nil {
		if err := p.hs[0].key(&j); err != nil {
			p.err, p.errOff = err, j.e.Offset
			return errPipeStopped
		}
		return nil
	}
	if len(p.cur) == 0 {
		p.start = j.e.Offset
	}
	p.cur = append(p.cur, j)
	if len(p.cur) < pipeBatchKeys && off-p.start < pipeBatchBytes {
		return nil
	}
	if p.stop.Load() {
		return errPipeStopped
	}
	p.work <- p.cur
	select {
	case b := <-p.free:
		p.cur = b
	default:
		p.cur = make([]digestJob, 0, pipeBatchKeys)
	}
	return nil
}

// run hashes batches with h until the work channel is closed. After an
// error it keeps draining, so the decoder never blocks on a full channel.
func (p *hashPipe) run(h *keyHasher) {
	defer p.wg.Done()
	for b := range p.work {
		for i := range b {
			if p.stop.Load() {
				break
			}
			if err := h.key(&b[i]); err != nil {
				p.mu.Lock()
				if p.err == nil {
					p.err, p.errOff = err, b[i].e.Offset
				}
				p.mu.Unlock()
				p.stop.Store(true)
			}
		}
		clear(b) // let the values go
		select {
		case p.free <- b[:0]:
		default:
		}
	}
}

// finish hashes what is still queued (so every key decoded before a
// decoding error gets its PerKey call, as in a sequential run), waits for
// the workers and returns the first error and the offset of its key.
func (p *hashPipe) finish() (errOff int64, err error) {
	if p.work == nil {
		return p.errOff, p.err
	}
	if len(p.cur) > 0 {
		p.work <- p.cur
		p.cur = nil
	}
	close(p.work)
	p.wg.Wait()
	return p.errOff, p.err
}

// fold is Store.Digest's composition: for each non-empty db in ascending
// order mix its index, then xor its keys' digests (xor commutes, so the
// per-db accumulators of every hasher can be folded in at the end).
func (p *hashPipe) fold(res *DigestResult) {
	var f digest
	for db := range NumDBs {
		n := 0
		for _, h := range p.hs {
			n += h.keys[db]
		}
		if n == 0 {
			continue
		}
		var idx [4]byte
		binary.BigEndian.PutUint32(idx[:], uint32(db))
		f.mix(idx[:])
		for _, h := range p.hs {
			f.xorSum((*[20]byte)(&h.acc[db]))
		}
		res.Keys += n
	}
	res.Digest = f
}
