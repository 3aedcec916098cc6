// Package digestcmd holds what the digest commands of rdbtool and aoftool
// share: the --per-key and --redis-version flags and the printing of Redis'
// DEBUG DIGEST (and DEBUG DIGEST-VALUE per key) as text or JSON. It is
// cmd-layer glue over keyspace; each tool loads the Store its own way.
package digestcmd

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
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

// KeyDigest is one key's DEBUG DIGEST-VALUE.
type KeyDigest struct {
	DB     int
	Key    []byte
	Digest [20]byte
}

// Write prints the digest of s to out: the 40-hex DEBUG DIGEST on the first
// line, then with PerKey "db<N> <key> <hex>" lines; asJSON prints one
// object {"digest","keys"[,"per_key"]} instead.
func Write(out io.Writer, s *keyspace.Store, o *Options, asJSON bool) error {
	dopt := keyspace.DigestOptions{RedisVersion: o.RedisVersion}
	res := &keyspace.DigestResult{Digest: s.Digest(dopt)}
	var keys []KeyDigest
	s.Each(func(db int, key []byte, obj *keyspace.Object) error {
		res.Keys++
		if o.PerKey {
			keys = append(keys, KeyDigest{DB: db, Key: key, Digest: keyspace.DigestValue(key, obj, dopt)})
		}
		return nil
	})
	return WriteResult(out, res, keys, o, asJSON)
}

// WriteResult is [Write] for a digest computed while streaming
// ([keyspace.DigestRDB]); keys (used with PerKey) may come in any order and
// are printed sorted by db, then key, as Write prints them.
func WriteResult(out io.Writer, res *keyspace.DigestResult, keys []KeyDigest, o *Options, asJSON bool) error {
	d := res.Digest
	slices.SortFunc(keys, func(a, b KeyDigest) int {
		if a.DB != b.DB {
			return cmp.Compare(a.DB, b.DB)
		}
		return bytes.Compare(a.Key, b.Key)
	})
	w := bufio.NewWriter(out)
	if asJSON {
		b := []byte(`{"digest":"`)
		b = hex.AppendEncode(b, d[:])
		b = append(b, `","keys":`...)
		b = strconv.AppendInt(b, int64(res.Keys), 10)
		if o.PerKey {
			b = append(b, `,"per_key":[`...)
			for i, k := range keys {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"db":`...)
				b = strconv.AppendInt(b, int64(k.DB), 10)
				b = append(b, `,"key":`...)
				b = cli.AppendBytes(b, k.Key)
				b = append(b, `,"digest":"`...)
				b = hex.AppendEncode(b, k.Digest[:])
				b = append(b, `"}`...)
			}
			b = append(b, ']')
		}
		b = append(b, "}\n"...)
		w.Write(b)
		return w.Flush()
	}
	fmt.Fprintf(w, "%x\n", d)
	if o.PerKey {
		for _, k := range keys {
			fmt.Fprintf(w, "db%d %s %x\n", k.DB, Key(k.Key), k.Digest)
		}
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
