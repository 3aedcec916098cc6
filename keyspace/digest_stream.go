package keyspace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/persistkit/persistkit/format/rdb"
)

// DigestRDBOptions configure [DigestRDB]. The zero value digests every key
// with the newest rules, nothing treated as expired.
type DigestRDBOptions struct {
	// RedisVersion selects the digest rules, as in [DigestOptions].
	RedisVersion string
	// NowMs is the reference time, like [Store.NowMs]: keys whose TTL is
	// before it do not count; 0 means nothing is ever expired.
	NowMs int64
	// DropExpired mirrors [LoadOptions.DropExpired]: keys and hash fields
	// expired at NowMs are dropped as if never loaded (so they take part
	// in neither the digest nor, as a first occurrence, the duplicate-key
	// test; like LoadRDB, a dropped key that repeats a loaded one is still
	// a duplicate).
	DropExpired bool
	// PerKey, when set, receives DEBUG DIGEST-VALUE of every key that
	// contributes to the digest, in file order, one call at a time, on
	// the caller's goroutine unless Workers is above 1 (then on one
	// goroutine DigestRDB started). key is valid only during the call. A
	// non-nil error stops DigestRDB and is returned.
	PerKey func(db int, key []byte, digest [20]byte) error
	// Workers is how many goroutines compute the per-key SHA-1 digests,
	// which dominate on files of collections. 0 or 1: everything runs on
	// the caller's goroutine and DigestRDB starts no goroutine. N > 1: N
	// hashing goroutines (one if PerKey is set, to keep file order) take
	// batches of decoded keys while the caller's goroutine decodes, at
	// most a few batches (a few MiB of input) ahead; DigestRDB returns
	// after they finished. runtime.GOMAXPROCS(0) suits a command that has
	// nothing else to run. With N > 1 the decoder also computes the
	// CRC-64 on a goroutine of its own (rdb.DecodeOptions.ConcurrentCRC).
	// Results and errors are those of Workers 0.
	Workers int
	// ReaderAt, when set, reads the input again at random offsets: offset
	// 0 is the first byte of r, as for an *os.File opened on the same
	// regular file (ReadAt does not move r's position). The duplicate-key
	// test reads two keys back through it when their seeded 64-bit hashes
	// are equal, to compare them. Without it (a pipe), equal 64-bit
	// hashes count as a duplicate key: a false report needs a collision,
	// about n²/2^65 for n keys (3e-6 for 10 million), and a duplicate
	// found at the end (past the key set's memory budget) is reported
	// without the key's name.
	ReaderAt io.ReaderAt
	// Progress, when set, is called with the input offset now and then and
	// once at the end.
	Progress func(offset int64)
	// Deep enables the decoder's deep validation.
	Deep bool
	// Warn receives non-fatal problems.
	Warn func(error)
	// Limits bound the decoder's allocations; zero means rdb.DefaultLimits.
	Limits rdb.Limits

	keySetBudget int // KeySetOptions.MemoryBudget; tests make it small
}

// DigestResult is what [DigestRDB] computed.
type DigestResult struct {
	// Digest is DEBUG DIGEST of the keyspace the file holds.
	Digest [20]byte
	// Keys is the number of keys that contributed.
	Keys int
	// DBs describes each db as a [Store] loaded with the same options would
	// hold it, so keys expired at NowMs but kept (DropExpired off) count
	// here though not in Keys.
	DBs [NumDBs]DigestDBStats
	// Aux holds the AUX fields in file order, as [LoadRDB] sets [Store.Aux].
	Aux []*rdb.Aux
}

// DigestDBStats counts the keys of one db.
type DigestDBStats struct {
	Keys    int // keys held
	Expires int // keys with a TTL
	// Kinds counts the keys per type, indexed by [rdb.Kind].
	Kinds [rdb.KindStream + 1]int
}

// DigestRDB computes DEBUG DIGEST of an RDB stream while decoding it, entry
// by entry, without building a [Store]: it gives the same result and the same
// errors as [LoadRDB] into New(opt.NowMs) followed by [Store.Digest].
//
// DEBUG DIGEST xors per-key digests within each db, so one 20-byte
// accumulator per db is enough. Memory is bounded by the largest value plus
// the duplicate-key test LoadRDB does, a [KeySet] with its default budget
// ([DefaultKeySetBudget]) whatever the number of keys: past it, the keys
// go to a temporary file in [os.TempDir] (16 bytes per key), and duplicates
// among them are found once the whole file has been read. Errors stay those
// of a sequential run either way: the first in file order wins, so a
// duplicate found at the end beats a decoding error found after it (PerKey
// may then have been called for keys after the duplicate).
//
// Unless opt.Workers asks for more, everything runs on the caller's
// goroutine and DigestRDB starts none; see [DigestRDBOptions.Workers]. It
// does not close r.
func DigestRDB(ctx context.Context, r io.Reader, opt *DigestRDBOptions) (*DigestResult, error) {
	workers := 0
	if opt != nil && opt.Workers > 1 {
		workers = opt.Workers
		if opt.PerKey != nil {
			workers = 1 // PerKey calls in file order
		}
	}
	return digestRDB(ctx, r, opt, workers)
}

