package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/persistkit/persistkit/format/rdb"
	"github.com/persistkit/persistkit/format/resp"
	"github.com/persistkit/persistkit/internal/cli"
	"github.com/persistkit/persistkit/keyspace"
)

// exportStats counts what an export wrote.
type exportStats struct {
	keys, functions int
}

// writeStoreRDB writes s as an RDB file: aux fields, function libraries,
// module aux data, then every live key in db and key order. aux are extra
// AUX fields (e.g. aof-base = 1 for a rewrite base).
func writeStoreRDB(ctx context.Context, s *keyspace.Store, w io.Writer, opt *rdb.EncodeOptions, aux [][2]string) (exportStats, error) {
	var st exportStats
	enc := rdb.NewEncoder(w, opt)
	for _, a := range aux {
		if err := enc.Write(&rdb.Aux{Key: []byte(a[0]), Value: []byte(a[1])}); err != nil {
			return st, err
		}
	}
	for _, name := range s.FunctionNames() {
		if err := enc.Write(&rdb.Function{Code: s.Functions[name]}); err != nil {
			return st, lossyHint(err)
		}
		st.functions++
	}
	// Module aux data keeps its place relative to the keys (when 1: before).
	for _, m := range s.ModuleAux {
		if m.When != 2 {
			if err := enc.Write(m); err != nil {
				return st, lossyHint(err)
			}
		}
	}
	// Keys are sorted once with their objects and values are built in
	// reused buffers, so a whole-keyspace export allocates almost nothing
	// per key.
	var vb keyspace.ValueBuffer
	e := &rdb.Entry{}
	n := 0
	err := s.EachSorted(func(db int, key []byte, o *keyspace.Object) error {
		if n++; n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		*e = rdb.Entry{DB: uint64(db), Key: key, Kind: o.Kind, ExpireAtMs: o.ExpireAtMs, LRUIdleSec: -1, LFUFreq: -1}
		if !o.HasTTL() {
			e.ExpireAtMs = rdb.NoExpire
		}
		if err := enc.WriteEntry(e, vb.Value(o)); err != nil {
			return lossyHint(err)
		}
		st.keys++
		return nil
	})
	if err != nil {
		return st, err
	}
	for _, m := range s.ModuleAux {
		if m.When == 2 {
			if err := enc.Write(m); err != nil {
				return st, lossyHint(err)
			}
		}
	}
	return st, enc.Close()
}

func lossyHint(err error) error {
	if errors.Is(err, rdb.ErrUnsupported) {
		return cli.WithHint(cli.Invalid(err), "the target RDB version cannot hold this; --lossy drops it")
	}
	return err
}

// writeStoreRESP writes s as the commands of an AOF rewrite (aof.md §8):
// FUNCTION LOAD per library, then per non-empty db SELECT and every key.
// Module values have no command form and fail the export.
func writeStoreRESP(ctx context.Context, s *keyspace.Store, w io.Writer) (exportStats, error) {
	var st exportStats
	rw := resp.NewWriter(w)
	r := keyspace.NewRewriter(rw.WriteCommand, keyspace.RewriteOptions{})
	for _, name := range s.FunctionNames() {
		if err := r.FunctionLoad(s.Functions[name]); err != nil {
			return st, err
		}
		st.functions++
	}
	cur, n := -1, 0
	err := s.Each(func(db int, key []byte, o *keyspace.Object) error {
		if n++; n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if db != cur {
			if err := rw.WriteStrings("SELECT", strconv.Itoa(db)); err != nil {
				return err
			}
			cur = db
		}
		exp := o.ExpireAtMs
		if !o.HasTTL() {
			exp = rdb.NoExpire
		}
		if err := r.Key(key, o.ToValue(), exp); err != nil {
			if errors.Is(err, keyspace.ErrNoCommandForm) {
				return cli.WithHint(cli.Invalid(fmt.Errorf("key %q: module value: %w", cli.PrintableBytes(key), err)), "use an RDB base (--base rdb)")
			}
			return err
		}
		st.keys++
		return nil
	})
	if err != nil {
		return st, err
	}
	return st, rw.Flush()
}
