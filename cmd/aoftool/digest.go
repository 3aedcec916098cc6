package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/persistkit/persistkit/internal/cli"
	"github.com/persistkit/persistkit/internal/digestcmd"
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
	s, _, err := replayStore(ctx, o.env, o.g, o.path, now)
	if err != nil {
		return err
	}
	return digestcmd.Write(o.env.Out, s, &o.Options, o.g.JSON)
}
