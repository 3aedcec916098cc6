package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/persistkit/persistkit/internal/cli"
	"github.com/persistkit/persistkit/internal/digestcmd"
	"github.com/persistkit/persistkit/keyspace"
)

type digestOptions struct {
	env  *cli.Env
	g    *cli.Globals
	file string
	now  string
	digestcmd.Options
}

func newDigestCmd(env *cli.Env, g *cli.Globals) *cobra.Command {
	o := &digestOptions{env: env, g: g}
	cmd := &cobra.Command{
		Use:   "digest FILE",
		Short: "Print Redis' DEBUG DIGEST of the keyspace an RDB file holds",
		Long: `digest loads FILE like a Redis server and prints the 40-hex DEBUG DIGEST
of the resulting keyspace on the first line.

With --now MS (Unix milliseconds) keys whose TTL passed before MS are
dropped, as a master loading the file at that time would; without it
nothing is treated as expired (like a replica). --redis-version X.Y selects
the digest rules of that server version (zset score text, hash field TTL
marker); default: the newest rules. --per-key adds "db<N> <key> <hex>"
lines with DEBUG DIGEST-VALUE of each key (keys with spaces, newlines or
non-printable bytes are written as base64:<...>).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.file = args[0]
			return runDigest(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.now, "now", "", "reference time in Unix ms; keys expired before it are dropped")
	o.Options.AddFlags(cmd)
	return cmd
}

// runDigest streams the file through keyspace.DigestRDB: memory stays
// bounded by the largest value plus the duplicate-key test's budget (and,
// with --per-key, each key and its digest, printed sorted at the end).
func runDigest(ctx context.Context, o *digestOptions) error {
	now, err := parseNow(o.now)
	if err != nil {
		return err
	}
	in, err := openInput(o.env, o.file)
	if err != nil {
		return err
	}
	defer in.Close()
	p := o.env.NewProgress(o.g, "loading")
	defer p.Done()
	var keys []digestcmd.KeyDigest
	opt := &keyspace.DigestRDBOptions{
		RedisVersion: o.RedisVersion,
		NowMs:        now,
		DropExpired:  now != 0,
		Progress:     func(off int64) { p.Update(off, in.size) },
		Workers:      runtime.GOMAXPROCS(0),
	}
	// A second handle on a regular file lets the duplicate-key test read
	// keys again (pread; the stream position is untouched).
	// Stat first: opening a FIFO whose writer is gone would wait forever.
	if st, err := os.Stat(o.file); o.file != "-" && err == nil && st.Mode().IsRegular() {
		if f, err := os.Open(o.file); err == nil {
			defer f.Close()
			opt.ReaderAt = f
		}
	}
	if o.PerKey {
		opt.PerKey = func(db int, key []byte, d [20]byte) error {
			keys = append(keys, digestcmd.KeyDigest{DB: db, Key: bytes.Clone(key), Digest: d})
			return nil
		}
	}
	res, err := keyspace.DigestRDB(ctx, in, opt)
	if err != nil {
		return fmt.Errorf("%s: %w", o.file, err)
	}
	p.Done()
	return digestcmd.WriteResult(o.env.Out, res, keys, &o.Options, o.g.JSON)
}

// loadStore loads an RDB file into a new store with reference time now
// (0: nothing expires), dropping keys expired at now like a master.
func loadStore(ctx context.Context, env *cli.Env, g *cli.Globals, path string, now int64) (*keyspace.Store, error) {
	in, err := openInput(env, path)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	s := keyspace.New(now)
	p := env.NewProgress(g, "loading")
	defer p.Done()
	err = keyspace.LoadRDB(ctx, in, s, &keyspace.LoadOptions{
		DropExpired: now != 0,
		Progress:    func(off int64) { p.Update(off, in.size) },
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}
