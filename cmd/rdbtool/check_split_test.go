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
