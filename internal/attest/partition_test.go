package attest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// partitionAOFs lists every AOF (single files and AOF directories) of the
// fixtures and testdata dirs.
func partitionAOFs(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, root := range []string{"../../fixtures", "../../cmd/aoftool/testdata", "../../keyspace/testdata"} {
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			switch {
			case err != nil:
				return err
			case d.IsDir() && d.Name() == "appendonlydir":
				out = append(out, p)
				return filepath.SkipDir
			case !d.IsDir() && isAOFName(d.Name()) && !strings.Contains(p, "appendonlydir"):
				out = append(out, p)
			}
			return nil
		})
	}
	if len(out) < 20 {
		t.Fatalf("found only %d AOFs", len(out))
	}
	return out
}

// inspectWith inspects path with the partition count forced to n (0: by
// size, the single-store path for these small files).
func inspectWith(path string, n, workers int) (*Subject, string, bool) {
	forcePartitions = n
	defer func() { forcePartitions = 0 }()
	sub, err := Inspect(context.Background(), path, &InspectOptions{Workers: workers})
	msg := ""
	if err != nil {
		var de *DataError
		msg = fmt.Sprintf("%v data=%v", err, errors.As(err, &de))
	}
	return sub, msg, lastPartitioned
}

// TestInspectPartitionedIdentical inspects every AOF on the single-store
// path and with 1, 2, 3 and 7 partitions, sequentially and with two
// workers: subjects and errors must be the same.
func TestInspectPartitionedIdentical(t *testing.T) {
	aofs := partitionAOFs(t)
	// A truncated tail must keep failing with the single-store error.
	trunc := filepath.Join(t.TempDir(), "trunc.aof")
	if err := os.WriteFile(trunc, []byte("*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\n*3\r\n$3\r\nSET\r\n$1"), 0o644); err != nil {
		t.Fatal(err)
	}
	aofs = append(aofs, trunc)
	partitioned, failed := 0, 0
	for _, aof := range aofs {
		want, wantErr, was := inspectWith(aof, 0, 1)
		if was {
			t.Fatalf("%s: small AOF took the partitioned path", aof)
		}
		if wantErr != "" {
			failed++
		}
		if aof == trunc && !strings.Contains(wantErr, "data=true") {
			t.Fatalf("truncated AOF: error %q, want a DataError", wantErr)
		}
		for _, n := range []int{1, 2, 3, 7} {
			for _, workers := range []int{1, 2} {
				got, gotErr, was := inspectWith(aof, n, workers)
				if was {
					partitioned++
				}
				if gotErr != wantErr {
					t.Errorf("%s, %d partitions, %d workers: error %q, want %q", aof, n, workers, gotErr, wantErr)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s, %d partitions, %d workers:\n got %+v\nwant %+v", aof, n, workers, got, want)
				}
			}
		}
	}
	if partitioned < len(aofs) || failed == 0 {
		t.Errorf("%d of %d inspections partitioned, %d AOFs failed: the test does not cover both paths", partitioned, 8*len(aofs), failed)
	}
}
