package main

import (
	"context"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/persistkit/persistkit/format/rdb"
	"github.com/persistkit/persistkit/internal/cli"
	"github.com/persistkit/persistkit/keyspace"
)

type dumpOptions struct {
	env     *cli.Env
	g       *cli.Globals
	file    string
	format  string
	dbs     []uint
	key     string
	types   []string
	expired string
	now     string
	minSize int64
	maxSize int64
	output  string
	// keepDeadFields keeps hash fields whose TTL passed before the save.
	keepDeadFields bool
}

func newDumpCmd(env *cli.Env, g *cli.Globals) *cobra.Command {
	o := &dumpOptions{env: env, g: g}
	cmd := &cobra.Command{
		Use:   "dump FILE",
		Short: "Print every key of an RDB file (JSONL, JSON, CSV, RESP or key names)",
		Long: `dump streams the records of FILE to stdout, one at a time.

Formats:
  jsonl  (default) one JSON object per record: AUX fields, function
         libraries, module aux data, and keys as
         {"db","key","type","encoding","expire_at_ms","idle_s","freq","value"}.
         Byte strings are JSON strings when valid UTF-8, else {"base64":..}.
  json   the same objects as one JSON array
  csv    db,key,type,encoding,expire_at_ms,size_bytes,elements
  resp   the commands that rebuild the data (like an AOF rewrite)
  keys   key names, one per line

Keys appear in file order, including keys whose TTL has passed unless
--expired exclude is given. Hash fields whose TTL had already passed when
the file was saved (per its ctime AUX field, to the second) are left out,
as every server loading the file drops them, and a hash left without
fields is left out entirely; --keep-expired-fields shows them. With
--expired exclude, fields expired before --now are left out too.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.file = args[0]
			if o.g.JSON && !cmd.Flags().Changed("format") {
				o.format = "jsonl"
			}
			return runDump(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.format, "format", "f", "jsonl", "output format: jsonl, json, csv, resp, keys")
	f.UintSliceVar(&o.dbs, "db", nil, "only keys of this database (repeatable)")
	f.StringVar(&o.key, "key", "", "only keys matching this regular expression")
	f.StringSliceVar(&o.types, "type", nil, "only keys of this type: string, list, set, zset, hash, stream, module (repeatable)")
	f.StringVar(&o.expired, "expired", "include", "keys whose TTL passed before --now: include, exclude, only")
	f.StringVar(&o.now, "now", "", "reference time for --expired in Unix ms (default: now)")
	f.Int64Var(&o.minSize, "min-size", 0, "only keys whose value has at least this many payload bytes")
	f.Int64Var(&o.maxSize, "max-size", 0, "only keys whose value has at most this many payload bytes (0: no limit)")
	f.StringVarP(&o.output, "output", "o", "-", "write to this file instead of stdout")
	f.BoolVar(&o.keepDeadFields, "keep-expired-fields", false, "keep hash fields whose TTL had passed when the file was saved")
	return cmd
}

// dumpFilter decides which entries dump shows.
type dumpFilter struct {
	dbs     map[uint64]bool
	key     *regexp.Regexp
	kinds   map[rdb.Kind]bool
	expired string
	now     int64
	minSize int64
	maxSize int64
	// fieldCutoff drops hash fields with a TTL before it (0: keep all).
	fieldCutoff int64
}

func (o *dumpOptions) filter() (*dumpFilter, error) {
	f := &dumpFilter{expired: o.expired, minSize: o.minSize, maxSize: o.maxSize}
	if len(o.dbs) > 0 {
		f.dbs = map[uint64]bool{}
		for _, d := range o.dbs {
			f.dbs[uint64(d)] = true
		}
	}
	if o.key != "" {
		re, err := regexp.Compile(o.key)
		if err != nil {
			return nil, cli.Usagef("--key: %w", err)
		}
		f.key = re
	}
	if len(o.types) > 0 {
		f.kinds = map[rdb.Kind]bool{}
		for _, t := range o.types {
			k, ok := parseKind(t)
			if !ok {
				return nil, cli.Usagef("--type: unknown type %q", t)
			}
			f.kinds[k] = true
		}
	}
	switch o.expired {
	case "include":
	case "exclude", "only":
		now, err := parseNow(o.now)
		if err != nil {
			return nil, err
		}
		if now == 0 {
			now = o.env.NowMs()
		}
		f.now = now
		if o.expired == "exclude" {
			f.fieldCutoff = now
		}
	default:
		return nil, cli.Usagef("--expired: want include, exclude or only, got %q", o.expired)
	}
	if o.minSize < 0 || o.maxSize < 0 {
		return nil, cli.Usagef("--min-size/--max-size must not be negative")
	}
	return f, nil
}

// any says whether some key-level filter is set (then non-key records are
// not shown).
func (f *dumpFilter) any() bool {
	return f.dbs != nil || f.key != nil || f.kinds != nil || f.expired != "include" || f.minSize > 0 || f.maxSize > 0
}

func (f *dumpFilter) needsSize() bool { return f.minSize > 0 || f.maxSize > 0 }

// matchEntry applies the filters known before the value is read.
func (f *dumpFilter) matchEntry(e *rdb.Entry) bool {
	if f.dbs != nil && !f.dbs[e.DB] {
		return false
	}
	if f.kinds != nil && !f.kinds[e.Kind] {
		return false
	}
	if f.key != nil && !f.key.Match(e.Key) {
		return false
	}
	if f.expired != "include" {
		exp := e.ExpireAtMs != rdb.NoExpire && e.ExpireAtMs < f.now
		if exp != (f.expired == "only") {
			return false
		}
	}
	return true
}

func (f *dumpFilter) matchSize(n int64) bool {
	return n >= f.minSize && (f.maxSize == 0 || n <= f.maxSize)
}

// dumpSink is one output format.
type dumpSink interface {
	record(rec rdb.Record) error
	entry(e *rdb.Entry, v rdb.Value) error
	close() error
}

func runDump(ctx context.Context, o *dumpOptions) error {
	filt, err := o.filter()
	if err != nil {
		return err
	}
	switch o.format {
	case "jsonl", "json", "csv", "resp", "keys":
	default:
		return cli.Usagef("--format: want jsonl, json, csv, resp or keys, got %q", o.format)
	}
	in, err := openInput(o.env, o.file)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := o.env.OpenOutput(o.output, false, true)
	if err != nil {
		return err
	}
	defer out.Abort()
	ob := newOutBuf(out)
	// ReuseEntry: the pipeline copies what it keeps. The decoder buffers
	// its input itself; in's bufio.Reader would copy every byte once more.
	dec := rdb.NewDecoder(in.count, &rdb.DecodeOptions{ReuseEntry: true, ConcurrentCRC: true})
	defer dec.Close() // stops the checksum goroutine on an early return
	var sink dumpSink
	switch o.format {
	case "jsonl":
		sink = &jsonSink{o: ob}
	case "json":
		sink = &jsonSink{o: ob, array: true}
	case "csv":
		sink = newCSVSink(ob)
	case "resp":
		sink = newRESPSink(ob, dec)
	case "keys":
		sink = &keysSink{o: ob}
	}
	p := o.env.NewProgress(o.g, "dumping")
	_, derr := runPipeline(ctx, dec, pipeConfig{
		filt:        filt,
		needValue:   o.format != "keys" || filt.needsSize(),
		ctimeCutoff: !o.keepDeadFields,
		// The decoder's offset, not in.count: the decoder may read
		// ahead on a goroutine of its own.
		progress: func() { p.Update(dec.Offset(), in.size) },
	}, sink)
	p.Done()
	// Flush what was decoded before a failure: a partial dump of a damaged
	// file is still useful, and the exit code says it is incomplete.
	cerr := sink.close()
	if ferr := ob.flush(); cerr == nil {
		cerr = ferr
	}
	if derr != nil {
		return fmt.Errorf("%s: %w", o.file, derr)
	}
	if cerr != nil {
		return cerr
	}
	return out.Commit()
}

// jsonSink writes the canonical JSON, one object per line, or as an array.
type jsonSink struct {
	o     *outBuf
	array bool
	n     int
}

func (s *jsonSink) start() {
	if s.array {
		if s.n == 0 {
			s.o.buf = append(s.o.buf, "[\n"...)
		} else {
			s.o.buf = append(s.o.buf, ",\n"...)
		}
	}
	s.n++
}

func (s *jsonSink) record(rec rdb.Record) error {
	mark := len(s.o.buf)
	s.start()
	b, ok := cli.AppendRecord(s.o.buf, rec)
	if !ok {
		s.o.buf = b[:mark] // undo the separator
		s.n--
		return nil
	}
	if !s.array {
		b = append(b, '\n')
	}
	s.o.buf = b
	return s.o.check()
}

func (s *jsonSink) entry(e *rdb.Entry, v rdb.Value) error {
	s.start()
	b := cli.AppendEntry(s.o.buf, e, v)
	if !s.array {
		b = append(b, '\n')
	}
	s.o.buf = b
	return s.o.check()
}

func (s *jsonSink) close() error {
	if !s.array {
		return nil
	}
	if s.n == 0 {
		s.o.buf = append(s.o.buf, "[]\n"...)
	} else {
		s.o.buf = append(s.o.buf, "\n]\n"...)
	}
	return s.o.check()
}

// csvSink writes one row per key; non-UTF-8 keys become base64:<...>.
type csvSink struct {
	w *csv.Writer
}

func newCSVSink(w io.Writer) *csvSink {
	s := &csvSink{w: csv.NewWriter(w)}
	s.w.Write([]string{"db", "key", "type", "encoding", "expire_at_ms", "size_bytes", "elements"})
	return s
}

func (s *csvSink) record(rdb.Record) error { return nil }

func (s *csvSink) entry(e *rdb.Entry, v rdb.Value) error {
	exp := ""
	if e.ExpireAtMs != rdb.NoExpire {
		exp = strconv.FormatInt(e.ExpireAtMs, 10)
	}
	return s.w.Write([]string{
		strconv.FormatUint(e.DB, 10), textKey(e.Key), e.Kind.String(), e.Encoding.String(), exp,
		strconv.FormatInt(valueSize(v), 10), strconv.FormatInt(valueLen(v), 10),
	})
}

func (s *csvSink) close() error {
	s.w.Flush()
	return s.w.Error()
}

// textKey is a key for text formats: as is when valid UTF-8, else
// base64:<...>.
func textKey(k []byte) string {
	if utf8.Valid(k) {
		return string(k)
	}
	return "base64:" + base64.StdEncoding.EncodeToString(k)
}

// keysSink prints key names, quoted when not printable.
type keysSink struct{ o *outBuf }

func (s *keysSink) record(rdb.Record) error { return nil }
func (s *keysSink) entry(e *rdb.Entry, _ rdb.Value) error {
	s.o.buf = append(s.o.buf, cli.PrintableBytes(e.Key)...)
	s.o.buf = append(s.o.buf, '\n')
	return s.o.check()
}
func (s *keysSink) close() error { return nil }

// respSink writes the commands that rebuild each key.
type respSink struct {
	o       *outBuf
	rw      *keyspace.Rewriter
	curDB   int64
	skipped int // module values without a command form, left out
	args    [2][]byte
	num     []byte
}

// newRESPSink writes commands to o; DUMP payloads (module values) use the
// input's RDB version, read from dec when it knows it.
func newRESPSink(o *outBuf, dec *rdb.Decoder) *respSink {
	ver := 0
	if dec != nil {
		ver, _ = dec.Version()
	}
	if ver == 0 {
		ver = 12
	}
	opt := keyspace.RewriteOptions{ScorePrecision: 17, ModuleDumpVersion: max(ver, 9)}
	s := &respSink{o: o, curDB: -1}
	s.rw = keyspace.NewRewriter(s.emit, opt)
	return s
}

// emit writes one command as Redis writes it to an AOF (resp.Writer's
// format): "*<argc>\r\n", then "$<len>\r\n<bytes>\r\n" per argument.
func (s *respSink) emit(args ...[]byte) error {
	if len(args) == 0 {
		return nil
	}
	n := 24
	for _, a := range args {
		n += len(a) + 26
	}
	b := slices.Grow(s.o.buf, n)
	b = appendRESPHeader(b, '*', len(args))
	for _, a := range args {
		b = appendRESPHeader(b, '$', len(a))
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	s.o.buf = b
	return s.o.check()
}

// appendRESPHeader appends "<prefix><n>\r\n"; most lengths and counts have
// one or two digits.
func appendRESPHeader(b []byte, prefix byte, n int) []byte {
	switch {
	case n < 10:
		return append(b, prefix, byte('0'+n), '\r', '\n')
	case n < 100:
		return append(b, prefix, byte('0'+n/10), byte('0'+n%10), '\r', '\n')
	}
	b = append(b, prefix)
	b = strconv.AppendUint(b, uint64(n), 10)
	return append(b, '\r', '\n')
}

var cmdSelect = []byte("SELECT")

func (s *respSink) record(rec rdb.Record) error {
	if f, ok := rec.(*rdb.Function); ok {
		return s.rw.FunctionLoad(f.Code)
	}
	return nil
}

func (s *respSink) entry(e *rdb.Entry, v rdb.Value) error {
	if int64(e.DB) != s.curDB {
		s.curDB = int64(e.DB)
		s.num = strconv.AppendUint(s.num[:0], e.DB, 10)
		s.args = [2][]byte{cmdSelect, s.num}
		if err := s.emit(s.args[:]...); err != nil {
			return err
		}
	}
	err := s.rw.Key(e.Key, v, e.ExpireAtMs)
	if errors.Is(err, keyspace.ErrNoCommandForm) {
		s.skipped++
		return nil
	}
	return err
}

func (s *respSink) close() error { return s.o.err }
