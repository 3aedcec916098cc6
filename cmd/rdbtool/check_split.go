package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/persistkit/persistkit/format/rdb"
	"github.com/persistkit/persistkit/internal/cli"
)

// The split check, for a file that can be read at random offsets. Checking
// a file of collections is bound by validating values (walking listpacks,
// testing members for duplicates), which the sequential check does on one
// goroutine while the other cores idle. Here a framing goroutine reads the
// records and only the lengths that delimit each collection
// (Decoder.SkipValue), checkers on other cores read those values again from
// the file in batches (one pread a batch) and validate them with
// rdb.ValueDecoders, and the caller's goroutine takes the batches in file
// order and handles each record as runSequential would: the report is the
// same, problem for problem (TestSplitCheckMatchesSequential).
//
// Only values in compact encodings (listpacks, ziplists, intsets,
// quicklists, streams) go to the checkers: the framer skips them with a
// length or a few, while validating them means walking every entry. The
// framer validates the others itself: a string needs its length only, and
// finding the end of a hashtable-encoded value means reading every member,
// which is most of validating it. (Mapping the file for the checkers
// instead of a pread per batch was slower: 1.95 vs 1.59 s for the 1 GB
// mixed.rdb, page faults costing more than the copy on the bench VM.)

const (
	splitBatches = 3 // batches in rotation (bounds memory)
	// splitCheckers is the most checkers: with 3 batches no more than
	// two are validated at once, and on the 1 GB mixed.rdb two checkers
	// already outpace the framer (0.7 s each against its 0.85 s), so more
	// cores would leave more checkers idle, not the check faster.
	splitCheckers = 2
)

// Variables for tests, which make batches of a few records.
var (
	splitBatchSpan int64 = 256 << 10 // a batch is handed over once its values span this much of the file
	splitBatchRecs       = 2048      // ... or it holds this many records
	splitBatchKeys       = 256 << 10 // ... or this many bytes of key names
	// A larger value is not read into its batch: its checker streams it
	// from the file through the decoder's own buffer.
	splitBigValue int64 = 1 << 20
)

// splitRecord is a record of a batch, with where its value lies.
type splitRecord struct {
	checkRecord
	start, stop  int64 // the value's file offsets (stop: where framing ended it; -1 if it failed)
	keyLo, keyHi int   // the key name in the batch's keys
	keyNil       bool  // the key was nil (a raw empty key), not empty
	check        bool  // a checker validates the value
	big          bool  // ... streaming it from the file
}

// splitBatch is a unit of hand-over between the framer, the checkers and
// the caller.
type splitBatch struct {
	recs    []splitRecord
	keys    []byte
	lo, hi  int64 // the file bytes read for the values checked in memory (lo < 0: none)
	data    []byte
	end     error // after the records: how decoding ended (nil: it goes on)
	endOff  int64
	flavour rdb.Flavour
	readErr error         // a checker could not read the file
	done    chan struct{} // closed once the checker is done
}

func (b *splitBatch) reset() {
	clear(b.recs) // drop references to records and errors
	b.recs, b.keys = b.recs[:0], b.keys[:0]
	if cap(b.keys) > 4*splitBatchKeys {
		b.keys = nil // after a huge key name, do not keep its room
	}
	b.lo, b.hi = -1, 0
	b.end, b.readErr = nil, nil
}

func (b *splitBatch) add() *splitRecord {
	b.recs = append(b.recs, splitRecord{})
	return &b.recs[len(b.recs)-1]
}

func (b *splitBatch) full() bool {
	return len(b.recs) >= splitBatchRecs || len(b.keys) >= splitBatchKeys || (b.lo >= 0 && b.hi-b.lo >= splitBatchSpan)
}

// runSplit is runSequential with values validated on other goroutines.
func (c *checker) runSplit(ctx context.Context, dec *rdb.Decoder, p cli.Progress, size int64) (error, int64, error) {
	quit := make(chan struct{})
	// Every channel has room for every batch: only taking a free batch
	// ever blocks the framer.
	free := make(chan *splitBatch, splitBatches)
	work := make(chan *splitBatch, splitBatches)
	ordered := make(chan *splitBatch, splitBatches)
	for range splitBatches {
		b := &splitBatch{}
		b.reset()
		free <- b
	}
	warn := c.warn // the framer redirects the decoder's warnings
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), splitCheckers) {
		wg.Go(func() { splitChecker(c.ra, work) })
	}
	wg.Go(func() {
		defer close(work)
		c.frame(ctx, dec, p, size, free, work, ordered, quit)
	})
	// The decoder and the report are the caller's again once all have
	// stopped (a checker finishes its batch first).
	defer func() {
		close(quit)
		wg.Wait()
		c.warn = warn
	}()
	for {
		b := <-ordered
		<-b.done
		if b.readErr != nil {
			return nil, 0, b.readErr
		}
		for i := range b.recs {
			if stop, err := c.record(&b.recs[i].checkRecord, b.flavour); err != nil || stop {
				return nil, 0, err
			}
		}
		if b.end != nil {
			if b.end == ctx.Err() {
				return nil, 0, b.end
			}
			return b.end, b.endOff, nil
		}
		b.reset()
		free <- b
	}
}

