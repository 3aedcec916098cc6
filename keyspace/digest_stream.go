package keyspace

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"io"
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
	// contributes to the digest, in file order. key is valid only during the
	// call. A non-nil error stops DigestRDB and is returned.
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
}

// DigestRDB computes DEBUG DIGEST of an RDB stream while decoding it, entry
// by entry, without building a [Store]: it gives the same result and the same
// errors as [LoadRDB] into New(opt.NowMs) followed by [Store.Digest].
//
// DEBUG DIGEST xors per-key digests within each db, so one 20-byte
// accumulator per db is enough. Memory is bounded by the largest value plus,
// for the duplicate-key test LoadRDB does, one 128-bit key hash per loaded
// key (about 20-40 bytes per key in a Go map). The hashes are keyed with a
// random seed, so a crafted file cannot make two different keys collide
// except by chance (2^-128 per pair).
func DigestRDB(ctx context.Context, r io.Reader, opt *DigestRDBOptions) (*DigestResult, error) {
	if opt == nil {
		opt = &DigestRDBOptions{}
	}
	dec := rdb.NewDecoder(r, &rdb.DecodeOptions{Limits: opt.Limits, Deep: opt.Deep, Warn: opt.Warn})
	sd := &streamDigest{
		opt:   opt,
		r:     DigestOptions{RedisVersion: opt.RedisVersion}.rules(),
		drop:  opt.DropExpired && opt.NowMs != 0,
		seed0: maphash.MakeSeed(),
		seed1: maphash.MakeSeed(),
	}
	functions := map[string]struct{}{}
	for n := 0; ; n++ {
		if n%progressEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if opt.Progress != nil && n > 0 {
				opt.Progress(dec.Offset())
			}
		}
		rec, err := dec.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		// The same checks as LoadRDB; AUX and module aux data do not
		// affect the digest.
		switch rec := rec.(type) {
		case *rdb.Function:
			name, err := FunctionLibraryName(rec.Code)
			if err != nil {
				return nil, &rdb.FormatError{Offset: rec.Offset, Context: "function library", Err: err}
			}
			if _, dup := functions[name]; dup {
				return nil, &rdb.FormatError{Offset: rec.Offset, Context: "function library " + name,
					Err: fmt.Errorf("%w: %w library", rdb.ErrCorrupt, ErrDuplicate)}
			}
			functions[name] = struct{}{}
		case *rdb.SelectDB:
			if rec.DB >= NumDBs {
				return nil, &rdb.FormatError{Offset: rec.Offset, Context: "select db",
					Err: fmt.Errorf("%w: db %d out of range (databases %d)", rdb.ErrUnsupported, rec.DB, NumDBs)}
			}
		case *rdb.Entry:
			if err := sd.entry(dec, rec); err != nil {
				return nil, err
			}
		}
	}
	if opt.Progress != nil {
		opt.Progress(dec.Offset())
	}
	return sd.result(), nil
}

// keyHash is a seeded 128-bit hash of a key name.
type keyHash [2]uint64

// streamDigest is the state of DigestRDB.
type streamDigest struct {
	opt          *DigestRDBOptions
	r            digestRules
	drop         bool
	seed0, seed1 maphash.Seed

	seen [NumDBs]map[keyHash]struct{} // keys loaded so far, for ErrDuplicate
	acc  [NumDBs]digest               // xor of SHA1(key digest) per db
	keys [NumDBs]int                  // keys digested per db

	idx []int  // scratch: indexes of the distinct set/zset/hash elements
	buf []byte // scratch: zset score text
}

// result is Store.Digest's composition: for each non-empty db in ascending
// order mix its index, then xor its keys (xor commutes, so the per-db
// accumulators can be folded in at the end).
func (sd *streamDigest) result() *DigestResult {
	res := &DigestResult{}
	var f digest
	for db := range NumDBs {
		if sd.keys[db] == 0 {
			continue
		}
		var idx [4]byte
		binary.BigEndian.PutUint32(idx[:], uint32(db))
		f.mix(idx[:])
		for i := range f {
			f[i] ^= sd.acc[db][i]
		}
		res.Keys += sd.keys[db]
	}
	res.Digest = f
	return res
}

