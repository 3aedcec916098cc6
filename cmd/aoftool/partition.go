package main

import (
	"bufio"
	"bytes"
	"container/heap"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"runtime/debug"
	"slices"

	"github.com/persistkit/persistkit/format/rdb"
	"github.com/persistkit/persistkit/internal/bgwrite"
	"github.com/persistkit/persistkit/internal/cli"
	"github.com/persistkit/persistkit/keyspace"
)

// A large AOF is converted in partitions (keyspace/partition.go): pass 1
// splits the commands by key into temp files, pass 2 replays them two at a
// time into small stores and encodes each store's keys, sorted, into a run
// file, and a k-way merge of the runs writes the RDB. The output is
// byte-identical to writeStoreRDB over one big store; memory is two
// partitions' stores instead of the whole keyspace, and no collection has
// to mark gigabytes of live heap. An AOF the partitions cannot reproduce
// exactly (keyspace.ErrNotPartitionable) is converted the usual way.

// forcePartitions overrides the partition count in tests (0: by size; 1
// still takes the partitioned path).
var forcePartitions int

// partitionCount is the number of partitions for an AOF of total bytes,
// or 0 for the single-store path.
func partitionCount(total int64) int {
	if forcePartitions > 0 {
		return forcePartitions
	}
	return keyspace.PartitionCount(total)
}

// lastPartitioned records, for tests, that the last convert took the
// partitioned path.
var lastPartitioned bool

// errFallback reports that the partitioned path cannot reproduce the
// single-store result.
var errFallback = errors.New("aoftool: use the single-store path")

// convertPartitioned converts the AOF at path like replayStore followed by
// writeStoreRDB. It returns errFallback, without having written anything
// to w or called opt.OnLossy, when the AOF needs the single-store path.
func convertPartitioned(ctx context.Context, o *convertOptions, now int64, w io.Writer, opt *rdb.EncodeOptions, aux func() [][2]string) (exportStats, error) {
	var st exportStats
	parts, res, err := partitionAOF(ctx, o.env, o.g, o.path, false)
	if err != nil {
		return st, err
	}
	defer parts.Close()
	defer tunePartitionGC(partitionedBytes(parts))()

	runs, err := encodeRuns(ctx, parts, now, opt)
	defer func() {
		for _, r := range runs {
			if r != nil && r.f != nil {
				r.f.Close()
			}
		}
	}()
	if err != nil {
		return st, partitionError(ctx, err)
	}
	if res.Truncated && !o.g.Quiet && !o.g.JSON {
		noteTruncated(o.env, res)
	}
	lastPartitioned = true
	// 1 MiB chunks written on a goroutine of their own: the merge's
	// encoding overlaps its output writes.
	cw := bgwrite.NewWriter(w, 1<<20, 2)
	st, err = mergeRuns(ctx, runs, cw, opt, aux())
	if cerr := cw.Close(); err == nil {
		err = cerr
	}
	return st, err
}

// The partitioned path's heap is two partitions' stores (~2.5x their
// share of the AOF each) and the garbage of replaying: a small live heap
// that the default GOGC=100 marks again at every doubling from a few MB.
// partitionGCPercent lets it grow further between collections, and a
// memory limit of 3/4 of the AOF's size (within partitionMemMin and
// partitionMemMax) keeps the peak under what redis-server needs for the
// same data (~0.6x the AOF; 35 MiB for the 10 MB bench AOF, where a 32 MiB
// floor gave us 35-37 MiB and 24 MiB gives 28). GOGC or GOMEMLIMIT in the environment turn
// the tuning off.
const (
	partitionGCPercent = 400
	partitionMemMin    = 24 << 20
	partitionMemMax    = 448 << 20
)

// tunePartitionGC tunes the collector for replaying the partitions of an
// AOF of total bytes and returns a function restoring its settings.
func tunePartitionGC(total int64) (restore func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	pct := debug.SetGCPercent(partitionGCPercent)
	limit := debug.SetMemoryLimit(min(max(total*3/4, partitionMemMin), partitionMemMax))
	return func() {
		debug.SetGCPercent(pct)
		debug.SetMemoryLimit(limit)
	}
}

// partitionedBytes is the size of all partition files of parts.
func partitionedBytes(parts *keyspace.Partitions) int64 {
	var n int64
	for i := range parts.Len() {
		n += parts.Size(i)
	}
	return n
}

// partitionAOF is pass 1 of the partitioned path: it returns errFallback
// when the AOF is small or cannot be partitioned (with noPreamble: or
// starts with an RDB preamble).
func partitionAOF(ctx context.Context, env *cli.Env, g *cli.Globals, path string, noPreamble bool) (*keyspace.Partitions, *keyspace.ReplayResult, error) {
	a, err := locate(path)
	if err != nil {
		return nil, nil, errFallback
	}
	total, progress := a.replayProgress(env, g)
	n := partitionCount(total)
	if n == 0 {
		return nil, nil, errFallback
	}
	parts, res, err := keyspace.PartitionAOF(ctx, path, &keyspace.PartitionOptions{
		Partitions: n,
		Progress:   progress.update,
		Background: true,
		NoPreamble: noPreamble,
	})
	progress.Done()
	if err != nil {
		return nil, nil, partitionError(ctx, err)
	}
	return parts, res, nil
}

