package keyspace

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// replayPartitioned replays path in n partitions and puts the partitions'
// stores together (their keys are disjoint; partition 0 has the functions).
func replayPartitioned(t *testing.T, path string, n int, background bool) (*Store, *ReplayResult, error) {
	t.Helper()
	ctx := context.Background()
	parts, res, err := PartitionAOF(ctx, path, &PartitionOptions{Partitions: n, TempDir: t.TempDir(), Background: background})
	if err != nil {
		return nil, res, err
	}
	defer parts.Close()
	all := New(0)
	for i := range parts.Len() {
		s, err := parts.Replay(ctx, i)
		if err != nil {
			return nil, res, err
		}
		if i == 0 {
			all.Functions, all.ModuleAux = s.Functions, s.ModuleAux
		}
		for dbi, db := range s.DBs {
			for k, o := range db.Keys {
				if _, dup := all.DBs[dbi].Keys[k]; dup {
					t.Fatalf("%s: key %q of db %d in two partitions", path, k, dbi)
				}
				all.DBs[dbi].Keys[k] = o
			}
		}
	}
	return all, res, nil
}

// TestPartitionedReplay replays every fixture AOF in partitions and in one
// store: the keyspaces, functions and replay results must be equal, or the
// partitioned replay must refuse with ErrNotPartitionable.
func TestPartitionedReplay(t *testing.T) {
	var aofs []string
	filepath.WalkDir("../fixtures", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "appendonlydir" || !d.IsDir() && strings.HasSuffix(p, ".aof") {
			aofs = append(aofs, p)
			if d.IsDir() {
				return filepath.SkipDir
			}
		}
		return nil
	})
	if len(aofs) < 20 {
		t.Fatalf("found only %d AOFs", len(aofs))
	}
	replayed := 0
	for _, aof := range aofs {
		one := New(0)
		wantRes, wantErr := ReplayAOF(context.Background(), aof, one, nil)
		for _, n := range []int{1, 2, 3, 7} {
			got, res, err := replayPartitioned(t, aof, n, n%2 == 1)
			if err != nil {
				// Errors the single store has too are the same;
				// a clean AOF replays in one partition.
				switch {
				case errors.Is(err, ErrNotPartitionable):
					if n == 1 && wantErr == nil && wantRes.Errors == 0 {
						t.Errorf("%s, 1 partition: %v", aof, err)
					}
				case wantErr == nil || err.Error() != wantErr.Error():
					t.Errorf("%s, %d partitions: %v, want %v", aof, n, err, wantErr)
				}
				continue
			}
			replayed++
			if wantErr != nil || wantRes.Errors != 0 {
				t.Errorf("%s, %d partitions: replayed, but the single store failed: %v (%d errors)", aof, n, wantErr, wantRes.Errors)
				continue
			}
			if d := Diff(one, got, 5); len(d) > 0 {
				t.Errorf("%s, %d partitions: %v", aof, n, d)
			}
			if len(got.Functions) != len(one.Functions) || len(got.ModuleAux) != len(one.ModuleAux) {
				t.Errorf("%s, %d partitions: %d functions, %d module aux; want %d, %d", aof, n,
					len(got.Functions), len(got.ModuleAux), len(one.Functions), len(one.ModuleAux))
			}
			if res.Commands != wantRes.Commands || res.Truncated != wantRes.Truncated || res.TruncatedAt != wantRes.TruncatedAt || len(res.Files) != len(wantRes.Files) {
				t.Errorf("%s, %d partitions: result %+v, want %+v", aof, n, res, wantRes)
			}
		}
	}
	if replayed < 2*len(aofs) {
		t.Errorf("only %d partitioned replays of %d AOFs", replayed, len(aofs))
	}
	t.Logf("%d partitioned replays of %d AOFs", replayed, len(aofs))
}

// TestPartitionTempDirError checks that an unusable temp dir is an
// ErrTempFile error, not a fallback.
func TestPartitionTempDirError(t *testing.T) {
	aof := filepath.Join(t.TempDir(), "a.aof")
	if err := os.WriteFile(aof, []byte("*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := PartitionAOF(context.Background(), aof, &PartitionOptions{Partitions: 2, TempDir: filepath.Join(t.TempDir(), "missing")})
	if !errors.Is(err, ErrTempFile) || errors.Is(err, ErrNotPartitionable) {
		t.Fatalf("err = %v, want ErrTempFile", err)
	}
}

// NoPreamble stops at an RDB preamble instead of partitioning it; without
// it the same AOF partitions.
func TestPartitionNoPreamble(t *testing.T) {
	const path = "../fixtures/corpus/6.2.16/aof/aof-hybrid/appendonly.aof"
	ctx := context.Background()
	_, _, err := PartitionAOF(ctx, path, &PartitionOptions{Partitions: 3, TempDir: t.TempDir(), NoPreamble: true})
	if !errors.Is(err, ErrNotPartitionable) || !strings.Contains(err.Error(), "RDB preamble") {
		t.Fatalf("NoPreamble: err = %v, want ErrNotPartitionable for the RDB preamble", err)
	}
	parts, res, err := PartitionAOF(ctx, path, &PartitionOptions{Partitions: 3, TempDir: t.TempDir()})
	if err != nil {
		t.Fatalf("without NoPreamble: %v", err)
	}
	defer parts.Close()
	if len(res.Files) == 0 || !res.Files[0].Preamble {
		t.Fatalf("files = %+v, want a preamble first", res.Files)
	}
}
