package keyspace

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/persistkit/persistkit/format/rdb"
	"github.com/persistkit/persistkit/format/resp"
	"github.com/persistkit/persistkit/internal/bgwrite"
)

// Partitioned replay: a large AOF is split by key into partition files,
// each of which replays into a small Store of its own, so no Store ever
// holds the whole keyspace (see cmd/aoftool's convert).
//
// The rule that keeps it exact: a key's whole history goes to one
// partition (chosen by a hash of the key alone, so a key lives in the same
// partition in every db), and only commands whose effect is confined to
// the keys they name are routed. The router knows, from the allowlist
// routes below, where each allowed command's keys are. Anything else
// (an unknown command, a multi-key command such as RENAME, SMOVE, LMOVE,
// S*STORE, BITOP, PFMERGE or MSETNX whose keys are not all in one
// partition, COPY, MOVE, Z*STORE, EVAL/EVALSHA/SCRIPT, a read-only
// command, a preamble not at the start, a bad SELECT, a nested MULTI or
// an EXEC/DISCARD without MULTI) makes [PartitionAOF] fail with
// [ErrNotPartitionable], and so does any error replaying a partition
// ([Partitions.Replay]) or loading its preamble. The caller then redoes the
// job with [ReplayAOF] on one Store, which gives today's result or error
// exactly; the partitioned path is purely an optimisation.
//
// Partition files are RESP, optionally preceded by an RDB preamble that
// holds the partition's keys of the AOF's own preamble (functions and
// module aux data go to partition 0). The router tracks the client's db and
// writes a SELECT into a partition only when that partition's db differs.
// DEL/UNLINK and MSET are split per key; FLUSHDB, FLUSHALL and SWAPDB go to
// every partition (each flushes or swaps its own keys); FUNCTION goes to
// partition 0 (global state, no keys). A MULTI block is queued and
// forwarded on EXEC as plain commands; DISCARD, and truncation at the end
// of the last file, drop it, as a Store does. Running a transaction's
// commands one by one is equivalent because a failing one stops the
// partitioned replay anyway.

// ErrNotPartitionable is wrapped by the errors of [PartitionAOF] and
// [Partitions.Replay] when the AOF needs the single-Store replay.
var ErrNotPartitionable = errors.New("keyspace: AOF cannot be replayed in partitions")

// ErrTempFile is wrapped by errors writing or reading partition temp
// files (e.g. a full temp directory).
var ErrTempFile = errors.New("keyspace: partition temp file")

func notPartitionable(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrNotPartitionable, fmt.Sprintf(format, args...))
}

func tempFileError(err error) error {
	return fmt.Errorf("%w: %w", ErrTempFile, err)
}

// route says where a command's keys are.
type route uint8

const (
	routeNone      route = iota // not partitionable
	routeKey1                   // the key is args[1]
	routeKeys                   // DEL/UNLINK: every argument is a key
	routePairs                  // MSET: key value pairs
	routeBroadcast              // FLUSHDB, FLUSHALL, SWAPDB
	routeGlobal                 // FUNCTION: partition 0
	routeSelect
	routeXGroup // XGROUP <sub> key ...
	// Multi-key commands route when all their keys share a partition
	// (always with one partition): keys at args[1] and args[2], at
	// args[1:], at args[2:], or at the odd positions (MSETNX).
	routeSame2
	routeSameFrom1
	routeSameFrom2
	routeSameOdd
)