// partitionError maps the errors of the partitioned path: a full temp
// directory fails the command, anything else the single-store path decides.
func partitionError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, keyspace.ErrTempFile) {
		return cli.WithHint(err, "the conversion of a large AOF needs temp space of about the AOF's size plus the RDB's; set TMPDIR to a larger directory")
	}
	return errFallback
}

// run is one partition's keys encoded in key order, in an unlinked temp
// file of records (see appendRunRecord), with the partition's global state.
type run struct {
	f         *os.File
	size      int64
	functions map[string][]byte
	moduleAux []*rdb.ModuleAux
}

// encodeRuns replays and encodes every partition.
func encodeRuns(ctx context.Context, parts *keyspace.Partitions, now int64, opt *rdb.EncodeOptions) ([]*run, error) {
	runs := make([]*run, parts.Len())
	err := parts.ReplayEach(ctx, partitionWorkers(), func(ctx context.Context, i int, s *keyspace.Store) (err error) {
		runs[i], err = encodeRun(ctx, s, now, opt)
		return err
	})
	return runs, err
}

// partitionWorkers replay partitions concurrently: two stores are live
// at most.
func partitionWorkers() int { return min(2, runtime.GOMAXPROCS(0)) }

// encodeRun writes the run of a partition's store s.
func encodeRun(ctx context.Context, s *keyspace.Store, now int64, opt *rdb.EncodeOptions) (*run, error) {
	s.NowMs = now
	f, err := os.CreateTemp("", "persistkit-run-*")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", keyspace.ErrTempFile, err)
	}
	os.Remove(f.Name()) // unlinked: nothing left behind on any exit
	r := &run{f: f, functions: s.Functions, moduleAux: s.ModuleAux}
	bw := bufio.NewWriterSize(f, 256<<10)

	// The encoder only encodes bodies; losses are recorded with their key
	// and reported by the merge, in output order.
	var lossy []string
	eo := *opt
	eo.OnLossy = func(_ []byte, what string) { lossy = append(lossy, what) }
	enc := rdb.NewEncoder(io.Discard, &eo)
	var vb keyspace.ValueBuffer
	ent := &rdb.Entry{}
	var rec, body []byte
	k := 0
	err = s.EachSorted(func(db int, key []byte, o *keyspace.Object) error {
		if k++; k%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		*ent = rdb.Entry{DB: uint64(db), Key: key, Kind: o.Kind, ExpireAtMs: o.ExpireAtMs, LRUIdleSec: -1, LFUFreq: -1}
		if !o.HasTTL() {
			ent.ExpireAtMs = rdb.NoExpire
		}
		lossy = lossy[:0]
		var ok bool
		var err error
		body, ok, err = enc.AppendEntryBody(body[:0], ent, vb.Value(o))
		if err != nil {
			// The single-store export reports it, with its output offset.
			return fmt.Errorf("%w: %w", keyspace.ErrNotPartitionable, err)
		}
		rec = appendRunRecord(rec[:0], ent, ok, body, lossy)
		if _, err := bw.Write(rec); err != nil {
			return fmt.Errorf("%w: %w", keyspace.ErrTempFile, err)
		}
		return nil
	})
	if err == nil {
		if err = bw.Flush(); err != nil {
			err = fmt.Errorf("%w: %w", keyspace.ErrTempFile, err)
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	r.size, err = f.Seek(0, io.SeekCurrent)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %w", keyspace.ErrTempFile, err)
	}
	return r, nil
}

// Run record flags.
const (
	runExpire  = 1 << iota // an expire time follows
	runDropped             // a lossy target dropped the key: no body
	runLossy               // loss reports follow
)

