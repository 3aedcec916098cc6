package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/persistkit/persistkit/format/rdb"
	"github.com/persistkit/persistkit/keyspace"
)

// FuzzSalvageRDB damages RDBs at random: whatever --fix keeps must load
// as a whole (the same checks as Redis at startup, duplicates included),
// and hold as many key records as it reports kept (an empty collection is
// kept as found, though a load skips it, as Redis does).
func FuzzSalvageRDB(f *testing.F) {
	for _, v := range []string{"6.2.16", "7.0.15-debian", "7.4.1", "8.0-m01"} {
		for _, name := range []string{"types-small/dump.rdb", "expiry/dump.rdb", "multidb/dump.rdb"} {
			if data, err := os.ReadFile(filepath.Join(corpusDir, v, name)); err == nil {
				f.Add(data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		res, err := salvageRDB(context.Background(), data, &out, nil, nil)
		if err != nil {
			return // a header that is not an RDB's
		}
		s := keyspace.New(0)
		if err := keyspace.LoadRDB(context.Background(), bytes.NewReader(out.Bytes()), s, nil); err != nil {
			t.Fatalf("salvaged file does not load: %v", err)
		}
		var entries int64
		dec := rdb.NewDecoder(bytes.NewReader(out.Bytes()), nil)
		for {
			rec, err := dec.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("salvaged file: %v", err)
			}
			if _, ok := rec.(*rdb.Entry); ok {
				entries++
			}
		}
		if entries != res.Kept || int64(s.Len()) > entries {
			t.Fatalf("salvage reports %d keys kept; the file holds %d records, %d keys load", res.Kept, entries, s.Len())
		}
	})
}
