package main

import (
	"context"
	"errors"
	"io"
	"strconv"

	"github.com/persistkit/persistkit/format/rdb"
)

// This file runs dump and convert --to aof as two stages: a goroutine
// decodes records and copies each key and its elements into a batch, and
// the caller's goroutine formats the batches through a dumpSink. The
// decoder reuses its Entry and element buffers (ReuseEntry, Elements), so
// nothing is allocated per key or per element; what crosses goroutines is
// only the batches, which own copies of everything they hold and are
// recycled. Memory stays bounded by a few batches plus the largest value.

const (
	pipeBatches    = 4         // batches in rotation (bounds memory and read-ahead)
	pipeBatchBytes = 256 << 10 // a batch is handed over once its arena holds this much
	pipeBatchItems = 2048      // ... or this many records
	pipeBatchElems = 8192      // ... or this many collection elements
	pipeChunk      = 256 << 10 // arena chunk size
)

// pipeItem is one record of a batch: a non-key record (rec), or a key.
type pipeItem struct {
	rec rdb.Record // a non-key record (owned by the item), or nil for a key
	e   rdb.Entry  // the key; Key points into the batch arena
	v   rdb.Value  // a materialised value (streams, modules), or nil
	str []byte     // a string value, in the arena
	// lo, hi is the element range in the batch's strs, zms or hfs (by
	// e.Kind), or ints for an intset.
	lo, hi int
	has    bool // the value was read; false: the sink gets a nil value
	ints   bool // an intset: its members are in ints, as numbers
	// deferred: a listpack, ziplist or zipmap value read as one blob (in
	// the arena), walked by the formatting stage
	deferred bool
	blob     rdb.Blob
}

// pipeBatch is a unit of hand-over between the stages.
type pipeBatch struct {
	items []pipeItem
	strs  [][]byte // list and set elements
	zms   []rdb.ZMember
	hfs   []rdb.HashField
	// intset members, rendered as text by the formatting stage: a quarter
	// of a typical file's elements, and rendering them was the largest
	// single cost of the decoding stage
	ints  []int64
	arena pipeArena
	err   error // on the last batch: the decoding error (nil at the end of the file)
	last  bool
}

func (b *pipeBatch) full() bool {
	return len(b.items) >= pipeBatchItems || b.arena.used >= pipeBatchBytes ||
		len(b.strs)+len(b.zms)+len(b.hfs)+len(b.ints) >= pipeBatchElems
}

func (b *pipeBatch) reset() {
	clear(b.items) // drop references to records and materialised values
	b.items = b.items[:0]
	b.strs = b.strs[:0]
	b.zms = b.zms[:0]
	b.hfs = b.hfs[:0]
	b.ints = b.ints[:0]
	b.arena.reset()
	b.err, b.last = nil, false
}

// pipeArena holds copies of byte strings in chunks that never move, so the
// slices it hands out stay valid until reset.
type pipeArena struct {
	chunks [][]byte // chunks[:cur+1] in use; later ones are spare
	cur    int
	buf    []byte // chunks[cur][:used part]
	used   int    // bytes handed out since reset
}

// arenaMark is a position to rewind an arena to.
type arenaMark struct{ cur, n, used int }

// alloc hands out n bytes for the decoder to fill (rdb.Decoder.ElementsIn).
func (a *pipeArena) alloc(n int) []byte {
	if n > cap(a.buf)-len(a.buf) {
		a.next(n)
	}
	k := len(a.buf)
	a.buf = a.buf[:k+n]
	a.used += n
	return a.buf[k : k+n : k+n]
}

func (a *pipeArena) copy(b []byte) []byte {
	if len(b) > cap(a.buf)-len(a.buf) {
		a.next(len(b))
	}
	n := len(a.buf)
	a.buf = append(a.buf, b...)
	a.used += len(b)
	return a.buf[n:len(a.buf):len(a.buf)]
}

// next moves to a chunk with room for n bytes: the next spare chunk, or a
// new one (chunk-sized, or exactly n for a large string).
func (a *pipeArena) next(n int) {
	if len(a.chunks) > 0 {
		a.chunks[a.cur] = a.buf
		a.cur++
	}
	for a.cur < len(a.chunks) && cap(a.chunks[a.cur]) < n {
		a.cur++ // a spare chunk too small for this string: skip it
	}
	if a.cur == len(a.chunks) {
		a.chunks = append(a.chunks, make([]byte, 0, max(n, pipeChunk)))
	}
	a.buf = a.chunks[a.cur][:0]
}

