package keyspace

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/persistkit/persistkit/format/rdb"
)

// storeDigest is the reference: LoadRDB into a Store, then Digest,
// DigestValue of every key Each visits, and the Store's key counts and AUX
// fields.
func storeDigest(data []byte, now int64, drop, deep bool, opt DigestOptions) (*DigestResult, []string, error) {
	s := New(now)
	err := LoadRDB(context.Background(), bytes.NewReader(data), s, &LoadOptions{DropExpired: drop, Deep: deep})
	if err != nil {
		return nil, nil, err
	}
	res := &DigestResult{Digest: s.Digest(opt), Aux: s.Aux}
	var perKey []string
	_ = s.Each(func(db int, key []byte, o *Object) error {
		kd := DigestValue(key, o, opt)
		perKey = append(perKey, fmt.Sprintf("db%d %q %x", db, key, kd))
		res.Keys++
		return nil
	})
	for db, d := range s.DBs {
		if d == nil {
			continue
		}
		for _, o := range d.Keys {
			st := &res.DBs[db]
			st.Keys++
			if o.HasTTL() {
				st.Expires++
			}
			st.Kinds[o.Kind]++
		}
	}
	return res, perKey, nil
}

// streamDigestOf runs digestRDB with that many hashing goroutines and
// returns per-key digests sorted like Each; with more than one goroutine
// PerKey (which DigestRDB then never uses) is left out and perKey is nil.
func streamDigestOf(data []byte, now int64, drop, deep bool, opt DigestOptions, workers int) (*DigestResult, []string, error) {
	type kd struct {
		db  int
		key string
		d   [20]byte
	}
	var keys []kd
	dopt := &DigestRDBOptions{RedisVersion: opt.RedisVersion, NowMs: now, DropExpired: drop, Deep: deep}
	if workers <= 1 {
		dopt.PerKey = func(db int, key []byte, d [20]byte) error {
			keys = append(keys, kd{db, string(key), d})
			return nil
		}
	}
	res, err := digestRDB(context.Background(), bytes.NewReader(data), dopt, workers)
	if err != nil || workers > 1 {
		return res, nil, err
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

// checkDigestRDB compares DigestRDB, run on the caller's goroutine, on one
// hashing goroutine and on three, with the Store path: same error text, or
// same digest, key counts, AUX fields and per-key digests. It returns
// DigestRDB's error.
func checkDigestRDB(t *testing.T, name string, data []byte, now int64, drop, deep bool, opt DigestOptions) error {
	t.Helper()
	want, wantKeys, wantErr := storeDigest(data, now, drop, deep, opt)
	var firstErr error
	for i, workers := range []int{0, 1, 3} {
		got, gotKeys, gotErr := streamDigestOf(data, now, drop, deep, opt, workers)
		name := fmt.Sprintf("%s workers=%d", name, workers)
		if i == 0 {
			firstErr = gotErr
		}
		if (wantErr == nil) != (gotErr == nil) || wantErr != nil && wantErr.Error() != gotErr.Error() {
			t.Fatalf("%s: error %v, LoadRDB says %v", name, gotErr, wantErr)
		}
		if wantErr != nil {
			continue
		}
		if got.Digest != want.Digest || got.Keys != want.Keys {
			t.Errorf("%s: DigestRDB %x (%d keys), Store %x (%d keys)", name, got.Digest, got.Keys, want.Digest, want.Keys)
		}
		if got.DBs != want.DBs {
			t.Errorf("%s: db stats %v, Store %v", name, got.DBs, want.DBs)
		}
		if !slices.EqualFunc(got.Aux, want.Aux, func(a, b *rdb.Aux) bool {
			return bytes.Equal(a.Key, b.Key) && bytes.Equal(a.Value, b.Value)
		}) {
			t.Errorf("%s: %d aux fields, Store %d", name, len(got.Aux), len(want.Aux))
		}
		if gotKeys != nil && strings.Join(gotKeys, "\n") != strings.Join(wantKeys, "\n") {
			t.Errorf("%s: per-key digests differ:\n%s\nStore:\n%s", name,
				strings.Join(gotKeys, "\n"), strings.Join(wantKeys, "\n"))
		}
	}
	return firstErr
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
				name := fmt.Sprintf("now=%d drop=%v ver=%q", tc.now, tc.drop, tc.ver)
				checkDigestRDB(t, name, data, tc.now, tc.drop, false, DigestOptions{RedisVersion: tc.ver})
			}
			// Deep: the decoder rejects repeated members, so DigestRDB
			// skips its own test.
			checkDigestRDB(t, "deep", data, 0, false, true, DigestOptions{})
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
	// manyKeys spans several batches of the hashing pipe (by count and by
	// bytes); with dupAt > 0 key dupAt repeats key 0.
	manyKeys := func(n, dupAt int) []rec {
		var recs []rec
		for i := range n {
			k, db := fmt.Sprintf("k%05d", i), uint64(i%3)
			if i == dupAt && dupAt > 0 {
				k, db = "k00000", 0
			}
			v := []byte(k)
			if i%500 == 0 {
				v = bytes.Repeat([]byte{byte(i)}, 200<<10)
			}
			recs = append(recs, rec{db, k, -1, rdb.EncRaw, &rdb.String{Data: v}})
		}
		return recs
	}
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
		{"hash-dup-last-expired", []rec{
			{0, "h", -1, rdb.EncHashtable, &rdb.Hash{Fields: []rdb.HashField{hf("f", "1", 0), hf("f", "2", 5)}}},
			{0, "h", -1, rdb.EncRaw, &rdb.String{Data: b("the hash was empty")}},
		}, 10, nil},
		{"set-many-dups", []rec{{0, "s", -1, rdb.EncHashtable, &rdb.Set{Members: func() (m [][]byte) {
			for i := range 300 {
				m = append(m, fmt.Appendf(nil, "m%d", i%7*1000+i%43))
			}
			return m
		}()}}}, 0, nil},
		{"many-keys", manyKeys(3000, 0), 0, nil},
		{"many-keys-dup-late", manyKeys(3000, 2500), 0, ErrDuplicate},
		{"same-key-two-dbs", []rec{
			{3, "k", -1, rdb.EncRaw, &rdb.String{Data: b("a")}},
			{1, "k", -1, rdb.EncRaw, &rdb.String{Data: b("a")}},
			{3, "j", -1, rdb.EncRaw, &rdb.String{Data: b("a")}},
		}, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := build(t, tc.recs)
			for _, drop := range []bool{false, true} {
				gotErr := checkDigestRDB(t, fmt.Sprintf("drop=%v", drop), data, tc.now, drop, false, DigestOptions{})
				if drop && (!errors.Is(gotErr, tc.wantErr) || (gotErr == nil) != (tc.wantErr == nil)) {
					t.Fatalf("drop=%v: error %v, want %v", drop, gotErr, tc.wantErr)
				}
			}
		})
	}
}

