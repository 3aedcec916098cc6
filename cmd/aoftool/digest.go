package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/persistkit/persistkit/internal/cli"
	"github.com/persistkit/persistkit/keyspace"
)

type digestOptions struct {
	env          *cli.Env
	g            *cli.Globals
	path         string
	now          string
	perKey       bool
	redisVersion string
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
	f.BoolVar(&o.perKey, "per-key", false, "also print DEBUG DIGEST-VALUE per key")
	f.StringVar(&o.redisVersion, "redis-version", "", "apply the digest rules of this Redis version (X.Y)")
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
	dopt := keyspace.DigestOptions{RedisVersion: o.redisVersion}
	d := s.Digest(dopt)
	w := bufio.NewWriter(o.env.Out)
	if o.g.JSON {
		b := []byte(`{"digest":"`)
		b = hex.AppendEncode(b, d[:])
		b = append(b, `","keys":`...)
		nkeys := 0
		s.Each(func(int, []byte, *keyspace.Object) error { nkeys++; return nil })
		b = strconv.AppendInt(b, int64(nkeys), 10)
		if o.perKey {
			b = append(b, `,"per_key":[`...)
			first := true
			s.Each(func(db int, key []byte, obj *keyspace.Object) error {
				if !first {
					b = append(b, ',')
				}
				first = false
				kd := keyspace.DigestValue(key, obj, dopt)
				b = append(b, `{"db":`...)
				b = strconv.AppendInt(b, int64(db), 10)
				b = append(b, `,"key":`...)
				b = cli.AppendBytes(b, key)
				b = append(b, `,"digest":"`...)
				b = hex.AppendEncode(b, kd[:])
				b = append(b, `"}`...)
				return nil
			})
			b = append(b, ']')
		}
		b = append(b, "}\n"...)
		w.Write(b)
		return w.Flush()
	}
	fmt.Fprintf(w, "%x\n", d)
	if o.perKey {
		s.Each(func(db int, key []byte, obj *keyspace.Object) error {
			kd := keyspace.DigestValue(key, obj, dopt)
			fmt.Fprintf(w, "db%d %s %x\n", db, digestKey(key), kd)
			return nil
		})
	}
	return w.Flush()
}

// digestKey writes a key the way the corpus' digest.txt does: as is, or
// base64:<...> when it contains a space or newline (or, here, anything
// non-printable, so a hostile key cannot reach the terminal).
func digestKey(k []byte) string {
	s := string(k)
	if !utf8.ValidString(s) || strings.ContainsAny(s, " \n") || cli.Printable(s) != s {
		return "base64:" + base64.StdEncoding.EncodeToString(k)
	}
	return s
}
