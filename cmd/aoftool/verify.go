package main

import (
	"bufio"
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/persistkit/persistkit/internal/cli"
	"github.com/persistkit/persistkit/keyspace"
)

type verifyOptions struct {
	env          *cli.Env
	g            *cli.Globals
	a, b         string
	now          string
	max          int
	redisVersion string
}

func newVerifyCmd(env *cli.Env, g *cli.Globals) *cobra.Command {
	o := &verifyOptions{env: env, g: g}
	cmd := &cobra.Command{
		Use:   "verify AOF OTHER",
		Short: "Check that an AOF rebuilds the same keyspace as another AOF or RDB",
		Long: `verify replays AOF and OTHER (an RDB file, an AOF file, a manifest or an
appendonlydir) and compares the keyspaces: keys, types, values, TTLs and
function libraries. It prints the DEBUG DIGEST of both and up to --max
differences. Exit status 0: equal; 3: they differ.

With --now MS keys expired before MS are left out on both sides.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.a, o.b = args[0], args[1]
			return runVerify(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.now, "now", "", "reference time in Unix ms; keys expired before it are left out")
	f.IntVar(&o.max, "max", 20, "print at most this many differences (0: all)")
	f.StringVar(&o.redisVersion, "redis-version", "", "digest rules of this Redis version (X.Y)")
	return cmd
}

func runVerify(ctx context.Context, o *verifyOptions) error {
	now, err := parseNow(o.now)
	if err != nil {
		return err
	}
	if o.max < 0 {
		return cli.Usagef("--max: want >= 0, got %d", o.max)
	}
	// An RDB file is an AOF whose base has no RESP tail, so one loader
	// serves both sides.
	sa, _, err := replayStore(ctx, o.env, o.g, o.a, now)
	if err != nil {
		return err
	}
	sb, _, err := replayStore(ctx, o.env, o.g, o.b, now)
	if err != nil {
		return err
	}
	dopt := keyspace.DigestOptions{RedisVersion: o.redisVersion}
	da, db := sa.Digest(dopt), sb.Digest(dopt)
	diffs := keyspace.Diff(sa, sb, o.max)
	equal := len(diffs) == 0 && da == db
	w := bufio.NewWriter(o.env.Out)
	if o.g.JSON {
		b := []byte(`{"equal":`)
		b = strconv.AppendBool(b, equal)
		b = fmt.Appendf(b, `,"digest_a":"%x","digest_b":"%x","differences":[`, da, db)
		for i, d := range diffs {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"kind":`...)
			b = cli.AppendString(b, d.Kind.String())
			if d.DB >= 0 {
				b = append(b, `,"db":`...)
				b = strconv.AppendInt(b, int64(d.DB), 10)
			}
			b = append(b, `,"key":`...)
			b = cli.AppendBytes(b, d.Key)
			if d.Detail != "" {
				b = append(b, `,"detail":`...)
				b = cli.AppendString(b, d.Detail)
			}
			b = append(b, '}')
		}
		b = append(b, "]}\n"...)
		w.Write(b)
	} else {
		pal, _ := o.env.Palettes(o.g)
		fmt.Fprintf(w, "%x\t%s\n%x\t%s\n", da, cli.Printable(shownPath(o.a)), db, cli.Printable(shownPath(o.b)))
		for _, d := range diffs {
			fmt.Fprintf(w, "%s\n", cli.Printable(d.String()))
		}
		if len(diffs) == 0 && da != db {
			fmt.Fprintln(w, "digests differ (in details verify does not compare, e.g. consumer groups)")
		}
		if equal {
			fmt.Fprintln(w, pal.OK.Sprint("equal"))
		} else {
			fmt.Fprintln(w, pal.Bad.Sprint("different"))
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if !equal {
		return cli.Silent(cli.ExitInvalid)
	}
	return nil
}