func (a *pipeArena) mark() arenaMark { return arenaMark{a.cur, len(a.buf), a.used} }

func (a *pipeArena) rewind(m arenaMark) {
	if len(a.chunks) == 0 {
		return
	}
	a.chunks[a.cur] = a.buf
	a.cur, a.used = m.cur, m.used
	a.buf = a.chunks[a.cur][:m.n]
}

// reset empties the arena. Chunks larger than the standard size (made for
// one large string) are dropped, so a single huge value is not kept alive.
func (a *pipeArena) reset() {
	keep := a.chunks[:0]
	for _, c := range a.chunks {
		if cap(c) <= pipeChunk {
			keep = append(keep, c[:0])
		}
	}
	clear(a.chunks[len(keep):])
	a.chunks = keep
	a.cur, a.used, a.buf = 0, 0, nil
	if len(a.chunks) > 0 {
		a.buf = a.chunks[0]
	}
}

// pipeConfig says what the decoding stage passes on.
type pipeConfig struct {
	filt *dumpFilter
	// needValue: read every key's value (else only hashes, when dead
	// fields must be dropped, and keys under a size filter).
	needValue bool
	// ctimeCutoff: drop hash fields that were dead when the file was saved
	// (per its ctime AUX field).
	ctimeCutoff bool
	progress    func()
}

// pipeDecoder is the decoding stage.
type pipeDecoder struct {
	dec *rdb.Decoder
	cfg pipeConfig
	b   *pipeBatch // batch being filled
	// element callbacks and the arena's allocator, bound once (a method
	// value allocates). Elements come from ElementsIn: their bytes are
	// already in the batch's arena, so they are kept without a copy.
	addStrFn, addElemFn, addZMemberFn, addFieldFn func(*rdb.Element) error
	allocFn                                       func(int) []byte
	str                                           []byte
	// inline: the formatting stage is the slower one, so values it could
	// walk or render (deferred blobs, intsets as numbers) are done here.
	inline bool
}

// alloc is the batch arena's allocator (the batch changes between keys).
func (p *pipeDecoder) alloc(n int) []byte { return p.b.arena.alloc(n) }

func (p *pipeDecoder) addStr(el *rdb.Element) error {
	p.str = el.Member
	return nil
}

func (p *pipeDecoder) addElem(el *rdb.Element) error {
	p.b.strs = append(p.b.strs, el.Member)
	return nil
}

func (p *pipeDecoder) addZMember(el *rdb.Element) error {
	p.b.zms = append(p.b.zms, rdb.ZMember{Member: el.Member, Score: el.Score})
	return nil
}

// appendField appends el's field. Not as a composite literal: that was
// built on the stack with 8-byte stores and copied out with 16-byte loads,
// which stall (store forwarding fails); 5% of a dump of mixed.rdb.
func appendField(hfs []rdb.HashField, el *rdb.Element) []rdb.HashField {
	hfs = append(hfs, rdb.HashField{})
	f := &hfs[len(hfs)-1]
	f.Field, f.Value, f.ExpireAtMs = el.Member, el.Value, el.ExpireAtMs
	return hfs
}

func (p *pipeDecoder) addField(el *rdb.Element) error {
	if c := p.cfg.filt.fieldCutoff; c > 0 && el.ExpireAtMs != 0 && el.ExpireAtMs < c {
		// Dead: marked with a negative TTL (the decoder never returns
		// one), dropped once the whole hash is read.
		p.b.hfs = append(p.b.hfs, rdb.HashField{ExpireAtMs: -1})
		return nil
	}
	p.b.hfs = appendField(p.b.hfs, el)
	return nil
}

// runPipeline decodes dec's records on a second goroutine and passes them
// to sink on this one, in file order. It returns the first error: the
// sink's (which stops decoding), else the decoder's. Records decoded before
// a decoding error reach the sink first, so a damaged file still gives a
// partial result. keys counts the keys passed to sink.entry.
func runPipeline(ctx context.Context, dec *rdb.Decoder, cfg pipeConfig, sink dumpSink) (keys int, err error) {
	free := make(chan *pipeBatch, pipeBatches)
	for range pipeBatches {
		free <- new(pipeBatch)
	}
	full := make(chan *pipeBatch, pipeBatches)
	stop := make(chan struct{})
	p := &pipeDecoder{dec: dec, cfg: cfg}
	p.addStrFn, p.addElemFn, p.addZMemberFn, p.addFieldFn = p.addStr, p.addElem, p.addZMember, p.addField
	p.allocFn = p.alloc
	go p.run(ctx, free, full, stop)

	view := newPipeView()
	for b := range full {
		for i := range b.items {
			it := &b.items[i]
			if it.rec != nil {
				err = sink.record(it.rec)
			} else {
				keys++
				var v rdb.Value
				if v, err = view.value(b, it); err == nil {
					err = sink.entry(&it.e, v)
				}
			}
			if err != nil {
				break
			}
		}
		if err == nil && b.last {
			err = b.err
		}
		if err != nil {
			close(stop)
			for range full { // wait for the decoder to give up
			}
			return keys, err
		}
		b.reset()
		free <- b
	}
	return keys, nil
}