// routes lists the routable commands. Every routeKey1 command reads and
// writes only args[1] and no state outside it (checked against its cmd_*.go
// implementation); relative TTLs and XADD * IDs use Store.NowMs, which is
// the same in every partition.
var routes = map[string]route{
	"SET": routeKey1, "SETNX": routeKey1, "SETEX": routeKey1, "PSETEX": routeKey1,
	"GETSET": routeKey1, "GETDEL": routeKey1, "GETEX": routeKey1, "APPEND": routeKey1,
	"SETRANGE": routeKey1, "INCR": routeKey1, "DECR": routeKey1, "INCRBY": routeKey1,
	"DECRBY": routeKey1, "INCRBYFLOAT": routeKey1, "SETBIT": routeKey1, "BITFIELD": routeKey1,
	"HSET": routeKey1, "HMSET": routeKey1, "HSETNX": routeKey1, "HDEL": routeKey1,
	"HINCRBY": routeKey1, "HINCRBYFLOAT": routeKey1, "HEXPIRE": routeKey1, "HPEXPIRE": routeKey1,
	"HEXPIREAT": routeKey1, "HPEXPIREAT": routeKey1, "HPERSIST": routeKey1, "HGETDEL": routeKey1,
	"HGETEX": routeKey1, "HSETEX": routeKey1,
	"LPUSH": routeKey1, "RPUSH": routeKey1, "LPUSHX": routeKey1, "RPUSHX": routeKey1,
	"LPOP": routeKey1, "RPOP": routeKey1, "LSET": routeKey1, "LINSERT": routeKey1,
	"LREM": routeKey1, "LTRIM": routeKey1,
	"SADD": routeKey1, "SREM": routeKey1, "SPOP": routeKey1,
	"ZADD": routeKey1, "ZINCRBY": routeKey1, "ZREM": routeKey1, "ZREMRANGEBYSCORE": routeKey1,
	"ZREMRANGEBYRANK": routeKey1, "ZREMRANGEBYLEX": routeKey1, "ZPOPMIN": routeKey1, "ZPOPMAX": routeKey1,
	"XADD": routeKey1, "XTRIM": routeKey1, "XDEL": routeKey1, "XACK": routeKey1,
	"XCLAIM": routeKey1, "XSETID": routeKey1,
	"PFADD": routeKey1, "GEOADD": routeKey1,
	"EXPIRE": routeKey1, "PEXPIRE": routeKey1, "EXPIREAT": routeKey1, "PEXPIREAT": routeKey1,
	"PERSIST": routeKey1, "RESTORE": routeKey1,
	"DEL": routeKeys, "UNLINK": routeKeys,
	"MSET":    routePairs,
	"FLUSHDB": routeBroadcast, "FLUSHALL": routeBroadcast, "SWAPDB": routeBroadcast,
	"FUNCTION": routeGlobal,
	"SELECT":   routeSelect,
	"XGROUP":   routeXGroup,
	"LMOVE":    routeSame2, "BLMOVE": routeSame2, "RPOPLPUSH": routeSame2, "BRPOPLPUSH": routeSame2,
	"SMOVE": routeSame2, "RENAME": routeSame2, "RENAMENX": routeSame2,
	"PFMERGE": routeSameFrom1, "SINTERSTORE": routeSameFrom1, "SUNIONSTORE": routeSameFrom1,
	"SDIFFSTORE": routeSameFrom1,
	"BITOP":      routeSameFrom2,
	"MSETNX":     routeSameOdd,
}

// PartitionOptions configure [PartitionAOF].
type PartitionOptions struct {
	// Partitions is the number of partition files (at least 1).
	Partitions int
	// TempDir holds the partition files ("" = os.TempDir()). They are
	// unlinked right after creation, so nothing is left behind on any exit.
	TempDir string
	// Progress and Limits are as in [ReplayOptions].
	Progress func(path string, offset int64)
	Limits   resp.Limits
	// Background starts one goroutine that writes the partition files,
	// so that reading and routing overlap the writes. It ends before
	// PartitionAOF returns.
	Background bool
	// NoPreamble makes an RDB preamble fail with ErrNotPartitionable as
	// soon as it is met, for callers whose result depends on the stored
	// encodings the partition files would change (DEBUG DIGEST of a -0
	// zset score), so they do not pay for a whole pass first.
	NoPreamble bool
}

// Partitions are the partition files of an AOF written by [PartitionAOF].
// Replay may be called concurrently for different partitions; Close once
// all are done.
type Partitions struct {
	parts  []*partWriter
	limits resp.Limits
}

// partWriter is one partition file being written.
type partWriter struct {
	f    *os.File
	buf  []byte         // pending bytes, handed over at partBufSize
	q    *bgwrite.Queue // the background writer, if any
	size int64
	db   int          // the db the partition's client has selected
	enc  *rdb.Encoder // preamble encoder, while the AOF's preamble is read
	num  []byte       // scratch for SELECT
}

// partBufSize is the size of the writes to a partition file.
const partBufSize = 256 << 10