// appendRunRecord appends one key: db, flags, [expire], key, [body],
// [losses], lengths as uvarints.
func appendRunRecord(b []byte, e *rdb.Entry, ok bool, body []byte, lossy []string) []byte {
	var flags byte
	if e.ExpireAtMs != rdb.NoExpire {
		flags |= runExpire
	}
	if !ok {
		flags |= runDropped
	}
	if len(lossy) > 0 {
		flags |= runLossy
	}
	b = binary.AppendUvarint(b, e.DB)
	b = append(b, flags)
	if flags&runExpire != 0 {
		b = binary.LittleEndian.AppendUint64(b, uint64(e.ExpireAtMs))
	}
	b = binary.AppendUvarint(b, uint64(len(e.Key)))
	b = append(b, e.Key...)
	if ok {
		b = binary.AppendUvarint(b, uint64(len(body)))
		b = append(b, body...)
	}
	if len(lossy) > 0 {
		b = binary.AppendUvarint(b, uint64(len(lossy)))
		for _, s := range lossy {
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
	}
	return b
}

// runReader reads a run's records back; key and body are reused.
type runReader struct {
	br     *bufio.Reader
	db     uint64
	flags  byte
	expire int64
	key    []byte
	body   []byte
	lossy  []string
}

// next reads the next record; io.EOF at the end of the run.
func (r *runReader) next() error {
	db, err := binary.ReadUvarint(r.br)
	if err != nil {
		return err // io.EOF only at a record boundary
	}
	r.db = db
	if r.flags, err = r.br.ReadByte(); err != nil {
		return noEOF(err)
	}
	r.expire = rdb.NoExpire
	if r.flags&runExpire != 0 {
		var b [8]byte
		if _, err := io.ReadFull(r.br, b[:]); err != nil {
			return noEOF(err)
		}
		r.expire = int64(binary.LittleEndian.Uint64(b[:]))
	}
	if r.key, err = r.bytes(r.key); err != nil {
		return err
	}
	if r.flags&runDropped == 0 {
		if r.body, err = r.bytes(r.body); err != nil {
			return err
		}
	}
	r.lossy = r.lossy[:0]
	if r.flags&runLossy != 0 {
		n, err := binary.ReadUvarint(r.br)
		if err != nil {
			return noEOF(err)
		}
		for range n {
			b, err := r.bytes(nil)
			if err != nil {
				return err
			}
			r.lossy = append(r.lossy, string(b))
		}
	}
	return nil
}

// bytes reads a uvarint length and that many bytes into buf. Runs are our
// own temp files, written just before, so lengths are trusted.
func (r *runReader) bytes(buf []byte) ([]byte, error) {
	n, err := binary.ReadUvarint(r.br)
	if err != nil {
		return buf, noEOF(err)
	}
	if uint64(cap(buf)) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r.br, buf); err != nil {
		return buf, noEOF(err)
	}
	return buf, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// runHeap orders the current records of the runs by (db, key); keys are
// unique across runs (a key lives in one partition).
type runHeap []*runReader

func (h runHeap) Len() int { return len(h) }
func (h runHeap) Less(i, j int) bool {
	if h[i].db != h[j].db {
		return h[i].db < h[j].db
	}
	return bytes.Compare(h[i].key, h[j].key) < 0
}
func (h runHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)   { *h = append(*h, x.(*runReader)) }
func (h *runHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// mergeRuns writes the RDB like writeStoreRDB: aux fields, the function
// libraries and module aux data (held by partition 0), then the keys of
// all runs in (db, key) order.
func mergeRuns(ctx context.Context, runs []*run, w io.Writer, opt *rdb.EncodeOptions, aux [][2]string) (exportStats, error) {
	var st exportStats
	enc := rdb.NewEncoder(w, opt)
	for _, a := range aux {
		if err := enc.Write(&rdb.Aux{Key: []byte(a[0]), Value: []byte(a[1])}); err != nil {
			return st, err
		}
	}
	global := runs[0]
	for _, name := range slices.Sorted(maps.Keys(global.functions)) {
		if err := enc.Write(&rdb.Function{Code: global.functions[name]}); err != nil {
			return st, lossyHint(err)
		}
		st.functions++
	}
	for _, m := range global.moduleAux {
		if m.When != 2 {
			if err := enc.Write(m); err != nil {
				return st, lossyHint(err)
			}
		}
	}
	h := make(runHeap, 0, len(runs))
	for _, r := range runs {
		if _, err := r.f.Seek(0, io.SeekStart); err != nil {
			return st, fmt.Errorf("%w: %w", keyspace.ErrTempFile, err)
		}
		rr := &runReader{br: bufio.NewReaderSize(io.LimitReader(r.f, r.size), 128<<10)}
		switch err := rr.next(); {
		case err == io.EOF:
		case err != nil:
			return st, fmt.Errorf("%w: %w", keyspace.ErrTempFile, err)
		default:
			h = append(h, rr)
		}
	}
	heap.Init(&h)
	for n := 0; len(h) > 0; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return st, err
			}
		}
		r := h[0]
		for _, what := range r.lossy {
			if opt.OnLossy != nil {
				opt.OnLossy(r.key, what)
			}
		}
		if r.flags&runDropped == 0 {
			if err := enc.WriteEntryBody(r.db, r.expire, r.body); err != nil {
				return st, err
			}
		}
		st.keys++
		switch err := r.next(); {
		case err == io.EOF:
			heap.Pop(&h)
		case err != nil:
			return st, fmt.Errorf("%w: %w", keyspace.ErrTempFile, err)
		default:
			heap.Fix(&h, 0)
		}
	}
	for _, m := range global.moduleAux {
		if m.When == 2 {
			if err := enc.Write(m); err != nil {
				return st, lossyHint(err)
			}
		}
	}
	return st, enc.Close()
}