// pipeView lends batch contents to sinks as rdb.Values, reusing one value
// of each kind: sinks use a value only during the call. It walks deferred
// values into elements of its own.
type pipeView struct {
	members [][]byte // an intset's members as text, in digits
	digits  []byte
	s       rdb.String
	l       rdb.List
	t       rdb.Set
	z       rdb.ZSet
	h       rdb.Hash

	walker rdb.BlobWalker
	strs   [][]byte
	zms    []rdb.ZMember
	hfs    []rdb.HashField
	nums   pipeArena // integers of deferred values as text
	// callbacks, bound once
	allocFn                            func(int) []byte
	addStrFn, addZMemberFn, addFieldFn func(*rdb.Element) error
}

func (w *pipeView) value(b *pipeBatch, it *pipeItem) (rdb.Value, error) {
	switch {
	case it.v != nil:
		return it.v, nil
	case !it.has:
		return nil, nil
	case it.deferred:
		return w.walk(it)
	}
	switch it.e.Kind {
	case rdb.KindString:
		w.s.Data = it.str
		return &w.s, nil
	case rdb.KindList:
		w.l.Elems = b.strs[it.lo:it.hi:it.hi]
		return &w.l, nil
	case rdb.KindSet:
		if it.ints {
			w.t.Members = w.intsetText(b.ints[it.lo:it.hi])
		} else {
			w.t.Members = b.strs[it.lo:it.hi:it.hi]
		}
		return &w.t, nil
	case rdb.KindZSet:
		w.z.Members = b.zms[it.lo:it.hi:it.hi]
		return &w.z, nil
	case rdb.KindHash:
		w.h.Fields = b.hfs[it.lo:it.hi:it.hi]
		return &w.h, nil
	}
	return nil, nil
}

// newPipeView returns a view with its callbacks bound.
func newPipeView() *pipeView {
	w := &pipeView{}
	w.allocFn = w.nums.alloc
	w.addStrFn = func(el *rdb.Element) error { w.strs = append(w.strs, el.Member); return nil }
	w.addZMemberFn = func(el *rdb.Element) error {
		w.zms = append(w.zms, rdb.ZMember{Member: el.Member, Score: el.Score})
		return nil
	}
	w.addFieldFn = func(el *rdb.Element) error {
		w.hfs = appendField(w.hfs, el)
		return nil
	}
	return w
}

// walk decodes a deferred value into the view's own elements.
func (w *pipeView) walk(it *pipeItem) (rdb.Value, error) {
	w.nums.reset()
	w.strs, w.zms, w.hfs = w.strs[:0], w.zms[:0], w.hfs[:0]
	switch it.e.Kind {
	case rdb.KindList, rdb.KindSet:
		if err := w.walker.Walk(&it.blob, it.e.Key, w.allocFn, w.addStrFn); err != nil {
			return nil, err
		}
		if it.e.Kind == rdb.KindList {
			w.l.Elems = w.strs
			return &w.l, nil
		}
		w.t.Members = w.strs
		return &w.t, nil
	case rdb.KindZSet:
		if err := w.walker.Walk(&it.blob, it.e.Key, w.allocFn, w.addZMemberFn); err != nil {
			return nil, err
		}
		w.z.Members = w.zms
		return &w.z, nil
	}
	if err := w.walker.Walk(&it.blob, it.e.Key, w.allocFn, w.addFieldFn); err != nil {
		return nil, err
	}
	w.h.Fields = w.hfs
	return &w.h, nil
}

