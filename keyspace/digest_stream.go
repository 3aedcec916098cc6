package keyspace

import (
	"context"
	"fmt"
	"hash/maphash"
	"io"
	"runtime"
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
	// expired at NowMs are dropped as if never read (so they take part in
	// neither the digest nor the duplicate-key test).
	DropExpired bool
	// PerKey, when set, receives DEBUG DIGEST-VALUE of every key that
	// contributes to the digest, in file order, one call at a time but
	// possibly on a goroutine DigestRDB started. key is valid only during
	// the call. A non-nil error stops DigestRDB and is returned.
	PerKey func(db int, key []byte, digest [20]byte) error
	// Progress, when set, is called with the input offset now and then and
	// once at the end.
	Progress func(offset int64)
	// Deep enables the decoder's deep validation.
	Deep bool
	// Warn receives non-fatal problems.
	Warn func(error)
	// Limits bound the decoder's allocations; zero means rdb.DefaultLimits.
	Limits rdb.Limits
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
// accumulator per db is enough. Memory is bounded by the largest value plus,
// for the duplicate-key test LoadRDB does, one 128-bit key hash per loaded
// key (about 20-40 bytes per key in a Go map); see [keySet].
//
// When GOMAXPROCS is above 1 the SHA-1 work, which dominates on files of
// collections, runs on GOMAXPROCS goroutines (one with PerKey, to keep file
// order) while this one decodes; the decoder runs at most a few batches of
// keys (a few MiB of input) ahead. DigestRDB returns after they finished.
// Errors stay those of a sequential run: a PerKey error about a key comes
// before any decoding error found after that key.
func DigestRDB(ctx context.Context, r io.Reader, opt *DigestRDBOptions) (*DigestResult, error) {
	workers := runtime.GOMAXPROCS(0)
	switch {
	case workers == 1:
		workers = 0
	case opt != nil && opt.PerKey != nil:
		workers = 1 // PerKey calls in file order
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
		dec:  rdb.NewDecoder(r, &rdb.DecodeOptions{Limits: opt.Limits, Deep: opt.Deep, Warn: opt.Warn}),
		keys: newKeySet(),
		res:  &DigestResult{},
	}
	rules := DigestOptions{RedisVersion: opt.RedisVersion}.rules()
	sc.pipe = newHashPipe(func() *keyHasher {
		return &keyHasher{r: rules, nowMs: opt.NowMs, drop: drop, unique: opt.Deep, perKey: opt.PerKey}
	}, workers)
	err := sc.scan(ctx)
	// The hashing goroutines only fail on keys decoded before whatever
	// stopped the scan, so their error comes first.
	if perr := sc.pipe.finish(); perr != nil {
		return nil, perr
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
	opt  *DigestRDBOptions
	drop bool
	dec  *rdb.Decoder
	keys *keySet
	pipe *hashPipe
	res  *DigestResult

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
func (sc *digestScan) entry(e *rdb.Entry) error {
	if e.DB >= NumDBs {
		return &rdb.FormatError{Offset: e.Offset, Key: e.Key, Context: "key",
			Err: fmt.Errorf("%w: db %d out of range (databases %d)", rdb.ErrUnsupported, e.DB, NumDBs)}
	}
	db := int(e.DB)
	if sc.keys.has(db, e.Key) {
		return &rdb.FormatError{Offset: e.Offset, Key: e.Key, Context: "key",
			Err: fmt.Errorf("%w: %w key", rdb.ErrCorrupt, ErrDuplicate)}
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
	hasTTL := e.ExpireAtMs >= 0
	expired := sc.opt.NowMs != 0 && hasTTL && e.ExpireAtMs < sc.opt.NowMs
	if sc.drop && expired {
		return nil
	}
	if o == nil && sc.empty(v) {
		return nil // empty collection: skipped by the loader
	}
	sc.keys.add(db, e.Key)
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

// keyHash is a seeded 128-bit hash of a key name.
type keyHash [2]uint64

// keySet is DigestRDB's duplicate-key test (rdbLoad refuses a key it
// already holds): the keys loaded so far, per db, as seeded 128-bit hashes.
// The hashes are keyed with a random seed, so a crafted file cannot make
// two different keys collide except by chance (2^-128 per pair). This type
// is the one place that decides how keys are remembered.
type keySet struct {
	seed0, seed1 maphash.Seed
	seen         [NumDBs]map[keyHash]struct{}
}

func newKeySet() *keySet {
	return &keySet{seed0: maphash.MakeSeed(), seed1: maphash.MakeSeed()}
}

func (s *keySet) hash(key []byte) keyHash {
	return keyHash{maphash.Bytes(s.seed0, key), maphash.Bytes(s.seed1, key)}
}

// has says whether key was added to db.
func (s *keySet) has(db int, key []byte) bool {
	_, ok := s.seen[db][s.hash(key)]
	return ok
}

// add remembers key in db.
func (s *keySet) add(db int, key []byte) {
	if s.seen[db] == nil {
		s.seen[db] = map[keyHash]struct{}{}
	}
	s.seen[db][s.hash(key)] = struct{}{}
}
