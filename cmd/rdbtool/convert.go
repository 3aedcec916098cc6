package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/persistkit/persistkit/format/manifest"
	"github.com/persistkit/persistkit/format/rdb"
	"github.com/persistkit/persistkit/internal/cli"
)

type convertOptions struct {
	env          *cli.Env
	g            *cli.Globals
	file         string
	output       string
	to           string
	from         string
	rdbVersion   int
	lossy        bool
	keepEncoding bool
	explicitOut  bool
}

func newConvertCmd(env *cli.Env, g *cli.Globals) *cobra.Command {
	o := &convertOptions{env: env, g: g}
	cmd := &cobra.Command{
		Use:   "convert FILE -o OUT --to aof|aof-dir|rdb",
		Short: "Convert an RDB file to AOF, to another RDB version, or JSONL to RDB",
		Long: `convert rewrites the keyspace of FILE in another form:

  --to aof      one RESP file of the commands that rebuild the data, like
                BGREWRITEAOF with aof-use-rdb-preamble no
  --to aof-dir  a Redis 7 appendonlydir (OUT is the directory): a RESP base
                file, an empty incr file and the manifest
  --to rdb      an RDB file at --rdb-version (default: the input's version)

--from jsonl reads FILE as the canonical JSONL of "rdbtool dump" and
writes an RDB (--to rdb). Values the target cannot hold (field TTLs, stream
metadata, functions on old versions) fail unless --lossy, which drops them
and reports each loss on stderr. Output files appear only when complete.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.file = args[0]
			o.explicitOut = cmd.Flags().Changed("output")
			return runConvert(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "", "output file or directory (\"-\": stdout)")
	f.StringVar(&o.to, "to", "", "target: aof, aof-dir, rdb")
	f.StringVar(&o.from, "from", "rdb", "input format: rdb or jsonl")
	f.IntVar(&o.rdbVersion, "rdb-version", 0, "RDB version to write (--to rdb)")
	f.BoolVar(&o.lossy, "lossy", false, "drop what the target cannot hold instead of failing")
	f.BoolVar(&o.keepEncoding, "keep-encoding", false, "keep each value's encoding when the target allows it")
	cmd.MarkFlagRequired("to")
	return cmd
}

func runConvert(ctx context.Context, o *convertOptions) error {
	switch o.to {
	case "aof", "aof-dir", "rdb":
	default:
		return cli.Usagef("--to: want aof, aof-dir or rdb, got %q", o.to)
	}
	if o.from != "rdb" && o.from != "jsonl" {
		return cli.Usagef("--from: want rdb or jsonl, got %q", o.from)
	}
	if o.from == "jsonl" && o.to != "rdb" {
		return cli.Usagef("--from jsonl needs --to rdb")
	}
	if o.output == "" && o.to == "aof-dir" {
		return cli.Usagef("--to aof-dir needs -o DIR")
	}
	in, err := openInput(o.env, o.file)
	if err != nil {
		return err
	}
	defer in.Close()
	var src recordSource
	switch {
	case o.from == "jsonl":
		src = newJSONLSource(in)
	case o.to == "rdb":
		src = &rdbSource{dec: rdb.NewDecoder(in, nil)}
	default:
		// writeAOF copies what it keeps (see runPipeline). The decoder
		// buffers its input itself; in's bufio.Reader would copy every
		// byte once more.
		src = &rdbSource{dec: rdb.NewDecoder(in.count, &rdb.DecodeOptions{ReuseEntry: true, ConcurrentCRC: true})}
	}
	p := o.env.NewProgress(o.g, "converting")
	defer p.Done()
	progress := func() { p.Update(in.count.N(), in.size) }
	if rs, ok := src.(*rdbSource); ok {
		defer rs.dec.Close() // stops the checksum goroutine on an early return
		// The decoder's offset, not in.count: the decoder may read ahead
		// on a goroutine of its own.
		progress = func() { p.Update(rs.dec.Offset(), in.size) }
	}

	var lossCount int
	onLossy := func(key []byte, what string) {
		lossCount++
		if !o.g.Quiet {
			if key != nil {
				fmt.Fprintf(o.env.Err, "rdbtool: lossy: key '%s': %s\n", cli.PrintableBytes(key), what)
			} else {
				fmt.Fprintf(o.env.Err, "rdbtool: lossy: %s\n", what)
			}
		}
	}

	if o.to == "aof-dir" {
		return convertAOFDir(ctx, o, src, progress)
	}
	out, err := o.env.OpenOutput(o.output, true, o.explicitOut)
	if err != nil {
		return err
	}
	defer out.Abort()
	var stats convertStats
	if o.to == "aof" {
		ob := newOutBuf(out)
		stats, err = writeAOF(ctx, src.(*rdbSource).dec, ob, progress)
		if err == nil {
			err = ob.flush()
		}
	} else {
		bw := bufio.NewWriterSize(out, 1<<20)
		if stats, err = writeRDB(ctx, src, bw, o, onLossy, progress); err == nil {
			err = bw.Flush()
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", o.file, err)
	}
	if err := out.Commit(); err != nil {
		return err
	}
	return o.report(stats, lossCount)
}

type convertStats struct {
	keys, skipped int
}

func (o *convertOptions) report(st convertStats, lost int) error {
	if o.g.JSON {
		b := []byte(`{"output":`)
		b = cli.AppendString(b, o.output)
		b = append(b, `,"keys":`...)
		b = strconv.AppendInt(b, int64(st.keys), 10)
		b = append(b, `,"skipped":`...)
		b = strconv.AppendInt(b, int64(st.skipped), 10)
		b = append(b, `,"lossy":`...)
		b = strconv.AppendInt(b, int64(lost), 10)
		b = append(b, "}\n"...)
		_, err := o.env.Err.Write(b)
		return err
	}
	if st.skipped > 0 {
		fmt.Fprintf(o.env.Err, "rdbtool: warning: %d module values have no command form and were skipped\n", st.skipped)
	}
	if !o.g.Quiet && o.output != "" && o.output != "-" {
		fmt.Fprintf(o.env.Err, "rdbtool: wrote %s: %d keys\n", cli.Printable(o.output), st.keys)
	}
	return nil
}

// recordSource yields records with their values (nil for non-keys).
type recordSource interface {
	next() (rdb.Record, rdb.Value, error) // io.EOF at the end
	version() int                         // input RDB version, 0 if none
}

type rdbSource struct{ dec *rdb.Decoder }

func (s *rdbSource) next() (rdb.Record, rdb.Value, error) {
	rec, err := s.dec.Next()
	if err != nil {
		return nil, nil, err
	}
	if _, ok := rec.(*rdb.Entry); ok {
		v, err := s.dec.Value()
		return rec, v, err
	}
	return rec, nil, nil
}

func (s *rdbSource) version() int {
	v, _ := s.dec.Version()
	return v
}

func writeRDB(ctx context.Context, src recordSource, w io.Writer, o *convertOptions, onLossy func([]byte, string), progress func()) (convertStats, error) {
	var st convertStats
	ver := o.rdbVersion
	if ver == 0 {
		if ver = src.version(); ver == 0 {
			ver = 12
		}
	}
	// Keep the input's flavour where the version exists in it: RDB 80 is
	// Valkey 9 only, Valkey 8 files are REDIS0011 with a valkey-ver AUX.
	flav := rdb.FlavourRedis
	if rs, ok := src.(*rdbSource); ok {
		flav, _ = rs.dec.Flavour()
	}
	switch {
	case ver == 80:
		flav = rdb.FlavourValkey
	case ver != 11:
		flav = rdb.FlavourRedis
	}
	enc := rdb.NewEncoder(w, &rdb.EncodeOptions{Version: ver, Flavour: flav, Lossy: o.lossy, OnLossy: onLossy, KeepEncoding: o.keepEncoding})
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return st, err
			}
			progress()
		}
		rec, v, err := src.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return st, err
		}
		if e, ok := rec.(*rdb.Entry); ok {
			if err := enc.WriteEntry(e, v); err != nil {
				return st, lossyHint(err)
			}
			st.keys++
			continue
		}
		if _, ok := rec.(*rdb.SelectDB); ok {
			continue // WriteEntry selects databases itself
		}
		if err := enc.Write(rec); err != nil {
			return st, lossyHint(err)
		}
	}
	return st, enc.Close()
}

func lossyHint(err error) error {
	if errors.Is(err, rdb.ErrUnsupported) {
		return cli.WithHint(cli.Invalid(err), "the target version cannot hold this; --lossy drops it")
	}
	return err
}

// writeAOF writes the commands rebuilding every record, in file order.
func writeAOF(ctx context.Context, dec *rdb.Decoder, ob *outBuf, progress func()) (convertStats, error) {
	var st convertStats
	sink := newRESPSink(ob, dec)
	// No filter: every key, fields with a passed TTL included.
	filt := &dumpFilter{expired: "include"}
	keys, err := runPipeline(ctx, dec, pipeConfig{filt: filt, needValue: true, progress: progress}, sink)
	st.keys = keys - sink.skipped
	st.skipped = sink.skipped
	if err != nil {
		return st, err
	}
	return st, sink.close()
}

// convertAOFDir writes a Redis 7 appendonlydir: base (RESP), empty incr,
// manifest. It is built in a temp directory next to OUT and renamed into
// place, so OUT never exists half-written.
func convertAOFDir(ctx context.Context, o *convertOptions, src recordSource, progress func()) error {
	if _, err := os.Stat(o.output); err == nil {
		return cli.Usagef("%s already exists", o.output)
	}
	parent := filepath.Dir(filepath.Clean(o.output))
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(o.output)+".tmp-*")
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	const prefix = "appendonly.aof"
	base, incr := prefix+".1.base.aof", prefix+".1.incr.aof"
	f, err := os.Create(filepath.Join(tmp, base))
	if err != nil {
		return err
	}
	// The base file is as large as a --to aof output: write it back as it
	// grows, so the fsync below does not wait for all of it.
	ob := newOutBuf(cli.NewWriteBack(f))
	st, err := writeAOF(ctx, src.(*rdbSource).dec, ob, progress)
	if err == nil {
		err = ob.flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", o.file, err)
	}
	if err := cli.WriteFileSync(filepath.Join(tmp, incr), nil, 0o644); err != nil {
		return err
	}
	m := &manifest.Manifest{Files: []manifest.File{
		{Name: base, Seq: 1, Type: manifest.TypeBase},
		{Name: incr, Seq: 1, Type: manifest.TypeIncr},
	}}
	// manifest.WriteFile syncs the file and tmp, so the directory is
	// complete on disk before it is published under its final name.
	if err := manifest.WriteFile(tmp, prefix+".manifest", m); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := os.Rename(tmp, o.output); err != nil {
		return err
	}
	done = true
	cli.SyncDir(parent)
	return o.report(st, 0)
}