// digestRDB is DigestRDB with the hashing on that many goroutines (0: on
// this one).
func digestRDB(ctx context.Context, r io.Reader, opt *DigestRDBOptions, workers int) (*DigestResult, error) {
	if opt == nil {
		opt = &DigestRDBOptions{}
	}
	drop := opt.DropExpired && opt.NowMs != 0
	sc := &digestScan{
		opt:  opt,
		drop: drop,
		// With workers to spare, the CRC-64 goes to a goroutine too.
		dec: rdb.NewDecoder(r, &rdb.DecodeOptions{Limits: opt.Limits, Deep: opt.Deep, Warn: opt.Warn,
			ConcurrentCRC: opt.Workers > 1}),
		res: &DigestResult{},
	}
	defer sc.dec.Close() // stops the CRC goroutine if the scan stopped early
	kopt := &KeySetOptions{MemoryBudget: opt.keySetBudget, Duplicate: sc.duplicate}
	if opt.ReaderAt != nil {
		// sc.rr is made at the first key, once the AUX fields that
		// decide the flavour have been read.
		kopt.KeyAt = func(off int64, buf []byte) ([]byte, error) { return sc.rr.KeyAt(off, buf) }
	}
	sc.keys = NewKeySet(kopt)
	defer sc.keys.Close()
	rules := DigestOptions{RedisVersion: opt.RedisVersion}.rules()
	sc.pipe = newHashPipe(func() *keyHasher {
		return &keyHasher{r: rules, nowMs: opt.NowMs, drop: drop, unique: opt.Deep, perKey: opt.PerKey}
	}, workers)
	err := sc.scan(ctx)
	// The hashing goroutines only fail on keys decoded before whatever
	// stopped the scan, so their error comes first, unless a duplicate
	// the key set finds at Finish is before their key.
	errOff := int64(math.MaxInt64)
	if off, perr := sc.pipe.finish(); perr != nil {
		err, errOff = perr, off
	}
	if sc.keyErr == nil && (err == nil || ctx.Err() == nil) {
		// The key set either found every duplicate among the keys
		// added so far at once, or it spilled and finds them now.
		// Either way they are before errOff or whatever stopped the
		// scan (which was at or after the last key added; a
		// duplicate at the same offset, found before the value was
		// read, comes first as in LoadRDB). Once ctx is done, an
		// error is not worth the wait.
		if ferr := sc.keys.Finish(); ferr != nil {
			var fe *rdb.FormatError
			if err == nil || errors.As(ferr, &fe) && errors.Is(ferr, ErrDuplicate) && fe.Offset <= errOff {
				err = ferr
			}
		}
	}
	if err != nil {
		return nil, err
	}
	if opt.Progress != nil {
		opt.Progress(sc.dec.Offset())
	}
	sc.pipe.fold(sc.res)
	return sc.res, nil
}

// digestScan is the decoding side of DigestRDB: it does LoadRDB's checks
// and hands the keys that count to a [hashPipe].
type digestScan struct {
	opt    *DigestRDBOptions
	drop   bool
	dec    *rdb.Decoder
	keys   *KeySet
	keyErr error         // the first error a KeySet method returned
	rr     *RDBKeyReader // reads keys back for keys' KeyAt
	pipe   *hashPipe
	res    *DigestResult

	ds  distinctSet // for hashes with expired fields
	idx []int
}

func (sc *digestScan) scan(ctx context.Context) error {
	functions := map[string]struct{}{}
	for n := 0; ; n++ {
		if n%progressEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if sc.opt.Progress != nil && n > 0 {
				sc.opt.Progress(sc.dec.Offset())
			}
		}
		rec, err := sc.dec.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		// The same checks as LoadRDB; AUX and module aux data do not
		// affect the digest.
		switch rec := rec.(type) {
		case *rdb.Aux:
			sc.res.Aux = append(sc.res.Aux, rec)
		case *rdb.Function:
			name, err := FunctionLibraryName(rec.Code)
			if err != nil {
				return &rdb.FormatError{Offset: rec.Offset, Context: "function library", Err: err}
			}
			if _, dup := functions[name]; dup {
				return &rdb.FormatError{Offset: rec.Offset, Context: "function library " + name,
					Err: fmt.Errorf("%w: %w library", rdb.ErrCorrupt, ErrDuplicate)}
			}
			functions[name] = struct{}{}
		case *rdb.ResizeDB:
			// Room for the keys announced, or a spill right away if
			// they cannot fit the budget.
			if err := sc.keyset(sc.keys.Reserve(rec.DBSize)); err != nil {
				return err
			}
		case *rdb.SelectDB:
			if rec.DB >= NumDBs {
				return &rdb.FormatError{Offset: rec.Offset, Context: "select db",
					Err: fmt.Errorf("%w: db %d out of range (databases %d)", rdb.ErrUnsupported, rec.DB, NumDBs)}
			}
		case *rdb.Entry:
			if err := sc.entry(rec); err != nil {
				return err
			}
		}
	}
}