// maxQueued bounds the buffers waiting for the writer goroutine of
// PartitionOptions.Background.
const maxQueued = 16

// flush hands w's pending bytes to the file, or to the writer goroutine.
func (w *partWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	if w.q == nil {
		_, err := w.f.Write(w.buf)
		w.buf = w.buf[:0]
		if err != nil {
			return tempFileError(err)
		}
		return nil
	}
	if err := w.q.Err(); err != nil {
		return tempFileError(err)
	}
	if w.buf = w.q.Submit(w.f, w.buf); w.buf == nil {
		w.buf = make([]byte, 0, partBufSize)
	}
	return nil
}

// PartitionAOF reads the AOF at path like [ReplayAOF] (same files, same
// truncation rules and same *ReplayResult) and writes its commands into
// opt.Partitions partition files by key. It fails with
// ErrNotPartitionable when the AOF needs a single Store, and with
// ErrTempFile when a partition file cannot be written.
func PartitionAOF(ctx context.Context, path string, opt *PartitionOptions) (*Partitions, *ReplayResult, error) {
	if opt == nil {
		opt = &PartitionOptions{}
	}
	files, err := locateAOF(path)
	if err != nil {
		return nil, nil, err
	}
	n := max(opt.Partitions, 1)
	p := &Partitions{limits: opt.Limits}
	var q *bgwrite.Queue
	if opt.Background {
		q = bgwrite.NewQueue(maxQueued, n+maxQueued+1, 4*partBufSize) // no huge buffer kept
		defer q.Close()
	}
	for range n {
		f, err := os.CreateTemp(opt.TempDir, "persistkit-part-*")
		if err != nil {
			p.Close()
			return nil, nil, tempFileError(err)
		}
		// Unlinked at once: the open descriptor keeps the data, and the
		// space is freed however the process ends.
		os.Remove(f.Name())
		p.parts = append(p.parts, &partWriter{f: f, q: q, buf: make([]byte, 0, partBufSize)})
	}
	r := &router{parts: p.parts, noPreamble: opt.NoPreamble}
	res, err := replayFiles(ctx, files, r, &ReplayOptions{Progress: opt.Progress, Limits: opt.Limits})
	if err == nil {
		err = r.finish()
	}
	if q != nil {
		if qerr := q.Close(); err == nil && qerr != nil {
			err = tempFileError(qerr)
		}
	}
	if err != nil {
		p.Close()
		return nil, res, err
	}
	return p, res, nil
}

// Len is the number of partitions.
func (p *Partitions) Len() int { return len(p.parts) }

// Size is the size in bytes of partition i's file.
func (p *Partitions) Size(i int) int64 { return p.parts[i].size }

// Close releases the partition files.
func (p *Partitions) Close() error {
	for _, w := range p.parts {
		if w.f != nil {
			w.f.Close()
			w.f = nil
		}
	}
	return nil
}

// Release frees partition i's file once it has been replayed.
func (p *Partitions) Release(i int) {
	if w := p.parts[i]; w.f != nil {
		w.f.Close()
		w.f = nil
	}
}

// Replay replays partition i into a new Store (NowMs 0, like ReplayAOF's
// stores). Every command error fails with ErrNotPartitionable: the
// single-Store replay decides what such an AOF gives.
func (p *Partitions) Replay(ctx context.Context, i int) (*Store, error) {
	w := p.parts[i]
	s := New(0)
	br := bufio.NewReaderSize(io.NewSectionReader(w.f, 0, w.size), 256<<10)
	if b, err := br.Peek(5); err == nil && string(b) == "REDIS" {
		if err := LoadRDB(ctx, br, s, &LoadOptions{}); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, notPartitionable("partition %d: preamble: %v", i, err)
		}
	}
	// The commands passed the same limits when they were routed.
	rr := resp.NewReader(br, &resp.ReaderOptions{Reuse: true, Limits: p.limits})
	for n := 0; ; n++ {
		if n%progressEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		cmd, err := rr.Next()
		if err == io.EOF {
			return s, nil
		}
		if err != nil {
			return nil, tempFileError(fmt.Errorf("partition %d: %w", i, err))
		}
		if err := s.Apply(cmd.Args); err != nil {
			return nil, notPartitionable("partition %d: %v", i, err)
		}
	}
}

