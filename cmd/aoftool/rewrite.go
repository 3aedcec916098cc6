package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/persistkit/persistkit/format/manifest"
	"github.com/persistkit/persistkit/format/rdb"
	"github.com/persistkit/persistkit/internal/cli"
	"github.com/persistkit/persistkit/keyspace"
)

type rewriteOptions struct {
	env          *cli.Env
	g            *cli.Globals
	path         string
	output       string
	base         string
	singleFile   bool
	rdbVersion   int
	now          string
	redisVersion string
	lossy        bool
}

func newRewriteCmd(env *cli.Env, g *cli.Globals) *cobra.Command {
	o := &rewriteOptions{env: env, g: g}
	cmd := &cobra.Command{
		Use:   "rewrite AOF -o OUT",
		Short: "Offline BGREWRITEAOF: compact an AOF into a new appendonlydir",
		Long: `rewrite replays AOF and writes the keyspace as a fresh AOF, like
BGREWRITEAOF: a new appendonlydir OUT holding a BASE file (an RDB with
aof-base = 1 by default, or the rewrite commands of aof.md §8 with
--base aof), an empty INCR file and a manifest. File names follow the
input's manifest with the next sequence numbers (appendonly.aof.1.* for a
single-file input). --single-file writes one old-style AOF file OUT
instead (an RDB preamble, or the commands with --base aof).

The output is built next to OUT, replayed and compared with the input
(same DEBUG DIGEST) and only then renamed into place; OUT must not exist.
With --now MS keys expired before MS are left out.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.path = args[0]
			return runRewrite(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "", "output appendonlydir (or file with --single-file); must not exist")
	f.StringVar(&o.base, "base", "rdb", "BASE format: rdb (RDB preamble) or aof (commands)")
	f.BoolVar(&o.singleFile, "single-file", false, "write one old-style AOF file instead of a directory")
	f.IntVar(&o.rdbVersion, "rdb-version", 12, "RDB version of an RDB base")
	f.StringVar(&o.now, "now", "", "reference time in Unix ms; keys expired before it are left out")
	f.StringVar(&o.redisVersion, "redis-version", "", "digest rules for the verification (X.Y)")
	f.BoolVar(&o.lossy, "lossy", false, "drop what the RDB version cannot hold (e.g. stream consumer active-time before 11) instead of failing")
	cmd.MarkFlagRequired("output")
	return cmd
}

// rewriteNames picks the output names: the input manifest's prefix with
// the next base and INCR sequence numbers (aof.md §6.1).
func rewriteNames(a *aofSet) (prefix string, baseSeq, incrSeq int64) {
	prefix, baseSeq, incrSeq = "appendonly.aof", 1, 1
	if !a.multi {
		return
	}
	prefix = strings.TrimSuffix(filepath.Base(a.set.ManifestPath), ".manifest")
	for _, f := range a.set.Manifest.Files {
		switch f.Type {
		case manifest.TypeBase, manifest.TypeHistory:
			if strings.Contains(f.Name, ".base.") {
				baseSeq = max(baseSeq, f.Seq+1)
			}
		case manifest.TypeIncr:
			incrSeq = max(incrSeq, f.Seq+1)
		}
	}
	if b := a.set.Manifest.Base(); b != nil {
		baseSeq = max(baseSeq, b.Seq+1)
	}
	return
}

func runRewrite(ctx context.Context, o *rewriteOptions) error {
	if o.base != "rdb" && o.base != "aof" {
		return cli.Usagef("--base: want rdb or aof, got %q", o.base)
	}
	if o.output == "" || o.output == "-" {
		return cli.Usagef("-o: want a path that does not exist")
	}
	if _, err := os.Lstat(o.output); err == nil {
		return cli.Usagef("%s already exists", o.output)
	}
	now, err := parseNow(o.now)
	if err != nil {
		return err
	}
	a, err := locate(o.path)
	if err != nil {
		return err
	}
	s, _, err := replayStore(ctx, o.env, o.g, o.path, now)
	if err != nil {
		return err
	}
	dopt := keyspace.DigestOptions{RedisVersion: o.redisVersion}
	want := s.Digest(dopt)

	parent := filepath.Dir(filepath.Clean(o.output))
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(o.output)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // after the rename this is a no-op

	writeBase := func(path string) (exportStats, error) {
		return writeFileSynced(path, func(w io.Writer) (exportStats, error) {
			if o.base == "aof" {
				return writeStoreRESP(ctx, s, w)
			}
			opt := &rdb.EncodeOptions{Version: o.rdbVersion, Lossy: o.lossy, OnLossy: func(key []byte, what string) {
				if !o.g.Quiet {
					fmt.Fprintf(o.env.Err, "aoftool: lossy: key '%s': %s\n", cli.PrintableBytes(key), what)
				}
			}}
			return writeStoreRDB(ctx, s, w, opt, [][2]string{
				{"redis-bits", "64"}, {"ctime", strconv.FormatInt(o.env.NowMs()/1000, 10)}, {"aof-base", "1"},
			})
		})
	}
	var st exportStats
	var names []string
	verify := tmp
	if o.singleFile {
		name := filepath.Base(o.output)
		if st, err = writeBase(filepath.Join(tmp, name)); err != nil {
			return err
		}
		verify = filepath.Join(tmp, name)
		names = []string{name}
	} else {
		prefix, bseq, iseq := rewriteNames(a)
		ext := ".rdb"
		if o.base == "aof" {
			ext = ".aof"
		}
		base := prefix + "." + strconv.FormatInt(bseq, 10) + ".base" + ext
		incr := prefix + "." + strconv.FormatInt(iseq, 10) + ".incr.aof"
		if st, err = writeBase(filepath.Join(tmp, base)); err != nil {
			return err
		}
		if _, err := writeFileSynced(filepath.Join(tmp, incr), func(io.Writer) (exportStats, error) { return exportStats{}, nil }); err != nil {
			return err
		}
		m := &manifest.Manifest{Files: []manifest.File{
			{Name: base, Seq: bseq, Type: manifest.TypeBase},
			{Name: incr, Seq: iseq, Type: manifest.TypeIncr},
		}}
		if err := manifest.WriteFile(tmp, prefix+".manifest", m); err != nil {
			return err
		}
		names = []string{base, incr, prefix + ".manifest"}
	}

	// Verify before publishing: the new AOF must rebuild the same keyspace.
	s2 := keyspace.New(0)
	if _, err := keyspace.ReplayAOF(ctx, verify, s2, nil); err != nil {
		return fmt.Errorf("verifying the rewrite: %w", err)
	}
	s2.NowMs = now
	if got := s2.Digest(dopt); !bytes.Equal(got[:], want[:]) {
		return fmt.Errorf("verifying the rewrite: digest %x, want %x (internal error; nothing written)", got, want)
	}

	if o.singleFile {
		err = os.Rename(verify, o.output)
	} else {
		if err = os.Chmod(tmp, 0o755); err == nil {
			err = os.Rename(tmp, o.output)
		}
	}
	if err != nil {
		return err
	}
	cli.SyncDir(parent)
	if o.g.JSON {
		b := []byte(`{"output":`)
		b = cli.AppendString(b, o.output)
		b = append(b, `,"files":`...)
		b = appendStrings(b, names)
		b = append(b, `,"keys":`...)
		b = strconv.AppendInt(b, int64(st.keys), 10)
		b = append(b, `,"functions":`...)
		b = strconv.AppendInt(b, int64(st.functions), 10)
		b = append(b, `,"digest":"`...)
		b = fmt.Appendf(b, "%x", want)
		b = append(b, "\"}\n"...)
		_, err := o.env.Out.Write(b)
		return err
	}
	if !o.g.Quiet {
		fmt.Fprintf(o.env.Err, "aoftool: wrote %s (%s): %d keys, %d function libraries; digest %x verified\n",
			cli.Printable(o.output), strings.Join(names, ", "), st.keys, st.functions, want)
	}
	return nil
}

// writeFileSynced creates path, fills it and fsyncs it.
func writeFileSynced(path string, fill func(io.Writer) (exportStats, error)) (exportStats, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return exportStats{}, err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	st, err := fill(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return st, err
}
