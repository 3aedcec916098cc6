package keyspace

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/persistkit/persistkit/format/rdb"
)

// storeDigest is the reference: LoadRDB into a Store, then Digest and
// DigestValue of every key Each visits.
func storeDigest(data []byte, now int64, drop bool, opt DigestOptions) (d [20]byte, perKey []string, err error) {
	s := New(now)
	if err := LoadRDB(context.Background(), bytes.NewReader(data), s, &LoadOptions{DropExpired: drop}); err != nil {
		return d, nil, err
	}
	_ = s.Each(func(db int, key []byte, o *Object) error {
		kd := DigestValue(key, o, opt)
		perKey = append(perKey, fmt.Sprintf("db%d %q %x", db, key, kd))
		return nil
	})
	return s.Digest(opt), perKey, nil
}

// streamDigestOf runs DigestRDB and returns per-key digests sorted like Each.
func streamDigestOf(data []byte, now int64, drop bool, opt DigestOptions) (*DigestResult, []string, error) {
	type kd struct {
		db  int
		key string
		d   [20]byte
	}
	var keys []kd
	res, err := DigestRDB(context.Background(), bytes.NewReader(data), &DigestRDBOptions{
		RedisVersion: opt.RedisVersion, NowMs: now, DropExpired: drop,
		PerKey: func(db int, key []byte, d [20]byte) error {
			keys = append(keys, kd{db, string(key), d})
			return nil
		},
	})
	if err != nil {
		return nil, nil, err
	}
	slices.SortFunc(keys, func(a, b kd) int {
		if a.db != b.db {
			return a.db - b.db
		}
		return strings.Compare(a.key, b.key)
	})
	var perKey []string
	for _, k := range keys {
		perKey = append(perKey, fmt.Sprintf("db%d %q %x", k.db, k.key, k.d))
	}
	return res, perKey, nil
}