// router is the replayTarget of PartitionAOF.
type router struct {
	parts   []*partWriter
	db      int  // the client's db in the AOF being read
	multi   bool // a MULTI block is open
	queue   [][][]byte
	started bool // a command or preamble has been read
	err     error

	noPreamble bool // PartitionOptions.NoPreamble
}

// finish flushes the partition files.
func (r *router) finish() error {
	for _, w := range r.parts {
		if err := w.flush(); err != nil {
			return err
		}
		w.buf = nil
	}
	return nil
}

func (r *router) InMulti() bool { return r.multi }

func (r *router) DiscardMulti() bool {
	open := r.multi
	r.multi, r.queue = false, nil
	return open
}

func (r *router) startFile() {
	r.db = 0
	r.DiscardMulti()
}

// Apply routes one command; it returns ErrNotPartitionable errors (never a
// *CommandError, so replayFile stops).
func (r *router) Apply(args [][]byte) error {
	r.started = true
	if len(args) == 0 {
		return notPartitionable("empty command")
	}
	var buf [maxNameLen]byte
	name, _ := upperName(&buf, args[0])
	switch string(name) {
	case "MULTI":
		if r.multi || len(args) != 1 {
			return notPartitionable("MULTI")
		}
		r.multi = true
		return nil
	case "EXEC":
		if !r.multi || len(args) != 1 {
			return notPartitionable("EXEC")
		}
		q := r.queue
		r.multi, r.queue = false, nil
		for _, c := range q {
			if err := r.route(c); err != nil {
				return err
			}
		}
		return nil
	case "DISCARD":
		if !r.multi || len(args) != 1 {
			return notPartitionable("DISCARD")
		}
		r.multi, r.queue = false, nil
		return nil
	}
	if r.multi {
		if routes[string(name)] == routeNone {
			return notPartitionable("command %q", name)
		}
		// Arguments alias the reader's buffer: keep a copy.
		n := 0
		for _, a := range args {
			n += len(a)
		}
		b := make([]byte, 0, n)
		cp := make([][]byte, len(args))
		for i, a := range args {
			at := len(b)
			b = append(b, a...)
			cp[i] = b[at:len(b):len(b)]
		}
		r.queue = append(r.queue, cp)
		return nil
	}
	return r.route(args)
}