// frame reads the records into batches, in file order, until decoding
// ends or quit is closed.
func (c *checker) frame(ctx context.Context, dec *rdb.Decoder, p cli.Progress, size int64,
	free <-chan *splitBatch, work, ordered chan<- *splitBatch, quit <-chan struct{}) {
	var b *splitBatch
	take := func() bool {
		select {
		case b = <-free:
			return true
		case <-quit:
			return false
		}
	}
	send := func() {
		b.flavour, _ = dec.Flavour()
		for i := range b.recs {
			r := &b.recs[i]
			if r.rec != nil || r.warn != nil {
				continue
			}
			switch {
			case r.keyNil:
				r.e.Key = nil
			case r.keyLo == r.keyHi:
				r.e.Key = []byte{}
			default:
				r.e.Key = b.keys[r.keyLo:r.keyHi:r.keyHi]
			}
		}
		b.done = make(chan struct{})
		work <- b
		ordered <- b
	}
	// Warnings come during Next, before the record that raised them.
	c.warn = func(err error) { b.add().warn = err }
	if !take() {
		return
	}
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				b.end = err
				send()
				return
			}
			p.Update(dec.Offset(), size)
		}
		rec, err := dec.Next()
		if err != nil {
			b.end, b.endOff = err, dec.Offset()
			send()
			return
		}
		e, ok := rec.(*rdb.Entry)
		worth := ok && splitWorth(e)
		if worth && b.lo >= 0 && dec.Offset()-b.hi > splitBatchSpan {
			// Far past the batch's values (a large string or hashtable
			// value came between): a new batch, or the checker would read
			// everything between.
			send()
			if !take() {
				return
			}
		}
		r := b.add()
		r.off = dec.Offset()
		if !ok {
			r.rec = rec
		} else {
			r.e = *e
			r.keyLo = len(b.keys)
			b.keys = append(b.keys, e.Key...)
			r.keyHi, r.keyNil = len(b.keys), e.Key == nil
			plain := e.Kind == rdb.KindString && e.Encoding != rdb.EncLZF
			if !plain && !worth {
				checkValue(&r.checkRecord, dec)
				if r.err != nil {
					send() // the decoder has failed
					return
				}
			} else {
				// A raw or integer string has nothing to validate but the
				// length that SkipValue reads (a tenth of a check of
				// strings went to reading it through CountElements).
				r.start, r.check = r.off, !plain
				end, serr := dec.SkipValue()
				r.stop = end
				switch {
				case plain && serr == nil:
					r.n = 1
				case serr != nil:
					// The checker reports what the value's own decoding
					// finds, as the sequential check would; the framer's
					// error only if that finds nothing.
					r.check = true
					if b.lo < 0 {
						b.lo, b.hi = r.start, r.start
					}
					r.stop = -1
					b.end, b.endOff = serr, dec.Offset()
					send()
					return
				case end-r.start > splitBigValue:
					r.big = true
				default:
					if b.lo < 0 {
						b.lo = r.start
					}
					b.hi = end
				}
			}
		}
		if b.full() {
			send()
			if !take() {
				return
			}
		}
	}
}

// splitWorth reports whether e's value is worth handing to a checker.
func splitWorth(e *rdb.Entry) bool {
	switch e.Encoding {
	case rdb.EncZipmap, rdb.EncZiplist, rdb.EncIntset, rdb.EncQuicklist, rdb.EncListpack, rdb.EncQuicklist2,
		rdb.EncStream, rdb.EncListpackEx:
		return true
	}
	return false
}

// splitChecker validates the values of the batches it is given.
func splitChecker(ra io.ReaderAt, work <-chan *splitBatch) {
	vd := rdb.NewValueDecoder(&rdb.DecodeOptions{Deep: true})
	tail := &fileTail{ra: ra}
	for b := range work {
		b.check(vd, tail)
		close(b.done)
	}
}

// check reads the batch's values from the file and validates them, up to
// the first that fails (the caller stops there).
func (b *splitBatch) check(vd *rdb.ValueDecoder, tail *fileTail) {
	b.data = b.data[:0]
	if b.lo >= 0 && b.hi > b.lo {
		n := int(b.hi - b.lo)
		splitSpanSeen.store(n)
		if cap(b.data) < n {
			b.data = make([]byte, n)
		}
		k, err := tail.ra.ReadAt(b.data[:n], b.lo)
		if err != nil && err != io.EOF {
			b.readErr = err
			return
		}
		b.data = b.data[:k]
	}
	for i := range b.recs {
		r := &b.recs[i]
		if !r.check {
			continue
		}
		// Past its bytes in memory, a value (a damaged one) reads on from
		// the file, as the sequential check would.
		if at := r.start - b.lo; r.big || at < 0 || at >= int64(len(b.data)) {
			tail.off = r.start
			vd.Reset(&r.e, r.start, nil, tail)
		} else {
			tail.off = b.lo + int64(len(b.data))
			vd.Reset(&r.e, r.start, b.data[at:], tail)
		}
		checkValue(&r.checkRecord, vd)
		if r.err == nil && r.stop >= 0 && vd.Offset() != r.stop {
			// Never seen (FuzzDecoder compares the two), but the records
			// after it would be read from the wrong place.
			r.err = fmt.Errorf("internal error: the value decodes to offset %d but was framed to %d", vd.Offset(), r.stop)
			r.errOff = r.start
		}
		if r.err != nil {
			return
		}
	}
}

// splitSpanSeen is the most bytes a checker read for one batch (tests
// check that it stays bounded).
var splitSpanSeen maxInt

// maxInt keeps the largest value stored in it.
type maxInt struct{ v atomic.Int64 }

func (m *maxInt) store(n int) {
	for {
		old := m.v.Load()
		if int64(n) <= old || m.v.CompareAndSwap(old, int64(n)) {
			return
		}
	}
}

// fileTail reads a file from off on.
type fileTail struct {
	ra  io.ReaderAt
	off int64
}

func (t *fileTail) Read(p []byte) (int, error) {
	n, err := t.ra.ReadAt(p, t.off)
	t.off += int64(n)
	if n > 0 && err == io.EOF {
		err = nil
	}
	return n, err
}
