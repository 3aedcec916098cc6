package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/persistkit/persistkit/internal/cli"
	"github.com/persistkit/persistkit/internal/digestcmd"
	"github.com/persistkit/persistkit/keyspace"
)

type digestOptions struct {
	env  *cli.Env
	g    *cli.Globals
	path string
	now  string
	digestcmd.Options
}

func newDigestCmd(env *cli.Env, g *cli.Globals) *cobra.Command {
	o := &digestOptions{env: env, g: g}
	cmd := &cobra.Command{
		Use:   "digest AOF",
		Short: "Print Redis' DEBUG DIGEST of the keyspace an AOF rebuilds",
		Long: `digest replays AOF (file, manifest or appendonlydir) like a Redis server
at startup and prints the 40-hex DEBUG DIGEST of the resulting keyspace on
the first line. An incomplete tail of the last file is ignored, as with
aof-load-truncated yes.

With --now MS (Unix milliseconds) keys whose TTL passed before MS are left
out, as a server loading the AOF at that time would; without it nothing is
treated as expired. --redis-version X.Y selects the digest rules of that
server version; default: the newest rules. --per-key adds "db<N> <key>
<hex>" lines with DEBUG DIGEST-VALUE of each key (keys with spaces,
newlines or non-printable bytes are written as base64:<...>).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.path = args[0]
			return runDigest(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.now, "now", "", "reference time in Unix ms; keys expired before it are left out")
	o.Options.AddFlags(cmd)
	return cmd
}

func runDigest(ctx context.Context, o *digestOptions) error {
	now, err := parseNow(o.now)
	if err != nil {
		return err
	}
	if err := digestPartitioned(ctx, o, now); err != errFallback {
		return err
	}
	s, _, err := replayStore(ctx, o.env, o.g, o.path, now)
	if err != nil {
		return err
	}
	return digestcmd.Write(o.env.Out, s, &o.Options, o.g.JSON)
}

// digestPartitioned is runDigest on the partitioned path (partition.go):
// the digest is per db the xor of its keys' digests, so the partitions'
// parts add up. It returns errFallback, having written nothing, when the
// AOF needs the single-store path; so does an RDB preamble, whose values
// are re-encoded in the partition files and may come back with another
// encoding, which the digest of a -0 zset score depends on.
func digestPartitioned(ctx context.Context, o *digestOptions, now int64) error {
	parts, res, err := partitionAOF(ctx, o.env, o.g, o.path, true)
	if err != nil {
		return err
	}
	defer parts.Close()
	defer tunePartitionGC(partitionedBytes(parts))()
	dopt := keyspace.DigestOptions{RedisVersion: o.RedisVersion}
	sums := make([]keyspace.DigestParts, parts.Len())
	perKey := make([][]digestcmd.KeyDigest, parts.Len())
	err = parts.ReplayEach(ctx, partitionWorkers(), func(ctx context.Context, i int, s *keyspace.Store) error {
		s.NowMs = now
		sums[i] = s.DigestParts(dopt)
		if !o.PerKey {
			return nil
		}
		return s.Each(func(db int, key []byte, obj *keyspace.Object) error {
			perKey[i] = append(perKey[i], digestcmd.KeyDigest{DB: db, Key: key, Digest: keyspace.DigestValue(key, obj, dopt)})
			return nil
		})
	})
	if err != nil {
		return partitionError(ctx, err)
	}
	if res.Truncated && !o.g.Quiet && !o.g.JSON {
		noteTruncated(o.env, res)
	}
	lastPartitioned = true
	var all keyspace.DigestParts
	dr := &keyspace.DigestResult{}
	var keys []digestcmd.KeyDigest
	for i := range sums {
		all.Add(&sums[i])
		keys = append(keys, perKey[i]...)
	}
	dr.Digest, dr.Keys = all.Sum(), all.Keys
	return digestcmd.WriteResult(o.env.Out, dr, keys, &o.Options, o.g.JSON)
}