// intsetText renders ints as text in the view's reused buffers.
func (w *pipeView) intsetText(ints []int64) [][]byte {
	if need := 20 * len(ints); cap(w.digits) < need { // 20: the longest int64
		w.digits = make([]byte, 0, need)
	}
	w.digits = w.digits[:0]
	w.members = w.members[:0]
	for _, v := range ints {
		n := len(w.digits)
		w.digits = rdb.AppendInt(w.digits, v) // never reallocates
		w.members = append(w.members, w.digits[n:len(w.digits):len(w.digits)])
	}
	return w.members
}

// run is the decoding stage. It closes full when it returns.
func (p *pipeDecoder) run(ctx context.Context, free <-chan *pipeBatch, full chan<- *pipeBatch, stop <-chan struct{}) {
	defer close(full)
	select {
	case p.b = <-free:
	case <-stop:
		return
	}
	p.inline = pipeInline(0)
	err := p.decode(ctx, free, full, stop)
	if err == errPipeStopped {
		return
	}
	p.b.last, p.b.err = true, err
	select {
	case full <- p.b:
	case <-stop:
	}
}

// pipeInline decides, as a batch is handed over with queued others still
// waiting for the formatting stage, whether the next batch walks compact
// values itself (a variable: tests force either way).
var pipeInline = func(queued int) bool { return queued > 0 }

// errPipeStopped: the formatting stage failed and asked decoding to stop.
var errPipeStopped = errors.New("pipeline stopped")

// decode fills batches until the end of the file (nil) or an error.
func (p *pipeDecoder) decode(ctx context.Context, free <-chan *pipeBatch, full chan<- *pipeBatch, stop <-chan struct{}) error {
	dec, filt := p.dec, p.cfg.filt
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if p.cfg.progress != nil {
				p.cfg.progress()
			}
		}
		if p.b.full() {
			// A batch still queued means the formatting stage is behind:
			// the next batch walks its compact values here instead of
			// leaving them to it (see canDefer).
			p.inline = pipeInline(len(full))
			select {
			case full <- p.b:
			case <-stop:
				return errPipeStopped
			}
			select {
			case p.b = <-free:
			case <-stop:
				return errPipeStopped
			}
		}
		rec, err := dec.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		e, ok := rec.(*rdb.Entry)
		if !ok {
			if a, isAux := rec.(*rdb.Aux); isAux && p.cfg.ctimeCutoff && string(a.Key) == "ctime" {
				// ctime has second resolution and the save happened within
				// that second: fields expired before its end were dead.
				if sec, err := strconv.ParseInt(string(a.Value), 10, 64); err == nil && sec > 0 && sec < 1<<40 {
					filt.fieldCutoff = max(filt.fieldCutoff, (sec+1)*1000)
				}
			}
			if !filt.any() {
				p.b.items = append(p.b.items, pipeItem{rec: rec})
			}
			continue
		}
		if !filt.matchEntry(e) {
			continue
		}
		if err := p.entry(e); err != nil {
			return err
		}
	}
}

// entry copies a key (and its value when needed) into the batch, or
// leaves it out (dead hash, size filter).
func (p *pipeDecoder) entry(e *rdb.Entry) error {
	b, filt := p.b, p.cfg.filt
	m := b.arena.mark()
	b.items = append(b.items, pipeItem{e: *e})
	it := &b.items[len(b.items)-1]
	it.e.Key = b.arena.copy(e.Key)
	// Hashes may have dead fields, or be dead altogether.
	if !p.cfg.needValue && !(e.Kind == rdb.KindHash && filt.fieldCutoff > 0) {
		return nil
	}
	it.has = true
	if p.canDefer(e) {
		ok, err := p.dec.Defer(p.allocFn, &it.blob)
		if err != nil {
			b.drop(it, m)
			return err
		}
		if ok {
			it.deferred = true
			return nil
		}
	}
	var size int64
	var err error
	switch e.Kind {
	case rdb.KindString:
		if err = p.dec.ElementsIn(p.allocFn, p.addStrFn); err == nil {
			it.str, p.str = p.str, nil
			size = int64(len(it.str))
		}
	case rdb.KindSet:
		if e.Encoding != rdb.EncIntset || p.inline {
			err = p.strElems(it, &size)
			break
		}
		it.ints, it.lo = true, len(b.ints)
		if b.ints, err = p.dec.AppendIntset(b.ints); err == nil {
			it.hi = len(b.ints)
			if filt.needsSize() {
				var buf [20]byte
				for _, v := range b.ints[it.lo:] {
					size += int64(len(rdb.AppendInt(buf[:0], v)))
				}
			}
		}
	case rdb.KindList:
		err = p.strElems(it, &size)
	case rdb.KindZSet:
		it.lo = len(b.zms)
		if err = p.dec.ElementsIn(p.allocFn, p.addZMemberFn); err == nil {
			it.hi = len(b.zms)
			for _, z := range b.zms[it.lo:] {
				size += int64(len(z.Member)) + 8
			}
		}
	case rdb.KindHash:
		it.lo = len(b.hfs)
		if err = p.dec.ElementsIn(p.allocFn, p.addFieldFn); err == nil {
			// Drop the dead fields addField marked.
			live, dead := it.lo, 0
			for i := it.lo; i < len(b.hfs); i++ {
				f := &b.hfs[i]
				if f.ExpireAtMs < 0 {
					dead++
					continue
				}
				if live != i {
					b.hfs[live] = *f
				}
				live++
				size += int64(len(f.Field) + len(f.Value))
			}
			b.hfs = b.hfs[:live]
			it.hi = live
			if dead > 0 && live == it.lo {
				b.drop(it, m) // Redis skips empty hashes on load
				return nil
			}
		}
	default: // streams, modules
		if it.v, err = p.dec.Value(); err == nil {
			size = valueSize(it.v)
		}
	}
	if err != nil {
		b.drop(it, m) // the partial value is not shown
		return err
	}
	if filt.needsSize() && !filt.matchSize(size) {
		b.drop(it, m)
	}
	return nil
}

