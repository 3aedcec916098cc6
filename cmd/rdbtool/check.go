package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/persistkit/persistkit/format/rdb"
	"github.com/persistkit/persistkit/internal/cli"
	"github.com/persistkit/persistkit/keyspace"
)

type checkOptions struct {
	env     *cli.Env
	g       *cli.Globals
	file    string
	now     string
	fix     bool
	output  string
	inPlace bool
}

func newCheckCmd(env *cli.Env, g *cli.Globals) *cobra.Command {
	o := &checkOptions{env: env, g: g}
	cmd := &cobra.Command{
		Use:   "check FILE",
		Short: "Verify an RDB file completely (structure, deep value checks, CRC)",
		Long: `check decodes every record of FILE with deep validation (like Redis'
sanitize-dump-payload yes, plus duplicate keys, NaN scores, zset order and
stream consistency) and verifies the CRC-64 footer. It prints a report like
redis-check-rdb plus per-type/encoding counts, and every problem with its
offset, key and type. --json prints one summary object instead.

"already expired" counts keys whose TTL passed before --now (Unix ms;
default: the current time).

Exit status 0 means the file is sound, 3 that it is not (corrupt value,
bad or truncated structure, checksum mismatch), 1 an I/O error.

--fix writes a salvaged copy (-o OUT, or --in-place keeping FILE.bak):
every key that decodes completely and validates is kept; after damage the
rest of the file is scanned for the next plausible record. The dropped
byte ranges are reported. --fix maps FILE (resynchronising needs random
access; standard input is read into memory); it exits 0 once the
salvaged file is written.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.file = args[0]
			if o.fix {
				return runFix(cmd.Context(), o)
			}
			if o.output != "" || o.inPlace {
				return cli.Usagef("-o and --in-place need --fix")
			}
			return runCheck(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.now, "now", "", "reference time for \"already expired\" in Unix ms (default: now)")
	f.BoolVar(&o.fix, "fix", false, "write a salvaged copy with every intact key")
	f.StringVarP(&o.output, "output", "o", "", "with --fix: write the salvaged file here")
	f.BoolVar(&o.inPlace, "in-place", false, "with --fix: replace FILE, keeping FILE.bak")
	return cmd
}

// checkProblem is one thing wrong with the file.
type checkProblem struct {
	Offset int64
	Key    []byte
	Type   string // type label, when a key was being read
	What   string
}

// checkReport is what check found.
type checkReport struct {
	File           string
	Version        int
	Aux            []*rdb.Aux
	DBs            []uint64
	ModuleAux      []string
	Functions      int
	Keys           int64
	Expires        int64
	AlreadyExpired int64
	SubExpires     int64
	Counts         map[string]int64 // "type/encoding" -> keys
	Checksum       string           // ok, disabled, mismatch, none, unchecked
	StoredCRC      uint64
	ComputedCRC    uint64
	Size           int64
	Problems       []checkProblem
	// Unreadable are byte ranges that no record could be read from, and
	// LostKeys the keys found there, when check resynchronised after damage.
	Unreadable [][2]int64
	LostKeys   []checkProblem
	Warnings   []string
	lines      []string // redis-check-rdb style progress lines
}

func (r *checkReport) ok() bool { return len(r.Problems) == 0 }

// typeLabel is redis-check-rdb's label of a type byte.
func typeLabel(t rdb.Type) string {
	labels := [...]string{"string", "list-linked", "set-hashtable", "zset-v1", "hash-hashtable", "zset-v2",
		"module-pre-release", "module-value", "", "hash-zipmap", "list-ziplist", "set-intset", "zset-ziplist",
		"hash-ziplist", "quicklist", "stream", "hash-listpack", "zset-listpack", "quicklist-v2", "stream-v2",
		"set-listpack", "stream-v3", "hash-hashtable-md-pre-release", "hash-listpack-md-pre-release",
		"hash-hashtable-md", "hash-listpack-md"}
	if int(t) < len(labels) && labels[t] != "" {
		return labels[t]
	}
	return "unknown"
}

// checkKeySetBudget is the memory budget of check's duplicate-key test (0:
// keyspace.DefaultKeySetBudget); tests lower it to make small files spill.
var checkKeySetBudget = 0

// dupJobKeys is how many keys check hands to its duplicate test at a time:
// large batches make the goroutine hand-off rare (batches of 256 cost 15-30%
// more CPU in futex wake-ups).
const dupJobKeys = 4096

// dupOp is what the duplicate test does after a job's keys.
type dupOp int

const (
	dupNone    dupOp = iota // nothing; no reply
	dupFlush                // test the queued keys, reply
	dupFinish               // KeySet.Finish, reply
	dupReserve              // KeySet.Reserve(arg), reply
)

// dupJob is a batch of keys for the duplicate test.
type dupJob struct {
	n    int
	db   [dupJobKeys]uint64
	off  [dupJobKeys]int64
	typ  [dupJobKeys]rdb.Type
	end  [dupJobKeys]int // end of each key in keys
	keys []byte
	op   dupOp
	arg  uint64
}

// dupWorker runs check's duplicate-key test on its own goroutine. Jobs go
// out on jobs and come back on free (three of them circulate); every op
// but dupNone is answered on done, after which probs and deferred may be
// read until the next job is sent.
type dupWorker struct {
	set      *keyspace.KeySet
	entryAt  func(off int64) (*rdb.Entry, error) // nil: input not seekable
	jobs     chan *dupJob
	free     chan *dupJob
	done     chan error
	exited   chan struct{}
	probs    []checkProblem // duplicates found in memory, since the last reply
	deferred []checkProblem // duplicates found by Finish, by offset
	err      error          // sticky
	// The types of the last keys added, for the report of a duplicate
	// found while adding (the set tests keys in batches of
	// KeySetBatch).
	recent [2 * keyspace.KeySetBatch]struct {
		off int64
		typ rdb.Type
	}
	nAdded int
}

func (w *dupWorker) start(set *keyspace.KeySet) {
	w.set = set
	w.jobs = make(chan *dupJob, 2)
	w.free = make(chan *dupJob, 3)
	w.done = make(chan error)
	w.exited = make(chan struct{})
	for range 3 {
		w.free <- new(dupJob)
	}
	go w.run()
}

// stop ends the goroutine and removes the set's spill file.
func (w *dupWorker) stop() {
	close(w.jobs)
	<-w.exited
	w.set.Close()
}

func (w *dupWorker) run() {
	defer close(w.exited)
	for j := range w.jobs {
		start := 0
		for i := range j.n {
			r := &w.recent[w.nAdded%len(w.recent)]
			r.off, r.typ = j.off[i], j.typ[i]
			w.nAdded++
			if w.err == nil {
				w.err = w.set.Add(j.db[i], j.keys[start:j.end[i]], j.off[i])
			}
			start = j.end[i]
		}
		if w.err == nil {
			switch j.op {
			case dupFlush:
				w.err = w.set.Flush()
			case dupFinish:
				w.err = w.set.Finish()
			case dupReserve:
				w.err = w.set.Reserve(j.arg)
			}
		}
		op := j.op
		j.n, j.keys, j.op = 0, j.keys[:0], dupNone
		if cap(j.keys) > 4<<20 {
			j.keys = nil // after huge keys, do not keep their room
		}
		if op != dupNone {
			w.done <- w.err
		}
		w.free <- j
	}
}

func dupTypeText(t rdb.Type) string { return strconv.Itoa(int(t)) + " (" + typeLabel(t) + ")" }

// duplicate is the KeySet's Duplicate callback (on the worker).
func (w *dupWorker) duplicate(d *keyspace.Duplicate) error {
	pr := checkProblem{Offset: d.Offset, Key: bytes.Clone(d.Key), What: "duplicate key"}
	if !d.Deferred {
		for _, r := range w.recent {
			if r.off == d.Offset {
				pr.Type = dupTypeText(r.typ)
			}
		}
		w.probs = append(w.probs, pr)
		return nil
	}
	if w.entryAt != nil {
		e, err := w.entryAt(d.Offset)
		if err != nil {
			return err
		}
		pr.Type = dupTypeText(e.Type)
	}
	if d.Unconfirmed {
		pr.What = fmt.Sprintf("duplicate key (same 64-bit hash as the key at offset %d; the input cannot be read again to compare them)", d.First)
	}
	w.deferred = append(w.deferred, pr)
	return nil
}

// checkFile decodes everything from r and fills a report. It returns an
// error only for I/O failures and interruption; problems with the data go
// into the report. ra, if not nil, reads the same file at random offsets.
func checkFile(ctx context.Context, r io.Reader, ra io.ReaderAt, now int64, p cli.Progress, size int64) (*checkReport, error) {
	c := &checker{rep: &checkReport{Counts: map[string]int64{}, Checksum: "unchecked", Size: size}, now: now, ra: ra,
		libs: map[string]bool{}}
	rep := c.rep
	// ReuseEntry: one *Entry and key buffer for all keys (check keeps
	// only copies of what it reports). Warnings go through c.warn: the
	// split check queues them in file order with the records.
	c.warn = func(err error) { rep.Warnings = append(rep.Warnings, err.Error()) }
	dec := rdb.NewDecoder(r, &rdb.DecodeOptions{Deep: true, ReuseEntry: true, ConcurrentCRC: true,
		Warn: func(err error) { c.warn(err) }})
	defer dec.Close() // stops the read-ahead goroutine on an early return
	// Duplicate keys make Redis refuse the file. The key set has a memory
	// budget; past it, duplicates are found at the end (Deferred) and
	// merged into the problems by offset. Equal key hashes are confirmed
	// by reading both keys again when the input allows it.
	//
	// The set runs on a second goroutine (dupWorker), which gets the keys
	// in batches of dupJobKeys: hashing, the table's cache misses and the
	// spill writes overlap with decoding. 1 GB strings.rdb, perf stat -r 3:
	// the same CPU (3.1 vs 3.4-3.6 s), half the wall time at load 13.
	w := &dupWorker{}
	c.w = w
	// Finish runs after the decoding, on the critical path, with the other
	// goroutines idle: it tests the spilled partitions on every core.
	opt := &keyspace.KeySetOptions{MemoryBudget: checkKeySetBudget, Duplicate: w.duplicate, FinishWorkers: runtime.GOMAXPROCS(0)}
	if ra != nil {
		// rr is set at the first key, when the AUX fields that decide
		// the flavour have been read and before any key is sent.
		opt.KeyAt = func(off int64, buf []byte) ([]byte, error) { return c.rr.KeyAt(off, buf) }
		w.entryAt = func(off int64) (*rdb.Entry, error) { return c.rr.EntryAt(off) }
	}
	w.start(keyspace.NewKeySet(opt))
	defer w.stop()
	c.job = <-w.free
	v, err := dec.Version()
	if err != nil {
		if isIOError(err) {
			return nil, err
		}
		if err := c.fail(err, dec.Offset(), nil); err != nil {
			return nil, err
		}
		return c.finish()
	}
	rep.Version = v
	var end error // how decoding ended: io.EOF at the footer
	var endOff int64
	if ra != nil && runtime.GOMAXPROCS(0) > 1 && splitCheck {
		end, endOff, err = c.runSplit(ctx, dec, p, size)
	} else {
		end, endOff, err = c.runSequential(ctx, dec, p, size)
	}
	switch {
	case err != nil:
		return nil, err
	case end == nil: // a value's problem stopped the check
		return c.finish()
	case end != io.EOF:
		if isIOError(end) {
			return nil, end
		}
		if errors.Is(end, rdb.ErrChecksum) {
			rep.Checksum = "mismatch"
			rep.StoredCRC, rep.ComputedCRC = dec.Checksum()
		}
		if err := c.fail(end, endOff, nil); err != nil {
			return nil, err
		}
		return c.finish()
	}
	if _, err := c.finish(); err != nil {
		return nil, err
	}
	rep.Size = dec.Offset()
	stored, computed := dec.Checksum()
	rep.StoredCRC, rep.ComputedCRC = stored, computed
	rep.Checksum = cli.ChecksumStatus(rep.Version, stored)
	return rep, nil
}

// splitCheck turns the split check off in tests that compare it with the
// sequential one.
var splitCheck = true

// checker is check's state between records, which it handles in file
// order whether their values were validated on the same goroutine
// (runSequential) or on others (runSplit).
type checker struct {
	rep  *checkReport
	now  int64
	ra   io.ReaderAt
	rr   *keyspace.RDBKeyReader // set at the first key when ra is
	w    *dupWorker
	job  *dupJob
	libs map[string]bool
	warn func(error)
	// Per type/encoding counts, folded into rep.Counts by finish (a
	// string concatenation and map update per key were a visible cost).
	counts [8][256]int64
}

// checkRecord is one record and, for a key, what validating its value
// gave.
type checkRecord struct {
	rec  rdb.Record // a record other than a key; nil for a key
	warn error      // a decoder warning, in place of a record
	off  int64      // the decoder's offset after the record
	e    rdb.Entry  // the key
	// the value: elements, hash fields with a TTL, and the error that
	// stopped its validation with the offset reached
	n, subExp int
	err       error
	errOff    int64
}

// sync sends the keys batched so far with op and waits for the duplicate
// test; its problems then join the report, in file order.
func (c *checker) sync(op dupOp, arg uint64) error {
	c.job.op, c.job.arg = op, arg
	c.w.jobs <- c.job
	err := <-c.w.done
	c.rep.Problems = append(c.rep.Problems, c.w.probs...)
	c.w.probs = nil
	c.job = <-c.w.free
	return err
}

// finish runs the rest of the duplicate test and merges what it found into
// the problems, which stay in file order, and folds the counts.
func (c *checker) finish() (*checkReport, error) {
	rep := c.rep
	for k := range c.counts {
		for e, n := range c.counts[k] {
			if n > 0 {
				rep.Counts[rdb.Kind(k).String()+"/"+rdb.Encoding(e).String()] += n
			}
		}
		c.counts[k] = [256]int64{}
	}
	if err := c.sync(dupFinish, 0); err != nil {
		return nil, err
	}
	if deferred := c.w.deferred; len(deferred) > 0 {
		probs := make([]checkProblem, 0, len(rep.Problems)+len(deferred))
		for _, pr := range rep.Problems {
			for len(deferred) > 0 && deferred[0].Offset < pr.Offset {
				probs, deferred = append(probs, deferred[0]), deferred[1:]
			}
			probs = append(probs, pr)
		}
		rep.Problems = append(probs, deferred...)
	}
	return rep, nil
}

// fail records the problem that stopped the check: err, found at offset
// off (unless err says where), while reading key cur (nil: between keys).
func (c *checker) fail(err error, off int64, cur *rdb.Entry) error {
	// Keys queued for the duplicate test come first.
	if err := c.sync(dupFlush, 0); err != nil {
		return err
	}
	pr := checkProblem{Offset: off, What: err.Error()}
	var fe *rdb.FormatError
	if errors.As(err, &fe) {
		pr.Offset = fe.Offset
		pr.Key = fe.Key
		pr.What = fe.Err.Error()
		if fe.Context != "" {
			pr.What = fe.Context + ": " + pr.What
		}
	}
	if cur != nil {
		if pr.Key == nil {
			pr.Key = bytes.Clone(cur.Key) // cur is reused by the decoder
		}
		pr.Type = strconv.Itoa(int(cur.Type)) + " (" + typeLabel(cur.Type) + ")"
	}
	c.rep.Problems = append(c.rep.Problems, pr)
	return nil
}

// record handles one record in file order. It reports stop when the
// record's value was damaged (the problem is in the report) and an error
// for an I/O failure.
func (c *checker) record(it *checkRecord, fl rdb.Flavour) (stop bool, err error) {
	rep := c.rep
	if it.warn != nil {
		rep.Warnings = append(rep.Warnings, it.warn.Error())
		return false, nil
	}
	if it.rec != nil {
		if err := c.sync(dupFlush, 0); err != nil {
			return false, err
		}
		off := it.off
		switch rec := it.rec.(type) {
		case *rdb.Aux:
			rep.Aux = append(rep.Aux, rec)
			rep.lines = append(rep.lines, fmt.Sprintf("[offset %d] AUX FIELD %s = '%s'", off, cli.PrintableBytes(rec.Key), cli.PrintableBytes(rec.Value)))
		case *rdb.ResizeDB:
			if err := c.sync(dupReserve, rec.DBSize); err != nil {
				return false, err
			}
		case *rdb.SelectDB:
			rep.DBs = append(rep.DBs, rec.DB)
			rep.lines = append(rep.lines, fmt.Sprintf("[offset %d] Selecting DB ID %d", off, rec.DB))
			if rec.DB >= keyspace.NumDBs {
				rep.Problems = append(rep.Problems, checkProblem{Offset: rec.Offset,
					What: fmt.Sprintf("select db: db %d out of range (databases %d)", rec.DB, keyspace.NumDBs)})
			}
		case *rdb.ModuleAux:
			rep.ModuleAux = append(rep.ModuleAux, rec.Name)
			rep.lines = append(rep.lines, fmt.Sprintf("[offset %d] MODULE AUX for: %s", off, cli.Printable(rec.Name)))
		case *rdb.Function:
			rep.Functions++
			name, err := keyspace.FunctionLibraryName(rec.Code)
			switch {
			case err != nil:
				rep.Problems = append(rep.Problems, checkProblem{Offset: rec.Offset, What: "function library: " + err.Error()})
			case c.libs[name]:
				rep.Problems = append(rep.Problems, checkProblem{Offset: rec.Offset, What: "duplicate function library " + strconv.Quote(name)})
			}
			c.libs[name] = true
		}
		return false, nil
	}
	e := &it.e
	rep.Keys++
	if e.ExpireAtMs != rdb.NoExpire {
		rep.Expires++
		if e.ExpireAtMs < c.now {
			rep.AlreadyExpired++
		}
	}
	if e.Kind == rdb.KindHash {
		rep.SubExpires += int64(it.subExp) // those read before an error too
	}
	if it.err != nil {
		if isIOError(it.err) {
			return false, it.err
		}
		return true, c.fail(it.err, it.errOff, e)
	}
	if it.n == 0 && e.Kind != rdb.KindString && e.Kind != rdb.KindStream && e.Kind != rdb.KindModule {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("offset %d: key %s: empty %s (Redis skips it on load)",
			e.Offset, strconv.Quote(string(e.Key)), e.Kind))
	}
	if int(e.Kind) < len(c.counts) {
		c.counts[e.Kind][e.Encoding]++
	} else {
		rep.Counts[e.Kind.String()+"/"+e.Encoding.String()]++
	}
	if c.rr == nil && c.ra != nil {
		c.rr = keyspace.NewRDBKeyReader(c.ra, fl)
	}
	job := c.job
	i := job.n
	job.db[i], job.off[i], job.typ[i] = e.DB, e.Offset, e.Type
	job.keys = append(job.keys, e.Key...)
	job.end[i] = len(job.keys)
	if job.n++; job.n == dupJobKeys || len(job.keys) >= 1<<20 {
		// Errors stay in the worker until the next sync.
		c.w.jobs <- job
		c.job = <-c.w.free
	}
	return false, nil
}

// valueSource is what validates a key's value: the Decoder itself, or a
// ValueDecoder.
type valueSource interface {
	CountElements() (n, withTTL int, err error)
	Value() (rdb.Value, error)
	Offset() int64
}

// checkValue validates the value of it.e from src. Collections are
// streamed element by element (the decoder validates them the same way
// as when it builds a Value), so checking allocates nothing per element.
func checkValue(it *checkRecord, src valueSource) {
	var err error
	switch it.e.Kind {
	case rdb.KindStream, rdb.KindModule:
		_, err = src.Value()
		it.n = 1
	default:
		it.n, it.subExp, err = src.CountElements()
	}
	if err != nil {
		it.err, it.errOff = err, src.Offset()
	}
}

// runSequential reads and validates every record on this goroutine. It
// returns how decoding ended (io.EOF at the footer; nil when a value's
// problem stopped it) and where.
func (c *checker) runSequential(ctx context.Context, dec *rdb.Decoder, p cli.Progress, size int64) (error, int64, error) {
	var it checkRecord
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, 0, err
			}
			p.Update(dec.Offset(), size)
		}
		rec, err := dec.Next()
		if err != nil {
			return err, dec.Offset(), nil
		}
		it = checkRecord{off: dec.Offset()}
		if e, ok := rec.(*rdb.Entry); ok {
			it.e = *e
			checkValue(&it, dec)
		} else {
			it.rec = rec
		}
		fl, _ := dec.Flavour()
		if stop, err := c.record(&it, fl); err != nil || stop {
			return nil, 0, err
		}
	}
}

// isIOError tells operational read failures (exit 1) from bad data.
func isIOError(err error) bool {
	var pe *os.PathError
	return errors.As(err, &pe)
}

func runCheck(ctx context.Context, o *checkOptions) error {
	now, err := parseNow(o.now)
	if err != nil {
		return err
	}
	if now == 0 {
		now = o.env.NowMs()
	}
	in, err := openInput(o.env, o.file)
	if err != nil {
		return err
	}
	defer in.Close()
	p := o.env.NewProgress(o.g, "checking")
	// A second handle on a regular file lets the duplicate-key test read
	// keys again (pread; the stream position is untouched).
	var ra io.ReaderAt
	// Stat first: opening a FIFO whose writer is gone would wait forever.
	if st, err := os.Stat(o.file); o.file != "-" && err == nil && st.Mode().IsRegular() {
		if f, err := os.Open(o.file); err == nil {
			defer f.Close()
			ra = f
		}
	}
	// The decoder reads ahead itself; in's bufio.Reader would only be
	// a layer more.
	rep, err := checkFile(ctx, in.count, ra, now, p, in.size)
	p.Done()
	if err != nil {
		return fmt.Errorf("%s: %w", o.file, err)
	}
	rep.File = o.file
	// The resync reads the file again: not possible for stdin or a FIFO.
	if !rep.ok() && ra != nil && rep.Checksum != "mismatch" {
		rep.resync(ctx, o.file)
	}
	w := bufio.NewWriter(o.env.Out)
	if o.g.JSON {
		w.Write(rep.appendJSON(nil))
	} else {
		outPal, _ := o.env.Palettes(o.g)
		rep.writeText(w, outPal, o.env.IsTTY.Out, o.g.Quiet)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if !rep.ok() {
		return cli.Silent(cli.ExitInvalid)
	}
	return nil
}

// resync looks past the first damage, the way --fix does, to report every
// problem and the keys that cannot be recovered. It needs random access,
// so it maps the file.
func (r *checkReport) resync(ctx context.Context, path string) {
	in, err := cli.MapPath(path)
	if err != nil {
		return
	}
	defer in.Release()
	var res *salvage
	err = cli.WithMapped(path, func() (err error) {
		res, err = salvageRDB(ctx, in.Data, nil, in.DoneBefore, nil)
		return err
	})
	if err != nil || len(res.Problems) == 0 {
		return
	}
	r.Problems = append(r.Problems, res.Problems[1:]...)
	r.Unreadable = res.Dropped
	r.LostKeys = res.DroppedKeys
}

func (r *checkReport) sortedCounts() []string {
	ks := make([]string, 0, len(r.Counts))
	for k := range r.Counts {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func (r *checkReport) writeText(w *bufio.Writer, pal *cli.Palette, tty, quiet bool) {
	if !quiet {
		fmt.Fprintf(w, "[offset 0] Checking RDB file %s\n", cli.Printable(r.File))
		if r.Version > 0 {
			fmt.Fprintf(w, "[info] RDB version %d\n", r.Version)
		}
		for _, l := range r.lines {
			fmt.Fprintln(w, l)
		}
	}
	end := r.Size
	if r.ok() {
		switch r.Checksum {
		case "disabled":
			fmt.Fprintf(w, "[offset %d] RDB file was saved with checksum disabled: no check performed.\n", end)
		case "ok":
			fmt.Fprintf(w, "[offset %d] Checksum OK\n", end)
		}
		fmt.Fprintf(w, "[offset %d] %s\n", end, pal.OK.Sprint(`\o/ RDB looks OK! \o/`))
	} else {
		fmt.Fprintln(w, pal.Bad.Sprint("--- RDB ERROR DETECTED ---"))
		for _, p := range r.Problems {
			fmt.Fprintf(w, "[offset %d] %s\n", p.Offset, cli.Printable(p.What))
			if p.Key != nil {
				fmt.Fprintf(w, "[additional info] Reading key '%s'\n", cli.PrintableBytes(p.Key))
			}
			if p.Type != "" {
				fmt.Fprintf(w, "[additional info] Reading type %s\n", p.Type)
			}
		}
		for _, k := range r.LostKeys {
			fmt.Fprintf(w, "[lost] key '%s' at offset %d: %s\n", cli.PrintableBytes(k.Key), k.Offset, cli.Printable(k.What))
		}
		for _, u := range r.Unreadable {
			fmt.Fprintf(w, "[lost] bytes %d-%d unreadable (%d bytes)\n", u[0], u[1], u[1]-u[0])
		}
		if len(r.Unreadable) > 0 || len(r.LostKeys) > 0 {
			fmt.Fprintf(w, "[hint] rdbtool check --fix -o OUT %s keeps every intact key\n", cli.Printable(r.File))
		}
	}
	fmt.Fprintf(w, "[info] %d keys read\n", r.Keys)
	fmt.Fprintf(w, "[info] %d expires\n", r.Expires)
	fmt.Fprintf(w, "[info] %d already expired\n", r.AlreadyExpired)
	fmt.Fprintf(w, "[info] %d subexpires\n", r.SubExpires)
	if quiet {
		return
	}
	if r.Functions > 0 {
		fmt.Fprintf(w, "[info] %d function libraries\n", r.Functions)
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "[warning] %s\n", cli.Printable(warn))
	}
	if len(r.Counts) > 0 {
		fmt.Fprintln(w)
		t := cli.NewTable(w, tty, "TYPE", "ENCODING", "KEYS")
		for _, k := range r.sortedCounts() {
			typ, enc := splitCount(k)
			t.Append(typ, enc, strconv.FormatInt(r.Counts[k], 10))
		}
		t.Render()
	}
}

func splitCount(k string) (string, string) {
	for i := 0; i < len(k); i++ {
		if k[i] == '/' {
			return k[:i], k[i+1:]
		}
	}
	return k, ""
}

func (r *checkReport) appendJSON(b []byte) []byte {
	b = append(b, `{"file":`...)
	b = cli.AppendString(b, r.File)
	b = append(b, `,"ok":`...)
	b = strconv.AppendBool(b, r.ok())
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, int64(r.Version), 10)
	b = append(b, `,"aux":{`...)
	for i, a := range r.Aux {
		if i > 0 {
			b = append(b, ',')
		}
		b = cli.AppendString(b, cli.PrintableBytes(a.Key))
		b = append(b, ':')
		b = cli.AppendBytes(b, a.Value)
	}
	b = append(b, `},"dbs":[`...)
	for i, d := range r.DBs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, d, 10)
	}
	b = append(b, `],"keys":`...)
	b = strconv.AppendInt(b, r.Keys, 10)
	b = append(b, `,"expires":`...)
	b = strconv.AppendInt(b, r.Expires, 10)
	b = append(b, `,"already_expired":`...)
	b = strconv.AppendInt(b, r.AlreadyExpired, 10)
	b = append(b, `,"subexpires":`...)
	b = strconv.AppendInt(b, r.SubExpires, 10)
	b = append(b, `,"functions":`...)
	b = strconv.AppendInt(b, int64(r.Functions), 10)
	b = append(b, `,"module_aux":[`...)
	for i, m := range r.ModuleAux {
		if i > 0 {
			b = append(b, ',')
		}
		b = cli.AppendString(b, m)
	}
	b = append(b, `],"types":{`...)
	for i, k := range r.sortedCounts() {
		if i > 0 {
			b = append(b, ',')
		}
		b = cli.AppendString(b, k)
		b = append(b, ':')
		b = strconv.AppendInt(b, r.Counts[k], 10)
	}
	b = append(b, `},"checksum":`...)
	b = cli.AppendString(b, r.Checksum)
	b = append(b, `,"stored_crc":"`...)
	b = strconv.AppendUint(b, r.StoredCRC, 16)
	b = append(b, `","computed_crc":"`...)
	b = strconv.AppendUint(b, r.ComputedCRC, 16)
	b = append(b, `","problems":[`...)
	for i, p := range r.Problems {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"offset":`...)
		b = strconv.AppendInt(b, p.Offset, 10)
		if p.Key != nil {
			b = append(b, `,"key":`...)
			b = cli.AppendBytes(b, p.Key)
		}
		if p.Type != "" {
			b = append(b, `,"type":`...)
			b = cli.AppendString(b, p.Type)
		}
		b = append(b, `,"what":`...)
		b = cli.AppendString(b, p.What)
		b = append(b, '}')
	}
	b = append(b, `],"lost_keys":`...)
	b = appendKeyProblems(b, r.LostKeys)
	b = append(b, `,"unreadable_ranges":`...)
	b = appendRanges(b, r.Unreadable)
	b = append(b, `,"warnings":[`...)
	for i, w := range r.Warnings {
		if i > 0 {
			b = append(b, ',')
		}
		b = cli.AppendString(b, w)
	}
	return append(b, "]}\n"...)
}

// appendKeyProblems appends keys lost to damage as a JSON array of
// {"offset","key","what"} (check's lost_keys, fix's dropped_keys).
func appendKeyProblems(b []byte, keys []checkProblem) []byte {
	b = append(b, '[')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"offset":`...)
		b = strconv.AppendInt(b, k.Offset, 10)
		b = append(b, `,"key":`...)
		b = cli.AppendBytes(b, k.Key)
		b = append(b, `,"what":`...)
		b = cli.AppendString(b, k.What)
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendRanges appends byte ranges as a JSON array of [start,end] pairs.
func appendRanges(b []byte, ranges [][2]int64) []byte {
	b = append(b, '[')
	for i, r := range ranges {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, r[0], 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, r[1], 10)
		b = append(b, ']')
	}
	return append(b, ']')
}
