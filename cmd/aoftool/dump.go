package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/persistkit/persistkit/format/manifest"
	"github.com/persistkit/persistkit/format/rdb"
	"github.com/persistkit/persistkit/format/resp"
	"github.com/persistkit/persistkit/internal/cli"
	"github.com/persistkit/persistkit/keyspace"
)

type dumpOptions struct {
	env         *cli.Env
	g           *cli.Globals
	path        string
	format      string
	output      string
	explicitOut bool
	db          int
	commands    []string
	key         string
	since       int64
	until       int64
	hasSince    bool
	hasUntil    bool
}

func newDumpCmd(env *cli.Env, g *cli.Globals) *cobra.Command {
	o := &dumpOptions{env: env, g: g}
	cmd := &cobra.Command{
		Use:   "dump AOF",
		Short: "Print the commands of an AOF",
		Long: `dump prints the commands of AOF in load order, one per line.

  --format text   arguments quoted like redis-cli ("SET" "k" "v")
  --format jsonl  one JSON object per command: file, offset, db, timestamp
                  and annotation when present, args (strings, or
                  {"base64": ...} when not valid UTF-8)
  --format resp   the selected commands as a loadable AOF (SELECT is
                  inserted where the database changes); binary, so -o FILE
                  or -o - is needed on a terminal

Filters: --db N keeps commands run in database N; --command NAME (may be
repeated, case-insensitive); --key REGEX matches the first argument after
the command name (the key for most commands); --since/--until T (Unix
seconds) keep commands whose latest "#TS:" annotation lies in [T1, T2]
(commands before any annotation have no time and are left out).

The keys of an RDB preamble or RDB base file are shown as the commands an
AOF rewrite writes for them (JSON marks them "from_rdb"; offset is the
key's offset in the RDB), with a note on stderr. A damaged record ends the dump with exit status 3 after
everything before it was printed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.path = args[0]
			o.explicitOut = cmd.Flags().Changed("output")
			o.hasSince = cmd.Flags().Changed("since")
			o.hasUntil = cmd.Flags().Changed("until")
			return runDump(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.format, "format", "text", "output format: text, jsonl or resp")
	f.StringVarP(&o.output, "output", "o", "", "write to this file instead of stdout (\"-\": stdout)")
	f.IntVar(&o.db, "db", -1, "only commands run in this database")
	f.StringArrayVar(&o.commands, "command", nil, "only this command (repeatable)")
	f.StringVar(&o.key, "key", "", "only commands whose first argument matches this regular expression")
	f.Int64Var(&o.since, "since", 0, "only commands annotated at or after this Unix time (seconds)")
	f.Int64Var(&o.until, "until", 0, "only commands annotated at or before this Unix time (seconds)")
	return cmd
}

// dumpFilter decides which commands are printed.
type dumpFilter struct {
	db       int
	commands map[string]bool
	key      *regexp.Regexp
	since    int64
	until    int64
	timed    bool
}

func (f *dumpFilter) match(db int, ts int64, hasTS bool, args [][]byte) bool {
	if f.db >= 0 && db != f.db {
		return false
	}
	if f.commands != nil && !f.commands[strings.ToLower(string(args[0]))] {
		return false
	}
	if f.key != nil && (len(args) < 2 || !f.key.Match(args[1])) {
		return false
	}
	if f.timed && (!hasTS || ts < f.since || ts > f.until) {
		return false
	}
	return true
}

func runDump(ctx context.Context, o *dumpOptions) error {
	switch o.format {
	case "text", "jsonl", "resp":
	default:
		return cli.Usagef("--format: want text, jsonl or resp, got %q", o.format)
	}
	flt := &dumpFilter{db: o.db, since: o.since, until: 1<<63 - 1, timed: o.hasSince || o.hasUntil}
	if o.hasUntil {
		flt.until = o.until
	}
	if o.db >= 16 {
		return cli.Usagef("--db: want 0..15, got %d", o.db)
	}
	if len(o.commands) > 0 {
		flt.commands = map[string]bool{}
		for _, c := range o.commands {
			flt.commands[strings.ToLower(c)] = true
		}
	}
	if o.key != "" {
		re, err := regexp.Compile(o.key)
		if err != nil {
			return cli.Usagef("--key: %v", err)
		}
		flt.key = re
	}
	a, err := locate(o.path)
	if err != nil {
		return err
	}
	for _, p := range a.set.Problems {
		if p.Kind == manifest.ProblemMissing || p.Kind == manifest.ProblemUnreadable {
			return cli.Invalid(fmt.Errorf("%s: %s", p.Path, p.Kind))
		}
	}
	out, err := o.env.OpenOutput(o.output, o.format == "resp", o.explicitOut)
	if err != nil {
		return err
	}
	defer out.Abort()
	bw := bufio.NewWriterSize(out, 256<<10)
	d := &dumper{o: o, flt: flt, w: bw, emittedDB: 0}
	if o.format == "resp" {
		d.rw = resp.NewWriter(bw)
	}
	var total int64
	for _, e := range a.set.Load {
		total += max(e.Size, 0)
	}
	p := o.env.NewProgress(o.g, "dumping")
	defer p.Done()
	var base int64
	var dumpErr error
	for i := range a.set.Load {
		e := &a.set.Load[i]
		if e.Size <= 0 {
			continue
		}
		if err := d.file(ctx, a.display(e), e.Path, p, base, total); err != nil {
			dumpErr = err
			break
		}
		base += e.Size
	}
	if d.rw != nil {
		if err := d.rw.Flush(); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if dumpErr != nil {
		return dumpErr // partial stdout output stands; a file output is discarded
	}
	return out.Commit()
}

type dumper struct {
	o         *dumpOptions
	flt       *dumpFilter
	w         *bufio.Writer
	rw        *resp.Writer
	emittedDB int
	line      []byte
	fromRDB   bool // the command being emitted stands for an RDB key
}

func (d *dumper) file(ctx context.Context, name, path string, p cli.Progress, base, total int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	pr := &progressReader{ctx: ctx, r: f, p: p, base: base, total: total}
	br := bufio.NewReaderSize(pr, 256<<10)
	rr := resp.NewReader(br, &resp.ReaderOptions{Reuse: true})
	db := 0 // every file is loaded by a fresh client
	var ts int64
	hasTS := false
	for {
		cmd, err := rr.Next()
		switch {
		case err == io.EOF:
			return nil
		case errors.Is(err, resp.ErrRDBPreamble):
			keys, err := d.rdbPart(name, br, &db)
			if err != nil {
				return err
			}
			end := pr.n - int64(br.Buffered())
			rr.SetOffset(end)
			if !d.o.g.Quiet {
				fmt.Fprintf(d.o.env.Err, "aoftool: note: %s: RDB part (bytes 0-%d, %d keys) shown as the commands an AOF rewrite would write\n", cli.Printable(name), end, keys)
			}
			continue
		case err != nil:
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			return fmt.Errorf("%s: %w", name, err)
		}
		if a, ok := strings.CutPrefix(cmd.Annotation, "TS:"); ok {
			if v, err := strconv.ParseInt(a, 10, 64); err == nil {
				ts, hasTS = v, true
			}
		}
		isSelect := bytes.EqualFold(cmd.Args[0], []byte("select"))
		cur := db
		if isSelect && len(cmd.Args) == 2 {
			if n, err := strconv.Atoi(string(cmd.Args[1])); err == nil {
				db = n
			}
		}
		if !d.flt.match(cur, ts, hasTS, cmd.Args) {
			continue
		}
		if err := d.emit(name, &cmd, cur, ts, hasTS, isSelect); err != nil {
			return err
		}
	}
}

// rdbPart shows the keys of an RDB preamble or base as the commands an AOF
// rewrite writes for them (FUNCTION LOAD, SELECT, SET/RPUSH/..., PEXPIREAT);
// their offset is the key's offset in the RDB and JSON marks them
// "from_rdb". db tracks SELECT like a replay would.
func (d *dumper) rdbPart(name string, br *bufio.Reader, db *int) (int, error) {
	dec := rdb.NewDecoder(br, nil)
	keys := 0
	var off int64
	emit := func(args ...[]byte) error {
		cmd := resp.Command{Args: args, Offset: off, RecordOffset: off}
		isSelect := bytes.EqualFold(args[0], []byte("select"))
		cur := *db
		if isSelect {
			*db, _ = strconv.Atoi(string(args[1]))
		}
		if !d.flt.match(cur, 0, false, args) {
			return nil
		}
		d.fromRDB = true
		defer func() { d.fromRDB = false }()
		return d.emit(name, &cmd, cur, 0, false, isSelect)
	}
	rw := keyspace.NewRewriter(emit, keyspace.RewriteOptions{})
	for {
		rec, err := dec.Next()
		if err == io.EOF {
			return keys, nil
		}
		if err != nil {
			return keys, fmt.Errorf("%s: RDB part: %w", name, err)
		}
		switch rec := rec.(type) {
		case *rdb.Function:
			off = rec.Offset
			err = rw.FunctionLoad(rec.Code)
		case *rdb.Entry:
			off = rec.Offset
			keys++
			var v rdb.Value
			if v, err = dec.Value(); err != nil {
				return keys, fmt.Errorf("%s: RDB part: %w", name, err)
			}
			if int(rec.DB) != *db {
				if err = emit([]byte("SELECT"), []byte(strconv.FormatUint(rec.DB, 10))); err != nil {
					return keys, err
				}
			}
			if err = rw.Key(rec.Key, v, rec.ExpireAtMs); errors.Is(err, keyspace.ErrNoCommandForm) {
				err = nil
				fmt.Fprintf(d.o.env.Err, "aoftool: warning: %s: key '%s' (module value) has no command form; left out\n", cli.Printable(name), cli.PrintableBytes(rec.Key))
			}
		}
		if err != nil {
			return keys, err
		}
	}
}

func (d *dumper) emit(name string, cmd *resp.Command, db int, ts int64, hasTS, isSelect bool) error {
	switch d.o.format {
	case "resp":
		if isSelect {
			return nil // SELECT is written where the database changes
		}
		if db != d.emittedDB {
			d.rw.WriteStrings("SELECT", strconv.Itoa(db))
			d.emittedDB = db
		}
		return d.rw.WriteCommand(cmd.Args...)
	case "jsonl":
		b := append(d.line[:0], `{"file":`...)
		b = cli.AppendString(b, name)
		b = append(b, `,"offset":`...)
		b = strconv.AppendInt(b, cmd.RecordOffset, 10)
		b = append(b, `,"db":`...)
		b = strconv.AppendInt(b, int64(db), 10)
		if hasTS {
			b = append(b, `,"timestamp":`...)
			b = strconv.AppendInt(b, ts, 10)
		}
		if d.fromRDB {
			b = append(b, `,"from_rdb":true`...)
		}
		if cmd.Annotation != "" {
			b = append(b, `,"annotation":`...)
			b = cli.AppendString(b, cmd.Annotation)
		}
		b = append(b, `,"args":[`...)
		for i, a := range cmd.Args {
			if i > 0 {
				b = append(b, ',')
			}
			b = cli.AppendBytes(b, a)
		}
		b = append(b, "]}\n"...)
		d.line = b
		_, err := d.w.Write(b)
		return err
	}
	b := d.line[:0]
	for i, a := range cmd.Args {
		if i > 0 {
			b = append(b, ' ')
		}
		b = appendQuoted(b, a)
	}
	b = append(b, '\n')
	d.line = b
	_, err := d.w.Write(b)
	return err
}

// appendQuoted quotes like redis-cli (sdscatrepr): double quotes, \n \r
// \t \a \b, escaped \\ and \", other non-printable bytes as \xHH, so no
// argument can reach the terminal raw.
func appendQuoted(b, s []byte) []byte {
	b = append(b, '"')
	for _, c := range s {
		switch c {
		case '\\', '"':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\a':
			b = append(b, '\\', 'a')
		case '\b':
			b = append(b, '\\', 'b')
		default:
			if c < 0x20 || c >= 0x7f {
				b = append(b, '\\', 'x', "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
			} else {
				b = append(b, c)
			}
		}
	}
	return append(b, '"')
}

// quoteArg is appendQuoted as a string, for messages.
func quoteArg(s []byte) string { return string(appendQuoted(nil, s)) }