// keyPart is the partition of key: FNV-1a, so it is stable across runs.
func (r *router) keyPart(key []byte) *partWriter {
	h := uint64(14695981039346656037)
	for _, c := range key {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return r.parts[h%uint64(len(r.parts))]
}

func (r *router) route(args [][]byte) error {
	var buf [maxNameLen]byte
	name, _ := upperName(&buf, args[0])
	switch routes[string(name)] {
	case routeKey1:
		if len(args) < 2 {
			return notPartitionable("%s without key", name)
		}
		return r.write(r.keyPart(args[1]), args)
	case routeKeys:
		if len(args) < 2 {
			return notPartitionable("%s without key", name)
		}
		for _, k := range args[1:] {
			if err := r.write(r.keyPart(k), [][]byte{args[0], k}); err != nil {
				return err
			}
		}
		return nil
	case routePairs:
		if len(args) < 3 || len(args)%2 != 1 {
			return notPartitionable("%s arity", name)
		}
		for i := 1; i < len(args); i += 2 {
			if err := r.write(r.keyPart(args[i]), [][]byte{args[0], args[i], args[i+1]}); err != nil {
				return err
			}
		}
		return nil
	case routeBroadcast:
		for _, w := range r.parts {
			if err := r.write(w, args); err != nil {
				return err
			}
		}
		return nil
	case routeGlobal:
		return r.write(r.parts[0], args)
	case routeSelect:
		if len(args) != 2 {
			return notPartitionable("SELECT arity")
		}
		db, err := parseDB(args[1])
		if err != nil {
			return notPartitionable("SELECT: %v", err)
		}
		r.db = db
		return nil
	case routeXGroup:
		if len(args) < 3 || eq(args[1], "HELP") {
			return notPartitionable("XGROUP without key")
		}
		return r.write(r.keyPart(args[2]), args)
	case routeSame2:
		if len(args) < 3 {
			return notPartitionable("%s arity", name)
		}
		return r.writeSame(name, args, args[1:3], 1)
	case routeSameFrom1:
		return r.writeSame(name, args, args[1:], 1)
	case routeSameFrom2:
		if len(args) < 3 {
			return notPartitionable("%s arity", name)
		}
		return r.writeSame(name, args, args[2:], 1)
	case routeSameOdd:
		if len(args) < 3 || len(args)%2 != 1 {
			return notPartitionable("%s arity", name)
		}
		return r.writeSame(name, args, args[1:], 2)
	}
	return notPartitionable("command %q", name)
}

// writeSame writes args to the partition of keys (every step-th of them)
// when they all have the same.
func (r *router) writeSame(name []byte, args, keys [][]byte, step int) error {
	if len(keys) == 0 {
		return notPartitionable("%s without key", name)
	}
	w := r.keyPart(keys[0])
	for i := step; i < len(keys); i += step {
		if r.keyPart(keys[i]) != w {
			return notPartitionable("%s over keys of several partitions", name)
		}
	}
	return r.write(w, args)
}

// write appends args to w as RESP, after a SELECT if w's db is not the
// client's.
func (r *router) write(w *partWriter, args [][]byte) error {
	if w.db != r.db {
		w.db = r.db
		w.num = strconv.AppendInt(w.num[:0], int64(r.db), 10)
		if err := w.command([]byte("SELECT"), w.num); err != nil {
			return err
		}
	}
	return w.command(args...)
}

func (w *partWriter) command(args ...[]byte) error {
	b := w.buf
	n := len(b)
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	w.size += int64(len(b) - n)
	w.buf = b
	if len(b) >= partBufSize {
		return w.flush()
	}
	return nil
}

// loadPreamble routes the records of the AOF's RDB preamble into RDB
// preambles of the partition files; it must come before any command.
func (r *router) loadPreamble(ctx context.Context, br *bufio.Reader) error {
	if r.started {
		return notPartitionable("RDB preamble after commands")
	}
	if r.noPreamble {
		return notPartitionable("RDB preamble")
	}
	r.started = true
	opt := &rdb.EncodeOptions{Version: 12, KeepEncoding: true}
	encFor := func(w *partWriter) *rdb.Encoder {
		if w.enc == nil {
			w.enc = rdb.NewEncoder(countWriter{w}, opt)
		}
		return w.enc
	}
	dec := rdb.NewDecoder(br, nil)
	for n := 0; ; n++ {
		if n%progressEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rec, err := dec.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return notPartitionable("preamble: %v", err)
		}
		switch rec := rec.(type) {
		case *rdb.Function, *rdb.ModuleAux:
			if err := encFor(r.parts[0]).Write(rec); err != nil {
				return preambleWriteError(err)
			}
		case *rdb.SelectDB:
			if rec.DB >= NumDBs {
				return notPartitionable("preamble: db %d", rec.DB)
			}
		case *rdb.Entry:
			if rec.DB >= NumDBs {
				return notPartitionable("preamble: db %d", rec.DB)
			}
			v, err := dec.Value()
			if err != nil {
				return notPartitionable("preamble: %v", err)
			}
			e := *rec
			e.KeyMeta = nil // not kept by LoadRDB
			if err := encFor(r.keyPart(rec.Key)).WriteEntry(&e, v); err != nil {
				return preambleWriteError(err)
			}
		}
	}
	for _, w := range r.parts {
		if w.enc != nil {
			if err := w.enc.Close(); err != nil {
				return preambleWriteError(err)
			}
			w.enc = nil
		}
	}
	return nil
}

// preambleWriteError tells a failing temp file from a value the
// partition preamble cannot hold.
func preambleWriteError(err error) error {
	if errors.Is(err, ErrTempFile) {
		return tempFileError(err)
	}
	return notPartitionable("preamble: %v", err)
}

// countWriter writes to a partition's buffer, counting its size.
type countWriter struct{ w *partWriter }

func (c countWriter) Write(p []byte) (int, error) {
	c.w.buf = append(c.w.buf, p...)
	c.w.size += int64(len(p))
	if len(c.w.buf) >= partBufSize {
		if err := c.w.flush(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}
