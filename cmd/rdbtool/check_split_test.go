package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/persistkit/persistkit/format/rdb"
)

// checkBytes checks data as runCheck checks a regular file.
func checkBytes(t *testing.T, data []byte, split bool) *checkReport {
	t.Helper()
	old := splitCheck
	splitCheck = split
	defer func() { splitCheck = old }()
	rep, err := checkFile(context.Background(), bytes.NewReader(data), bytes.NewReader(data), 1700000000000, noProgress{}, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestSplitCheckMatchesSequential: the split check reports what the
// sequential one does, problem for problem, on every corpus RDB and on
// damaged copies, with batches of every size down to one record and
// values streamed from the file as well as read with their batch.
func TestSplitCheckMatchesSequential(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	var files []string
	err := filepath.WalkDir(corpusDir, func(path string, de fs.DirEntry, err error) error {
		if err == nil && !de.IsDir() && strings.HasSuffix(path, ".rdb") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 100 {
		t.Fatalf("only %d corpus RDBs", len(files))
	}
	type sizes struct {
		span      int64
		recs      int
		big       int64
		batchKeys int
	}
	variants := []sizes{{256 << 10, 2048, 1 << 20, 256 << 10}, {64, 3, 100, 256 << 10}, {1, 1, 1 << 20, 1}}
	defer func(s sizes) {
		splitBatchSpan, splitBatchRecs, splitBigValue, splitBatchKeys = s.span, s.recs, s.big, s.batchKeys
	}(sizes{splitBatchSpan, splitBatchRecs, splitBigValue, splitBatchKeys})
	rng := rand.New(rand.NewPCG(3, 4))
	compared, bad := 0, 0
	compare := func(name string, data []byte) {
		want := checkBytes(t, data, false)
		for _, v := range variants {
			splitBatchSpan, splitBatchRecs, splitBigValue, splitBatchKeys = v.span, v.recs, v.big, v.batchKeys
			got := checkBytes(t, data, true)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s, batches %+v: split check differs\nsequential: %+v %q\nsplit:      %+v %q", name, v,
					want.Problems, want.Warnings, got.Problems, got.Warnings)
				return
			}
		}
		compared++
		if !want.ok() {
			bad++
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		compare(f, data)
		if len(data) > 256<<10 || strings.Contains(f, "corrupt") {
			continue
		}
		for i := range 6 {
			d := bytes.Clone(data)
			switch p := 9 + rng.IntN(len(d)-9); i % 3 {
			case 0:
				d[p] ^= byte(1 << rng.IntN(8))
			case 1:
				d[p] = byte(rng.IntN(256))
			default:
				d = d[:p]
			}
			compare(fmt.Sprintf("%s damaged #%d", f, i), d)
		}
	}
	if bad < compared/4 {
		t.Fatalf("only %d of %d inputs had problems", bad, compared)
	}
	t.Logf("%d inputs compared, %d with problems", compared, bad)
}

type noProgress struct{}

func (noProgress) Update(int64, int64) {}
func (noProgress) Done()               {}

// TestSplitCheckSpanBounded: a large value validated by the framer between
// two compact ones must not be read by a checker with them (one batch's
// span would then be the whole large value).
func TestSplitCheckSpanBounded(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	var buf bytes.Buffer
	enc := rdb.NewEncoder(&buf, &rdb.EncodeOptions{Version: 11})
	small := &rdb.Hash{Fields: []rdb.HashField{{Field: []byte("f"), Value: []byte("v")}}}
	big := make([]byte, 4<<20)
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range big {
		big[i] = byte(rng.Uint32()) // incompressible: a raw string
	}
	var large []rdb.HashField // a hashtable-encoded hash of 4 MiB
	for i := range 4096 {
		large = append(large, rdb.HashField{Field: fmt.Appendf(nil, "field:%05d", i), Value: big[i*1024 : (i+1)*1024]})
	}
	for i, v := range []rdb.Value{small, &rdb.String{Data: big}, small, &rdb.Hash{Fields: large}, small} {
		ent := &rdb.Entry{Key: fmt.Appendf(nil, "k%d", i), ExpireAtMs: rdb.NoExpire, LRUIdleSec: -1, LFUFreq: -1}
		if err := enc.WriteEntry(ent, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	splitSpanSeen = maxInt{}
	got := checkBytes(t, data, true)
	if !got.ok() || got.Keys != 5 {
		t.Fatalf("check: %d keys, problems %+v", got.Keys, got.Problems)
	}
	if !reflect.DeepEqual(got, checkBytes(t, data, false)) {
		t.Fatal("split check differs from the sequential one")
	}
	if n := splitSpanSeen.v.Load(); n == 0 || n > 2*splitBatchSpan {
		t.Fatalf("a checker read %d bytes for one batch (file %d bytes)", n, len(data))
	}
}

// FuzzSplitCheck: on any input, the split check reports what the
// sequential one does, with batches of a few records so that inputs of a
// few hundred bytes cross batches, gaps and streamed values.
func FuzzSplitCheck(f *testing.F) {
	for _, v := range []string{"6.2.16", "7.0.15-debian", "7.4.1", "8.0-m01"} {
		for _, name := range []string{"types-small/dump.rdb", "streams/dump.rdb", "multidb/dump.rdb"} {
			if data, err := os.ReadFile(filepath.Join(corpusDir, v, name)); err == nil && len(data) <= 64<<10 {
				f.Add(data)
			}
		}
	}
	procs := runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0)))
	span, recs, big := splitBatchSpan, splitBatchRecs, splitBigValue
	f.Cleanup(func() {
		runtime.GOMAXPROCS(procs)
		splitBatchSpan, splitBatchRecs, splitBigValue = span, recs, big
	})
	splitBatchSpan, splitBatchRecs, splitBigValue = 64, 3, 100
	f.Fuzz(func(t *testing.T, data []byte) {
		want := checkBytes(t, data, false)
		got := checkBytes(t, data, true)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("split check differs\nsequential: %+v %q\nsplit:      %+v %q", want.Problems, want.Warnings, got.Problems, got.Warnings)
		}
	})
}
