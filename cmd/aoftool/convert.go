package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/persistkit/persistkit/format/rdb"
	"github.com/persistkit/persistkit/internal/cli"
)

type convertOptions struct {
	env         *cli.Env
	g           *cli.Globals
	path        string
	output      string
	explicitOut bool
	rdbVersion  int
	now         string
	lossy       bool
}

func newConvertCmd(env *cli.Env, g *cli.Globals) *cobra.Command {
	o := &convertOptions{env: env, g: g}
	cmd := &cobra.Command{
		Use:   "convert AOF -o OUT.rdb",
		Short: "Replay an AOF and write the keyspace as an RDB file",
		Long: `convert replays AOF like a Redis server at startup and writes the
resulting keyspace (keys, TTLs, function libraries) as an RDB file of
--rdb-version (default 12, Redis 7.4). With --now MS keys expired before
MS are left out. Values the target version cannot hold (hash field TTLs
before 12, functions before 10, ...) fail unless --lossy, which drops them
and reports each loss on stderr. OUT appears only when complete. An AOF
of 64 MiB or more is replayed in partitions through unlinked temp files
in $TMPDIR, which needs free space of about the AOF's size plus the RDB's.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.path = args[0]
			o.explicitOut = cmd.Flags().Changed("output")
			return runConvert(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "", "output RDB file (default and \"-\": stdout, not a terminal unless -o -)")
	f.IntVar(&o.rdbVersion, "rdb-version", 12, "RDB version to write")
	f.StringVar(&o.now, "now", "", "reference time in Unix ms; keys expired before it are left out")
	f.BoolVar(&o.lossy, "lossy", false, "drop what the target version cannot hold instead of failing")
	return cmd
}

func runConvert(ctx context.Context, o *convertOptions) error {
	now, err := parseNow(o.now)
	if err != nil {
		return err
	}
	if o.rdbVersion < 6 || (o.rdbVersion > 13 && o.rdbVersion != 80) {
		return cli.Usagef("--rdb-version: want 6..13, got %d", o.rdbVersion)
	}
	out, err := o.env.OpenOutput(o.output, true, o.explicitOut)
	if err != nil {
		return err
	}
	defer out.Abort()
	lost := 0
	opt := &rdb.EncodeOptions{Version: o.rdbVersion, Lossy: o.lossy, OnLossy: func(key []byte, what string) {
		lost++
		if !o.g.Quiet {
			fmt.Fprintf(o.env.Err, "aoftool: lossy: key '%s': %s\n", cli.PrintableBytes(key), what)
		}
	}}
	bw := bufio.NewWriterSize(out, 1<<20)
	// ctime is taken when the export starts, after the replay.
	aux := func() [][2]string {
		return [][2]string{{"redis-bits", "64"}, {"ctime", strconv.FormatInt(o.env.NowMs()/1000, 10)}}
	}
	st, err := convertPartitioned(ctx, o, now, bw, opt, aux)
	if err == errFallback {
		st, err = convertInMemory(ctx, o, now, bw, opt, aux)
	}
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := out.Commit(); err != nil {
		return err
	}
	if o.g.JSON {
		b := []byte(`{"output":`)
		b = cli.AppendString(b, o.output)
		b = append(b, `,"keys":`...)
		b = strconv.AppendInt(b, int64(st.keys), 10)
		b = append(b, `,"functions":`...)
		b = strconv.AppendInt(b, int64(st.functions), 10)
		b = append(b, `,"lossy":`...)
		b = strconv.AppendInt(b, int64(lost), 10)
		b = append(b, "}\n"...)
		w := o.env.Out
		if o.output == "" || o.output == "-" {
			w = o.env.Err // stdout carries the RDB
		}
		_, err := w.Write(b)
		return err
	}
	if !o.g.Quiet && o.output != "-" && o.output != "" {
		fmt.Fprintf(o.env.Err, "aoftool: wrote %s: %d keys, %d function libraries (RDB version %d)\n", cli.Printable(o.output), st.keys, st.functions, o.rdbVersion)
	}
	return nil
}

// convertInMemory replays the AOF into one store and exports it.
func convertInMemory(ctx context.Context, o *convertOptions, now int64, w io.Writer, opt *rdb.EncodeOptions, aux func() [][2]string) (exportStats, error) {
	defer tuneGC()()
	s, _, err := replayStore(ctx, o.env, o.g, o.path, now)
	if err != nil {
		return exportStats{}, err
	}
	exportGC()
	return writeStoreRDB(ctx, s, w, opt, aux())
}

// The heap of a conversion is almost all live data: the keyspace grows
// until the export, which then allocates about the size of the RDB in
// short-lived buffers. With the default GOGC=100 the collector marks the
// whole keyspace again every time the heap doubles, and once more during
// the export (at 100 MB of AOF: a full mark of ~270 MB while writing).
// convertGCPercent halves the marking during the replay; exportGC turns
// the collector off for the export behind a memory limit of twice the live
// heap, so a collection still happens if the export's garbage ever exceeds
// the keyspace. Peak RSS is unchanged at 10 and 100 MB (the export's
// garbage on top of the keyspace sets it either way). GOGC or GOMEMLIMIT
// in the environment turn the tuning off.
const convertGCPercent = 200

// tuneGC applies convertGCPercent and returns a function restoring the
// collector's settings.
func tuneGC() (restore func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	pct := debug.SetGCPercent(convertGCPercent)
	limit := debug.SetMemoryLimit(-1)
	return func() {
		debug.SetGCPercent(pct)
		debug.SetMemoryLimit(limit)
	}
}

// exportGC switches the collector off behind a memory limit of twice the
// heap plus 64 MiB (see convertGCPercent). The heap is measured as all
// allocated objects, which is the keyspace plus some garbage: the live
// size known to the runtime dates from the last collection, which can be
// long before the end of the replay.
func exportGC() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	heap := sample[0].Value.Uint64()
	debug.SetMemoryLimit(int64(min(2*heap+64<<20, math.MaxInt64/2)))
	debug.SetGCPercent(-1)
}