// entry is loadEntry: it decodes the value, decides whether the key is
// loaded, and queues its digest if it counts.
//
// The duplicate-key test comes before the value, as in LoadRDB: a key
// that is loaded for sure once its value decodes (a string not dropped as
// expired; strings are never empty) is added to the key set now; any
// other key is probed now and added once it turns out to be loaded (keys
// that are dropped must not make a later one a duplicate). Flush tests it
// at once, while the set holds its keys in memory.
func (sc *digestScan) entry(e *rdb.Entry) error {
	if e.DB >= NumDBs {
		return &rdb.FormatError{Offset: e.Offset, Key: e.Key, Context: "key",
			Err: fmt.Errorf("%w: db %d out of range (databases %d)", rdb.ErrUnsupported, e.DB, NumDBs)}
	}
	if sc.rr == nil && sc.opt.ReaderAt != nil {
		fl, _ := sc.dec.Flavour()
		sc.rr = NewRDBKeyReader(sc.opt.ReaderAt, fl)
	}
	db := int(e.DB)
	hasTTL := e.ExpireAtMs >= 0
	expired := sc.opt.NowMs != 0 && hasTTL && e.ExpireAtMs < sc.opt.NowMs
	dropped := sc.drop && expired
	added := e.Kind == rdb.KindString && !dropped
	var err error
	if added {
		err = sc.keys.Add(e.DB, e.Key, e.Offset)
	} else {
		err = sc.keys.Probe(e.DB, e.Key, e.Offset)
	}
	if err == nil {
		err = sc.keys.Flush()
	}
	if err := sc.keyset(err); err != nil {
		return err
	}
	v, err := sc.dec.Value()
	if err != nil {
		return err
	}
	// Streams, modules and anything unexpected go through the Object path
	// (no copying involved), which also yields LoadRDB's error.
	var o *Object
	kind := v.Kind()
	switch v.(type) {
	case *rdb.String, *rdb.List, *rdb.Set, *rdb.ZSet, *rdb.Hash:
	default:
		if o, err = ObjectFromValue(v); err != nil {
			return &rdb.FormatError{Offset: e.Offset, Key: e.Key, Context: "value", Err: err}
		}
		o.ExpireAtMs = e.ExpireAtMs
		o.Encoding = e.Encoding
		kind = o.Kind
	}
	if dropped {
		return nil
	}
	if o == nil && sc.empty(v) {
		return nil // empty collection: skipped by the loader
	}
	if !added {
		// Tested by the probe; the next Flush puts it in the table.
		if err := sc.keyset(sc.keys.Add(e.DB, e.Key, e.Offset)); err != nil {
			return err
		}
	}
	st := &sc.res.DBs[db]
	st.Keys++
	if hasTTL {
		st.Expires++
	}
	if int(kind) < len(st.Kinds) {
		st.Kinds[kind]++
	}
	if expired {
		return nil // loaded, but Store.Digest leaves it out
	}
	return sc.pipe.add(digestJob{e: e, v: v, o: o}, sc.dec.Offset())
}

// keyset notes the first error of a KeySet method and returns err.
func (sc *digestScan) keyset(err error) error {
	if err != nil && sc.keyErr == nil {
		sc.keyErr = err
	}
	return err
}

// duplicate is the key set's Duplicate callback: LoadRDB's error about the
// later occurrence, which stops the set and DigestRDB.
func (sc *digestScan) duplicate(d *Duplicate) error {
	ctx := "key"
	if d.Key == nil {
		// Found at Finish without a ReaderAt: only the hashes are known.
		ctx = fmt.Sprintf("key with the 64-bit hash of the key at offset %d", d.First)
	}
	return &rdb.FormatError{Offset: d.Offset, Key: bytes.Clone(d.Key), Context: ctx,
		Err: fmt.Errorf("%w: %w key", rdb.ErrCorrupt, ErrDuplicate)}
}

// empty says whether the loader skips v as an empty collection, after
// dropping expired hash fields.
func (sc *digestScan) empty(v rdb.Value) bool {
	h, ok := v.(*rdb.Hash)
	if !ok || !sc.drop || !slices.ContainsFunc(h.Fields, sc.fieldExpired) {
		return rdb.IsEmpty(v)
	}
	// Exactly as the Store: the last of repeated fields is the one kept,
	// and then dropped if expired.
	sc.idx = sc.ds.last(sc.idx[:0], len(h.Fields), func(i int) []byte { return h.Fields[i].Field })
	for _, i := range sc.idx {
		if !sc.fieldExpired(h.Fields[i]) {
			return false
		}
	}
	return true
}

// fieldExpired says whether a hash field's TTL passed before NowMs
// (Redis 7.4+ drops such fields at load time).
func (sc *digestScan) fieldExpired(f rdb.HashField) bool {
	return f.ExpireAtMs != 0 && f.ExpireAtMs < sc.opt.NowMs
}