// TestDigestRDBCorpus checks that DigestRDB agrees with LoadRDB+Digest on
// every RDB file of the corpus, corrupt ones included (same error text),
// under several clocks and rule sets, and with the server's digest.txt.
func TestDigestRDBCorpus(t *testing.T) {
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skip("corpus not present")
	}
	var files []string
	err := filepath.WalkDir(corpusDir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".rdb") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no corpus files")
	}
	for _, path := range files {
		rel, _ := filepath.Rel(corpusDir, path)
		t.Run(rel, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				now  int64
				drop bool
				ver  string
			}{
				{0, false, ""},
				{0, false, "7.0"},
				{0, false, "6.2"},
				{1, true, ""},                 // nothing realistic is expired
				{4102444800000, true, "7.4"},  // 2100: every TTL passed
				{4102444800000, false, "7.4"}, // loaded but left out
				{1732000000000, true, "7.2"},
			} {
				want, wantKeys, wantErr := storeDigest(data, tc.now, tc.drop, DigestOptions{RedisVersion: tc.ver})
				got, gotKeys, gotErr := streamDigestOf(data, tc.now, tc.drop, DigestOptions{RedisVersion: tc.ver})
				name := fmt.Sprintf("now=%d drop=%v ver=%q", tc.now, tc.drop, tc.ver)
				if (wantErr == nil) != (gotErr == nil) || wantErr != nil && wantErr.Error() != gotErr.Error() {
					t.Fatalf("%s: error %v, LoadRDB says %v", name, gotErr, wantErr)
				}
				if wantErr != nil {
					continue
				}
				if got.Digest != want {
					t.Errorf("%s: DigestRDB %x, Store %x", name, got.Digest, want)
				}
				if got.Keys != len(wantKeys) {
					t.Errorf("%s: %d keys, Store %d", name, got.Keys, len(wantKeys))
				}
				if strings.Join(gotKeys, "\n") != strings.Join(wantKeys, "\n") {
					t.Errorf("%s: per-key digests differ:\n%s\nStore:\n%s", name,
						strings.Join(gotKeys, "\n"), strings.Join(wantKeys, "\n"))
				}
			}
		})
	}

	// And against the servers' own DEBUG DIGEST.
	for _, c := range corpusCases(t) {
		t.Run("oracle/"+c.name, func(t *testing.T) {
			tr := readTruth(t, c.truth)
			want := readDigest(t, c.digest)
			f, err := os.Open(c.rdb)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			res, err := DigestRDB(context.Background(), bufio.NewReader(f), &DigestRDBOptions{
				RedisVersion: tr.redisVersion(), NowMs: tr.loadNow(), DropExpired: true,
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(res.Digest[:]); got != want.total {
				t.Errorf("DigestRDB = %s, DEBUG DIGEST %s", got, want.total)
			}
			if res.Keys != len(want.keys) {
				t.Errorf("%d keys, server %d", res.Keys, len(want.keys))
			}
		})
	}
}

// TestDigestRDBEdges covers what the corpus cannot: duplicates inside
// values, duplicate keys, -0 scores, expired hash fields, empty values.
func TestDigestRDBEdges(t *testing.T) {
	b := func(s string) []byte { return []byte(s) }
	zm := func(m string, score float64) rdb.ZMember { return rdb.ZMember{Member: b(m), Score: score} }
	hf := func(f, v string, exp int64) rdb.HashField {
		return rdb.HashField{Field: b(f), Value: b(v), ExpireAtMs: exp}
	}
	type rec struct {
		db  uint64
		key string
		exp int64
		enc rdb.Encoding
		v   rdb.Value
	}
	build := func(t *testing.T, recs []rec) []byte {
		t.Helper()
		var buf bytes.Buffer
		enc := rdb.NewEncoder(&buf, &rdb.EncodeOptions{KeepEncoding: true})
		for _, r := range recs {
			e := &rdb.Entry{DB: r.db, Key: b(r.key), Encoding: r.enc, ExpireAtMs: r.exp, LRUIdleSec: -1, LFUFreq: -1}
			if err := enc.WriteEntry(e, r.v); err != nil {
				t.Fatal(err)
			}
		}
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	negZero := math.Copysign(0, -1)
	// wantErr is for drop=true; without drop, expired keys still count as
	// loaded, so some cases become duplicates (compared with LoadRDB too).
	for _, tc := range []struct {
		name    string
		recs    []rec
		now     int64
		wantErr error
	}{
		{"set-dup-members", []rec{{0, "s", -1, rdb.EncHashtable, &rdb.Set{Members: [][]byte{b("a"), b("b"), b("a")}}}}, 0, nil},
		{"zset-dup-last-wins", []rec{{0, "z", -1, rdb.EncSkiplist, &rdb.ZSet{Members: []rdb.ZMember{zm("m", 1), zm("n", 2), zm("m", 3)}}}}, 0, nil},
		{"hash-dup-last-wins", []rec{{0, "h", -1, rdb.EncHashtable, &rdb.Hash{Fields: []rdb.HashField{hf("f", "1", 0), hf("f", "2", 0)}}}}, 0, nil},
		{"zset-neg-zero", []rec{
			{0, "z", -1, rdb.EncSkiplist, &rdb.ZSet{Members: []rdb.ZMember{zm("m", negZero)}}},
			{0, "y", -1, rdb.EncListpack, &rdb.ZSet{Members: []rdb.ZMember{zm("m", negZero)}}},
		}, 0, nil},
		{"hash-fields-expired", []rec{
			{0, "h1", -1, rdb.EncHashtable, &rdb.Hash{Fields: []rdb.HashField{hf("f", "1", 5), hf("g", "2", 0)}}},
			{0, "h2", -1, rdb.EncHashtable, &rdb.Hash{Fields: []rdb.HashField{hf("f", "1", 5)}}},
			{0, "h2", -1, rdb.EncRaw, &rdb.String{Data: b("after all fields expired")}},
		}, 10, nil},
		{"expired-then-same-key", []rec{
			{0, "k", 5, rdb.EncRaw, &rdb.String{Data: b("old")}},
			{0, "k", -1, rdb.EncRaw, &rdb.String{Data: b("new")}},
			{2, "t", 50, rdb.EncRaw, &rdb.String{Data: b("ttl")}},
		}, 10, nil},
		{"dup-key", []rec{
			{0, "k", -1, rdb.EncRaw, &rdb.String{Data: b("a")}},
			{0, "k", -1, rdb.EncRaw, &rdb.String{Data: b("b")}},
		}, 0, ErrDuplicate},
		{"same-key-two-dbs", []rec{
			{3, "k", -1, rdb.EncRaw, &rdb.String{Data: b("a")}},
			{1, "k", -1, rdb.EncRaw, &rdb.String{Data: b("a")}},
			{3, "j", -1, rdb.EncRaw, &rdb.String{Data: b("a")}},
		}, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := build(t, tc.recs)
			for _, drop := range []bool{false, true} {
				want, wantKeys, wantErr := storeDigest(data, tc.now, drop, DigestOptions{})
				got, gotKeys, gotErr := streamDigestOf(data, tc.now, drop, DigestOptions{})
				if drop && (!errors.Is(gotErr, tc.wantErr) || (gotErr == nil) != (tc.wantErr == nil)) {
					t.Fatalf("drop=%v: error %v, want %v", drop, gotErr, tc.wantErr)
				}
				if (wantErr == nil) != (gotErr == nil) || wantErr != nil && wantErr.Error() != gotErr.Error() {
					t.Fatalf("drop=%v: error %v, LoadRDB says %v", drop, gotErr, wantErr)
				}
				if gotErr != nil {
					continue
				}
				if got.Digest != want || got.Keys != len(wantKeys) {
					t.Errorf("drop=%v: DigestRDB %x (%d keys), Store %x (%d keys)", drop, got.Digest, got.Keys, want, len(wantKeys))
				}
				if strings.Join(gotKeys, "\n") != strings.Join(wantKeys, "\n") {
					t.Errorf("drop=%v: per-key digests differ:\n%s\nStore:\n%s", drop,
						strings.Join(gotKeys, "\n"), strings.Join(wantKeys, "\n"))
				}
			}
		})
	}
}

// TestDigestRDBCanceled stops at a record boundary when ctx is done.
func TestDigestRDBCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := DigestRDB(ctx, bytes.NewReader(nil), nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func BenchmarkDigestRDB(b *testing.B) {
	data := benchFile(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DigestRDB(context.Background(), bytes.NewReader(data), nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadRDBDigest(b *testing.B) {
	data := benchFile(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		s := New(0)
		if err := LoadRDB(context.Background(), bytes.NewReader(data), s, nil); err != nil {
			b.Fatal(err)
		}
		s.Digest(DigestOptions{})
	}
}