// entry is loadEntry followed by the digest of the key, if it counts.
func (sd *streamDigest) entry(dec *rdb.Decoder, e *rdb.Entry) error {
	if e.DB >= NumDBs {
		return &rdb.FormatError{Offset: e.Offset, Key: e.Key, Context: "key",
			Err: fmt.Errorf("%w: db %d out of range (databases %d)", rdb.ErrUnsupported, e.DB, NumDBs)}
	}
	db := int(e.DB)
	h := keyHash{maphash.Bytes(sd.seed0, e.Key), maphash.Bytes(sd.seed1, e.Key)}
	if _, dup := sd.seen[db][h]; dup {
		return &rdb.FormatError{Offset: e.Offset, Key: e.Key, Context: "key",
			Err: fmt.Errorf("%w: %w key", rdb.ErrCorrupt, ErrDuplicate)}
	}
	v, err := dec.Value()
	if err != nil {
		return err
	}
	// Streams, modules and anything unexpected go through the Object path
	// (no copying involved), which also yields LoadRDB's error.
	var o *Object
	switch v.(type) {
	case *rdb.String, *rdb.List, *rdb.Set, *rdb.ZSet, *rdb.Hash:
	default:
		if o, err = ObjectFromValue(v); err != nil {
			return &rdb.FormatError{Offset: e.Offset, Key: e.Key, Context: "value", Err: err}
		}
		o.ExpireAtMs = e.ExpireAtMs
		o.Encoding = e.Encoding
	}
	hasTTL := e.ExpireAtMs >= 0
	expired := sd.opt.NowMs != 0 && hasTTL && e.ExpireAtMs < sd.opt.NowMs
	if sd.drop && expired {
		return nil
	}
	if o == nil && sd.prepare(e, v) == 0 {
		return nil // empty collection: skipped by the loader
	}
	if sd.seen[db] == nil {
		sd.seen[db] = map[keyHash]struct{}{}
	}
	sd.seen[db][h] = struct{}{}
	if expired {
		return nil // loaded, but Store.Digest leaves it out
	}

	var kd digest
	kd.mix(e.Key)
	sd.valueDigest(&kd, e, v, o)
	sd.acc[db].xor(kd[:])
	sd.keys[db]++
	if sd.opt.PerKey != nil {
		var vd digest
		sd.valueDigest(&vd, e, v, o)
		return sd.opt.PerKey(db, e.Key, vd)
	}
	return nil
}

// prepare does what converting v to an Object and loadEntry's hash-field
// drop do to a collection: sets, zsets and hashes keep one element per
// member (the last one, as map assignment does), and expired hash fields go
// when dropping. It leaves the surviving indexes in sd.idx and returns how
// many elements the value has (strings count 1).
func (sd *streamDigest) prepare(e *rdb.Entry, v rdb.Value) int {
	switch v := v.(type) {
	case *rdb.List:
		return len(v.Elems)
	case *rdb.Set:
		if e.Encoding == rdb.EncIntset {
			// The decoder checked the intset is strictly ascending.
			sd.idx = appendRange(sd.idx[:0], len(v.Members))
			return len(sd.idx)
		}
		return len(sd.distinct(len(v.Members), func(i int) []byte { return v.Members[i] }))
	case *rdb.ZSet:
		return len(sd.distinct(len(v.Members), func(i int) []byte { return v.Members[i].Member }))
	case *rdb.Hash:
		idx := sd.distinct(len(v.Fields), func(i int) []byte { return v.Fields[i].Field })
		if sd.drop {
			// Redis 7.4+ drops hash fields already expired at load time.
			idx = slices.DeleteFunc(idx, func(i int) bool {
				t := v.Fields[i].ExpireAtMs
				return t != 0 && t < sd.opt.NowMs
			})
			sd.idx = idx
		}
		return len(idx)
	}
	return 1
}

func appendRange(dst []int, n int) []int {
	for i := range n {
		dst = append(dst, i)
	}
	return dst
}

// distinct sets sd.idx to the index of the last occurrence of each distinct
// name among n elements (in name order) and returns it. Duplicates only occur
// in corrupt files, but a Store keeps one of them and so must the digest
// (xoring both would cancel them out).
func (sd *streamDigest) distinct(n int, name func(i int) []byte) []int {
	idx := appendRange(sd.idx[:0], n)
	if n > 1 {
		slices.SortStableFunc(idx, func(a, b int) int { return bytes.Compare(name(a), name(b)) })
		out := idx[:0]
		for k, i := range idx {
			if k+1 < len(idx) && bytes.Equal(name(i), name(idx[k+1])) {
				continue // a later duplicate overrides this one
			}
			out = append(out, i)
		}
		idx = out
	}
	sd.idx = idx
	return idx
}

// valueDigest is valueDigest (digest.go) over the decoded value, using the
// elements prepare selected; o is set for values that went through an Object.
func (sd *streamDigest) valueDigest(d *digest, e *rdb.Entry, v rdb.Value, o *Object) {
	if o != nil {
		valueDigest(d, o, sd.r)
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
		for _, i := range sd.idx {
			d.xor(v.Members[i])
		}
	case *rdb.ZSet:
		maxLen := 0
		for _, i := range sd.idx {
			maxLen = max(maxLen, len(v.Members[i].Member))
		}
		zeroNeg := zsetZeroNeg(e.Encoding, len(sd.idx), maxLen, sd.r)
		for _, i := range sd.idx {
			m := &v.Members[i]
			sd.buf = digestZSetMember(d, m.Member, m.Score, zeroNeg, sd.buf, sd.r)
		}
	case *rdb.Hash:
		for _, i := range sd.idx {
			f := &v.Fields[i]
			digestHashField(d, f.Field, f.Value, f.ExpireAtMs != 0, sd.r)
		}
	}
	digestExpire(d, e.ExpireAtMs >= 0)
}