// canDefer reports whether e's value may be left to the formatting stage
// to walk (rdb.Decoder.Defer): not when that stage is behind, nor when
// its size decides whether it is shown, nor for a hash whose fields may
// have expired before the save.
func (p *pipeDecoder) canDefer(e *rdb.Entry) bool {
	switch {
	case p.inline || p.cfg.filt.needsSize():
		return false
	case e.Encoding == rdb.EncIntset: // AppendIntset does better
		return false
	case e.Kind == rdb.KindHash && e.Encoding == rdb.EncListpackEx && p.cfg.filt.fieldCutoff > 0:
		return false
	}
	return true
}

// strElems reads a list or set value into the batch's strs, adding the
// members' length to size.
func (p *pipeDecoder) strElems(it *pipeItem, size *int64) error {
	b := p.b
	it.lo = len(b.strs)
	if err := p.dec.ElementsIn(p.allocFn, p.addElemFn); err != nil {
		return err
	}
	it.hi = len(b.strs)
	for _, s := range b.strs[it.lo:] {
		*size += int64(len(s))
	}
	return nil
}

// drop removes the last key, it, from the batch: the item, its elements
// and the arena space used since m.
func (b *pipeBatch) drop(it *pipeItem, m arenaMark) {
	switch {
	case it.ints:
		b.ints = b.ints[:it.lo]
	case it.e.Kind == rdb.KindList, it.e.Kind == rdb.KindSet:
		b.strs = b.strs[:it.lo]
	case it.e.Kind == rdb.KindZSet:
		b.zms = b.zms[:it.lo]
	case it.e.Kind == rdb.KindHash:
		b.hfs = b.hfs[:it.lo]
	}
	b.arena.rewind(m)
	*it = pipeItem{}
	b.items = b.items[:len(b.items)-1]
}

const (
	outBufFlush = 1 << 20 // outBuf writes once it holds this much
	outBufMax   = 4 << 20 // ... and shrinks back after a value made it larger
	outBufCap   = 1<<20 + 64<<10
)

// outBuf is the output buffer sinks append to directly (no copy through a
// bufio.Writer): one write per MiB. Write errors are sticky.
type outBuf struct {
	w   io.Writer
	buf []byte
	err error
}

func newOutBuf(w io.Writer) *outBuf {
	return &outBuf{w: w, buf: make([]byte, 0, outBufCap)}
}

// check writes the buffer out once it is full; it returns the sticky
// write error.
func (o *outBuf) check() error {
	if len(o.buf) >= outBufFlush {
		return o.flush()
	}
	return o.err
}

// flush writes out everything buffered.
func (o *outBuf) flush() error {
	if o.err == nil && len(o.buf) > 0 {
		_, o.err = o.w.Write(o.buf)
	}
	if cap(o.buf) > outBufMax {
		o.buf = make([]byte, 0, outBufCap)
	}
	o.buf = o.buf[:0]
	return o.err
}

// Write appends p (for writers layered on top, like csv.Writer).
func (o *outBuf) Write(p []byte) (int, error) {
	o.buf = append(o.buf, p...)
	if err := o.check(); err != nil {
		return 0, err
	}
	return len(p), nil
}
