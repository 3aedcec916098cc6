package keyspace

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/persistkit/persistkit/format/rdb"
)

type testKey struct {
	db     uint64
	key    string
	expire int64
	v      rdb.Value
}

// buildRDB encodes keys (and records) with the project's encoder.
func buildRDB(t *testing.T, recs []rdb.Record, keys []testKey) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := rdb.NewEncoder(&buf, nil)
	for _, r := range recs {
		if err := enc.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range keys {
		exp := k.expire
		if exp == 0 {
			exp = rdb.NoExpire
		}
		ent := &rdb.Entry{DB: k.db, Key: []byte(k.key), ExpireAtMs: exp, LRUIdleSec: -1, LFUFreq: -1}
		if err := enc.WriteEntry(ent, k.v); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestLoadRDB(t *testing.T) {
	file := buildRDB(t, []rdb.Record{
		&rdb.Aux{Key: []byte("redis-ver"), Value: []byte("7.4.1")},
		&rdb.Function{Code: []byte("#!lua name=lib1\nredis.register_function('f', function() return 1 end)")},
	}, []testKey{
		{0, "s", 0, &rdb.String{Data: []byte("v")}},
		{0, "gone", 500, &rdb.String{Data: []byte("x")}},
		{0, "later", 5000, &rdb.String{Data: []byte("y")}},
		{3, "h", 0, &rdb.Hash{Fields: []rdb.HashField{
			{Field: []byte("old"), Value: []byte("1"), ExpireAtMs: 500},
			{Field: []byte("new"), Value: []byte("2"), ExpireAtMs: 5000},
			{Field: []byte("keep"), Value: []byte("3")},
		}}},
		{3, "allgone", 0, &rdb.Hash{Fields: []rdb.HashField{{Field: []byte("f"), Value: []byte("1"), ExpireAtMs: 500}}}},
	})

	t.Run("master", func(t *testing.T) {
		s := New(1000)
		var offsets []int64
		err := LoadRDB(context.Background(), bytes.NewReader(file), s, &LoadOptions{
			DropExpired: true, Progress: func(off int64) { offsets = append(offsets, off) }})
		if err != nil {
			t.Fatal(err)
		}
		if s.Len() != 3 || s.DBs[0].Keys["gone"] != nil || s.DBs[3].Keys["allgone"] != nil {
			t.Errorf("keys: db0 %v db3 %v", s.DBs[0].SortedKeys(), s.DBs[3].SortedKeys())
		}
		if h := s.DBs[3].Keys["h"]; h == nil || len(h.Hash) != 2 || h.Hash["old"] != nil {
			t.Errorf("hash fields: %+v", h)
		}
		if o := s.DBs[0].Keys["later"]; o == nil || o.ExpireAtMs != 5000 {
			t.Errorf("later: %+v", o)
		}
		if string(s.Functions["lib1"]) == "" || len(s.Aux) != 1 {
			t.Errorf("functions %v aux %v", s.Functions, s.Aux)
		}
		if len(offsets) == 0 || offsets[len(offsets)-1] != int64(len(file)) {
			t.Errorf("progress %v, file %d bytes", offsets, len(file))
		}
	})
	t.Run("preamble", func(t *testing.T) {
		// An AOF preamble keeps everything, and the reader stops right
		// after the checksum.
		s := New(1000)
		br := bufio.NewReader(bytes.NewReader(append(append([]byte{}, file...), "*1\r\n"...)))
		if err := LoadRDB(context.Background(), br, s, nil); err != nil {
			t.Fatal(err)
		}
		if s.Len() != 5 || len(s.DBs[3].Keys["h"].Hash) != 3 {
			t.Errorf("preamble load dropped data: %d keys", s.Len())
		}
		if rest, _ := br.Peek(4); string(rest) != "*1\r\n" {
			t.Errorf("reader left at %q", rest)
		}
	})
}

func TestLoadRDBEmptyAndDuplicate(t *testing.T) {
	file := buildRDB(t, nil, []testKey{
		{0, "k", 0, &rdb.String{Data: []byte("1")}},
		{0, "k", 0, &rdb.String{Data: []byte("2")}},
	})
	err := LoadRDB(context.Background(), bytes.NewReader(file), New(0), nil)
	if !errors.Is(err, ErrDuplicate) || !errors.Is(err, rdb.ErrCorrupt) {
		t.Errorf("duplicate key: %v", err)
	}
	var fe *rdb.FormatError
	if !errors.As(err, &fe) || string(fe.Key) != "k" {
		t.Errorf("error carries no key: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := LoadRDB(ctx, bytes.NewReader(file), New(0), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
