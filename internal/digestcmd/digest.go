// Package digestcmd holds what the digest commands of rdbtool and aoftool
// share: the --per-key and --redis-version flags and the printing of Redis'
// DEBUG DIGEST (and DEBUG DIGEST-VALUE per key) as text or JSON. It is
// cmd-layer glue over keyspace; each tool loads the Store its own way.
package digestcmd

import (
	"bufio"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/persistkit/persistkit/internal/cli"
	"github.com/persistkit/persistkit/keyspace"
)

// Options are the digest flags after --now.
type Options struct {
	PerKey       bool
	RedisVersion string
}

// AddFlags registers --per-key and --redis-version on cmd.
func (o *Options) AddFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVar(&o.PerKey, "per-key", false, "also print DEBUG DIGEST-VALUE per key")
	f.StringVar(&o.RedisVersion, "redis-version", "", "apply the digest rules of this Redis version (X.Y)")
}

// Write prints the digest of s to out: the 40-hex DEBUG DIGEST on the first
// line, then with PerKey "db<N> <key> <hex>" lines; asJSON prints one
// object {"digest","keys"[,"per_key"]} instead.
func Write(out io.Writer, s *keyspace.Store, o *Options, asJSON bool) error {
	dopt := keyspace.DigestOptions{RedisVersion: o.RedisVersion}
	d := s.Digest(dopt)
	w := bufio.NewWriter(out)
	if asJSON {
		b := []byte(`{"digest":"`)
		b = hex.AppendEncode(b, d[:])
		b = append(b, `","keys":`...)
		nkeys := 0
		s.Each(func(int, []byte, *keyspace.Object) error { nkeys++; return nil })
		b = strconv.AppendInt(b, int64(nkeys), 10)
		if o.PerKey {
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
	if o.PerKey {
		s.Each(func(db int, key []byte, obj *keyspace.Object) error {
			kd := keyspace.DigestValue(key, obj, dopt)
			fmt.Fprintf(w, "db%d %s %x\n", db, Key(key), kd)
			return nil
		})
	}
	return w.Flush()
}

// Key writes a key the way the corpus' digest.txt does: as is, or
// base64:<...> when it contains a space or newline (or, here, anything
// non-printable, so a hostile key cannot reach the terminal).
func Key(k []byte) string {
	s := string(k)
	if !utf8.ValidString(s) || strings.ContainsAny(s, " \n") || cli.Printable(s) != s {
		return "base64:" + base64.StdEncoding.EncodeToString(k)
	}
	return s
}