// TestDigestRDBFirstError checks that the hashing goroutine does not change
// which error wins: a PerKey error about a key beats a decoding error after
// it, and a decoding error comes after PerKey calls for every key before it.
func TestDigestRDBFirstError(t *testing.T) {
	var buf bytes.Buffer
	enc := rdb.NewEncoder(&buf, nil)
	for i := range 3000 {
		e := &rdb.Entry{Key: fmt.Appendf(nil, "k%05d", i), ExpireAtMs: -1, LRUIdleSec: -1, LFUFreq: -1}
		if err := enc.WriteEntry(e, &rdb.String{Data: bytes.Repeat([]byte("v"), 100)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()[:buf.Len()*9/10] // truncated in the middle of a key
	errStop := errors.New("stop")
	for _, failAt := range []int{-1, 0, 100, 2600} {
		var want error
		wantCalls := 0
		for _, workers := range []int{0, 1} {
			calls := 0
			_, err := digestRDB(context.Background(), bytes.NewReader(data), &DigestRDBOptions{
				PerKey: func(db int, key []byte, d [20]byte) error {
					if calls == failAt {
						return errStop
					}
					calls++
					return nil
				},
			}, workers)
			if err == nil {
				t.Fatalf("failAt=%d workers=%d: no error", failAt, workers)
			}
			if workers == 0 {
				want, wantCalls = err, calls
				continue
			}
			if err.Error() != want.Error() || calls != wantCalls {
				t.Errorf("failAt=%d: error %v after %d keys, sequential %v after %d", failAt, err, calls, want, wantCalls)
			}
			if failAt >= 0 && failAt < 2600 && !errors.Is(err, errStop) {
				t.Errorf("failAt=%d: error %v, want the PerKey error", failAt, err)
			}
		}
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

// spillRec is a key of the files TestDigestRDBSpill builds.
type spillRec struct {
	db  uint64
	key string
	exp int64
	v   rdb.Value
}

// buildSpillFile writes recs as an RDB file, after a RESIZEDB of resize
// keys when resize > 0.
func buildSpillFile(t *testing.T, recs []spillRec, resize uint64) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := rdb.NewEncoder(&buf, nil)
	if resize > 0 {
		if err := enc.Write(&rdb.ResizeDB{DBSize: resize}); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range recs {
		e := &rdb.Entry{DB: r.db, Key: []byte(r.key), ExpireAtMs: r.exp, LRUIdleSec: -1, LFUFreq: -1}
		if err := enc.WriteEntry(e, r.v); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestDigestRDBSpill runs DigestRDB with a key set small enough to spill
// (64 KiB: about 1500 keys in memory) and checks that every result and
// error is the one of the default budget, where the keys stay in memory,
// and of LoadRDB: duplicates on either side of the spill, keys that are
// dropped (probed only), and the first error in file order when the
// duplicate is only found at the end.
func TestDigestRDBSpill(t *testing.T) {
	const n = 6000
	keys := func(mod func(i int, r *spillRec)) []spillRec {
		recs := make([]spillRec, n)
		for i := range recs {
			recs[i] = spillRec{uint64(i % 2), fmt.Sprintf("k%05d", i), -1, &rdb.String{Data: fmt.Appendf(nil, "v%d", i)}}
			if mod != nil {
				mod(i, &recs[i])
			}
		}
		return recs
	}
	// repeat makes key i a copy of key first's name and db.
	repeat := func(i, first int) func(int, *spillRec) {
		return func(j int, r *spillRec) {
			if j == i {
				r.db, r.key = uint64(first%2), fmt.Sprintf("k%05d", first)
			}
		}
	}
	hash := func(fields ...rdb.HashField) *rdb.Hash { return &rdb.Hash{Fields: fields} }
	for _, tc := range []struct {
		name     string
		recs     []spillRec
		resize   uint64 // RESIZEDB: spill at once when large
		truncate bool   // cut the file at 90%, in a key after the duplicate
		now      int64
		drop     bool
		dupAt    int // index of the duplicate key; -1: none
	}{
		{"no-dup", keys(nil), 0, false, 0, false, -1},
		{"no-dup-resizedb", keys(nil), n, false, 0, false, -1},
		{"dup-across-spill", keys(repeat(5000, 7)), 0, false, 0, false, 5000},
		{"dup-across-spill-resizedb", keys(repeat(5000, 7)), n, false, 0, false, 5000},
		{"dup-after-spill", keys(repeat(5000, 4000)), 0, false, 0, false, 5000},
		{"dup-before-spill", keys(repeat(1000, 7)), 0, false, 0, false, 1000},
		{"dup-then-truncated", keys(repeat(3000, 7)), 0, true, 0, false, 3000},
		{"dup-then-truncated-resizedb", keys(repeat(3000, 7)), n, true, 0, false, 3000},
		{"same-name-other-db", keys(func(i int, r *spillRec) {
			if i == 5000 {
				r.db, r.key = 1, "k00008" // k00008 is in db 0
			}
		}), 0, false, 0, false, -1},
		// An expired, dropped key does not make the later one a
		// duplicate; kept (drop off), it does.
		{"expired-then-same", keys(func(i int, r *spillRec) {
			if i == 7 {
				r.exp = 5
			}
			repeat(5000, 7)(i, r)
		}), 0, false, 10, true, -1},
		{"expired-kept-then-same", keys(func(i int, r *spillRec) {
			if i == 7 {
				r.exp = 5
			}
			repeat(5000, 7)(i, r)
		}), 0, false, 10, false, 5000},
		// A key after the spill that is dropped is still tested.
		{"dup-dropped-after-spill", keys(func(i int, r *spillRec) {
			if i == 5000 {
				r.exp = 5
			}
			repeat(5000, 7)(i, r)
		}), 0, false, 10, true, 5000},
		// A hash whose fields all expired is skipped as empty: not a
		// key; and a hash probed before its value, added after.
		{"empty-hash-then-same", keys(func(i int, r *spillRec) {
			if i == 7 {
				r.v = hash(rdb.HashField{Field: []byte("f"), Value: []byte("v"), ExpireAtMs: 5})
			}
			repeat(5000, 7)(i, r)
		}), 0, false, 10, true, -1},
		{"hash-then-same", keys(func(i int, r *spillRec) {
			if i == 7 {
				r.v = hash(rdb.HashField{Field: []byte("f"), Value: []byte("v")})
			}
			repeat(5000, 7)(i, r)
		}), 0, false, 10, true, 5000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := buildSpillFile(t, tc.recs, tc.resize)
			if tc.truncate {
				data = data[:len(data)*9/10]
			}
			_, _, loadErr := storeDigest(data, tc.now, tc.drop, false, DigestOptions{})
			run := func(budget, workers int, ra io.ReaderAt) (*DigestResult, error) {
				return digestRDB(context.Background(), bytes.NewReader(data), &DigestRDBOptions{
					NowMs: tc.now, DropExpired: tc.drop, ReaderAt: ra, keySetBudget: budget,
				}, workers)
			}
			want, wantErr := run(0, 0, bytes.NewReader(data))
			if (loadErr == nil) != (wantErr == nil) || loadErr != nil && loadErr.Error() != wantErr.Error() {
				t.Fatalf("default budget: error %v, LoadRDB %v", wantErr, loadErr)
			}
			var wantOff int64 = -1
			if tc.dupAt >= 0 {
				var fe *rdb.FormatError
				if !errors.As(wantErr, &fe) || !errors.Is(wantErr, ErrDuplicate) {
					t.Fatalf("error %v, want a duplicate key", wantErr)
				}
				wantOff = fe.Offset
				if string(fe.Key) != tc.recs[tc.dupAt].key {
					t.Fatalf("duplicate key %q, want %q", fe.Key, tc.recs[tc.dupAt].key)
				}
			} else if wantErr != nil && !tc.truncate {
				t.Fatalf("error %v", wantErr)
			}
			for _, workers := range []int{0, 3} {
				got, err := run(1, workers, bytes.NewReader(data))
				if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
					t.Fatalf("workers=%d: spilled: error %v, in memory %v", workers, err, wantErr)
				}
				if err == nil && (got.Digest != want.Digest || got.Keys != want.Keys || got.DBs != want.DBs) {
					t.Errorf("workers=%d: spilled: digest %x (%d keys), in memory %x (%d keys)", workers, got.Digest, got.Keys, want.Digest, want.Keys)
				}
				// Without a ReaderAt a duplicate found at the end has
				// no name; the rest is the same (and it shows that
				// this one was found after the spill).
				_, err = run(1, workers, nil)
				if tc.dupAt < 0 {
					if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
						t.Fatalf("workers=%d: spilled without ReaderAt: error %v, want %v", workers, err, wantErr)
					}
					continue
				}
				var fe *rdb.FormatError
				if !errors.As(err, &fe) || !errors.Is(err, ErrDuplicate) || !errors.Is(err, rdb.ErrCorrupt) || fe.Offset != wantOff {
					t.Fatalf("workers=%d: spilled without ReaderAt: error %v, want a duplicate at offset %d", workers, err, wantOff)
				}
				if spilled := tc.dupAt >= 2000; spilled != (fe.Key == nil) {
					t.Errorf("workers=%d: spilled without ReaderAt: key %q; %v", workers, fe.Key, err)
				}
			}
		})
	}
}

// TestDigestRDBSpillFirstError: with the duplicate found only at the end,
// a PerKey error about an earlier key still wins, and one about a later
// key loses to the duplicate, as in a sequential run with the keys in
// memory.
func TestDigestRDBSpillFirstError(t *testing.T) {
	recs := make([]spillRec, 6000)
	for i := range recs {
		recs[i] = spillRec{0, fmt.Sprintf("k%05d", i), -1, &rdb.String{Data: []byte("v")}}
	}
	recs[5000].key = "k00007"
	data := buildSpillFile(t, recs, 0)
	errStop := errors.New("stop")
	for _, failAt := range []int{100, 4990, 5100} {
		var want error
		for _, budget := range []int{0, 1} {
			for _, workers := range []int{0, 1} {
				calls := 0
				_, err := digestRDB(context.Background(), bytes.NewReader(data), &DigestRDBOptions{
					ReaderAt:     bytes.NewReader(data),
					keySetBudget: budget,
					PerKey: func(db int, key []byte, d [20]byte) error {
						if calls == failAt {
							return errStop
						}
						calls++
						return nil
					},
				}, workers)
				if budget == 0 && workers == 0 {
					want = err
					if errors.Is(err, errStop) != (failAt < 5000) {
						t.Fatalf("failAt=%d: error %v", failAt, err)
					}
					continue
				}
				if err == nil || err.Error() != want.Error() {
					t.Errorf("failAt=%d budget=%d workers=%d: error %v, want %v", failAt, budget, workers, err, want)
				}
			}
		}
	}
}

// TestDigestRDBNoGoroutine checks that DigestRDB starts no goroutine unless
// Workers is above 1: PerKey sees as many goroutines as there were before.
func TestDigestRDBNoGoroutine(t *testing.T) {
	var recs []spillRec
	for i := range 3000 {
		recs = append(recs, spillRec{0, fmt.Sprintf("k%05d", i), -1, &rdb.String{Data: bytes.Repeat([]byte("v"), 1000)}})
	}
	data := buildSpillFile(t, recs, 3000)
	for _, workers := range []int{0, 1, 2} {
		before := runtime.NumGoroutine()
		most := 0
		// Not a *bytes.Reader: the decoder's CRC goroutine would start
		// for this reader if it were asked for.
		_, err := DigestRDB(context.Background(), struct{ io.Reader }{bytes.NewReader(data)}, &DigestRDBOptions{
			Workers:      workers,
			keySetBudget: 1, // spills at the RESIZEDB: no goroutine either
			PerKey: func(db int, key []byte, d [20]byte) error {
				most = max(most, runtime.NumGoroutine())
				return nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if workers <= 1 && most > before {
			t.Errorf("Workers %d: %d goroutines in PerKey, %d before", workers, most, before)
		}
		if workers > 1 && most <= before {
			// The check above would not notice a goroutine.
			t.Errorf("Workers %d: %d goroutines in PerKey, %d before", workers, most, before)
		}
		// The goroutines are gone once DigestRDB returned.
		for i := 0; runtime.NumGoroutine() > before; i++ {
			if i == 100 {
				t.Fatalf("Workers %d: %d goroutines after DigestRDB, %d before", workers, runtime.NumGoroutine(), before)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}
