package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// convertWith runs convert with the partition count forced to n (0: the
// single-store path, as for any small AOF) and reports which path ran.
func convertWith(t *testing.T, n int, args ...string) (stdout, stderr string, code int, partitioned bool) {
	t.Helper()
	forcePartitions, lastPartitioned = n, false
	defer func() { forcePartitions = 0 }()
	stdout, stderr, code = runCLI(t, false, "", append([]string{"convert", "-o", "-"}, args...)...)
	return stdout, stderr, code, lastPartitioned
}

// partitionAOFs lists every AOF in the fixtures and testdata dirs.
func partitionAOFs(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, root := range []string{"../../fixtures", "testdata", "../../keyspace/testdata"} {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			switch {
			case d.IsDir() && d.Name() == "appendonlydir":
				out = append(out, p)
				return filepath.SkipDir
			case !d.IsDir() && strings.HasSuffix(p, ".aof"):
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

// TestConvertPartitionedIdentical converts every fixture AOF on the
// single-store path and with 1, 2, 3 and 7 partitions: stdout (the RDB),
// stderr and the exit code must be the same.
func TestConvertPartitionedIdentical(t *testing.T) {
	variants := [][]string{
		nil,
		{"--now", "1700000000000", "--json"},
		{"--rdb-version", "9", "--lossy"},
		{"--rdb-version", "9"},
	}
	partitioned := 0
	for _, aof := range partitionAOFs(t) {
		for _, v := range variants {
			args := append(append([]string{}, v...), aof)
			want, wantErr, wantCode, _ := convertWith(t, 0, args...)
			for _, n := range []int{1, 2, 3, 7} {
				got, gotErr, gotCode, part := convertWith(t, n, args...)
				if part {
					partitioned++
				}
				if got != want || gotErr != wantErr || gotCode != wantCode {
					t.Errorf("%s %v with %d partitions (partitioned %v): exit %d, stderr %q, %d bytes; want exit %d, stderr %q, %d bytes",
						aof, v, n, part, gotCode, gotErr, len(got), wantCode, wantErr, len(want))
				}
			}
		}
	}
	t.Logf("%d of %d conversions partitioned", partitioned, 4*len(variants)*len(partitionAOFs(t)))
	// Most fixtures must really take the partitioned path.
	if partitioned < 100 {
		t.Errorf("only %d partitioned conversions", partitioned)
	}
}

// TestDigestPartitionedIdentical is TestConvertPartitionedIdentical for
// digest.
func TestDigestPartitionedIdentical(t *testing.T) {
	variants := [][]string{
		nil,
		{"--json", "--per-key"},
		{"--now", "1700000000000", "--per-key"},
		{"--redis-version", "7.0"},
	}
	partitioned := 0
	for _, aof := range partitionAOFs(t) {
		for _, v := range variants {
			args := append(append([]string{"digest"}, v...), aof)
			forcePartitions = 0
			want, wantErr, wantCode := runCLI(t, false, "", args...)
			for _, n := range []int{1, 2, 3, 7} {
				forcePartitions, lastPartitioned = n, false
				got, gotErr, gotCode := runCLI(t, false, "", args...)
				forcePartitions = 0
				if lastPartitioned {
					partitioned++
				}
				if got != want || gotErr != wantErr || gotCode != wantCode {
					t.Errorf("%v with %d partitions: exit %d, stdout %q, stderr %q; want exit %d, stdout %q, stderr %q",
						args, n, gotCode, got, gotErr, wantCode, want, wantErr)
				}
			}
		}
	}
	if partitioned < 100 {
		t.Errorf("only %d partitioned digests", partitioned)
	}
}

// TestConvertPartitionedFallback checks AOFs that the partitions cannot
// replay: the result must be the single-store one, on the single-store
// path; and AOFs the router handles itself take the partitioned path. A
// multi-key command is routed when its keys share a partition, as they do
// with one partition.
func TestConvertPartitionedFallback(t *testing.T) {
	cmd := func(args ...string) string {
		var b strings.Builder
		b.WriteString("*" + itoa(len(args)) + "\r\n")
		for _, a := range args {
			b.WriteString("$" + itoa(len(a)) + "\r\n" + a + "\r\n")
		}
		return b.String()
	}
	base := cmd("SET", "a", "1") + cmd("SELECT", "3") + cmd("RPUSH", "l", "x", "y") + cmd("SET", "b", "2") +
		cmd("MSET", "c", "3", "d", "4") + cmd("DEL", "a", "zz")
	cases := []struct {
		name     string
		aof      string
		fallback bool
		anyPath  bool // partitioned when the keys share a partition
	}{
		{"plain", base, false, false},
		{"multi-exec", base + cmd("MULTI") + cmd("SET", "m", "1") + cmd("INCR", "m") + cmd("EXEC"), false, false},
		{"discard", base + cmd("MULTI") + cmd("SET", "m", "1") + cmd("DISCARD"), false, false},
		{"unterminated-multi", base + cmd("MULTI") + cmd("SET", "m", "1"), false, false},
		{"truncated", base + "*3\r\n$3\r\nSET\r\n$1\r\nq", false, false},
		{"flush-swap", base + cmd("SWAPDB", "0", "3") + cmd("SELECT", "0") + cmd("FLUSHDB") + cmd("SET", "e", "5"), false, false},
		{"rename", base + cmd("RENAME", "b", "c"), true, true},
		{"copy", base + cmd("COPY", "b", "c"), true, false},
		{"eval", base + cmd("EVAL", "redis.call('set',KEYS[1],'x')", "1", "k"), true, false},
		{"command-error", base + cmd("INCR", "b") + cmd("LPUSH", "b", "x"), true, false},
		{"arity-error", base + cmd("SET", "b"), true, false},
		{"unknown", base + cmd("NOSUCHCMD", "b"), true, false},
		{"bad-select", base + cmd("SELECT", "99") + cmd("SET", "x", "1"), true, false},
		{"exec-without-multi", base + cmd("EXEC"), true, false},
		{"nested-multi", base + cmd("MULTI") + cmd("MULTI") + cmd("SET", "x", "1") + cmd("EXEC"), true, false},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name+".aof")
			if err := os.WriteFile(p, []byte(tc.aof), 0o644); err != nil {
				t.Fatal(err)
			}
			want, wantErr, wantCode, _ := convertWith(t, 0, p)
			for _, n := range []int{1, 2, 3, 7} {
				got, gotErr, gotCode, part := convertWith(t, n, p)
				if part == tc.fallback && !(tc.anyPath && n == 1) {
					t.Errorf("%d partitions: partitioned %v, want %v", n, part, !tc.fallback)
				}
				if got != want || gotErr != wantErr || gotCode != wantCode {
					t.Errorf("%d partitions: exit %d, stderr %q, %d bytes; want exit %d, stderr %q, %d bytes",
						n, gotCode, gotErr, len(got), wantCode, wantErr, len(want))
				}
			}
			if !bytes.HasPrefix([]byte(want), []byte("REDIS")) && wantCode == 0 {
				t.Errorf("no RDB written: %q", want)
			}
		})
	}
}

// TestConvertPartitionedTempDir checks that an unusable temp dir fails the
// conversion with a hint instead of falling back to one big store.
func TestConvertPartitionedTempDir(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.aof")
	if err := os.WriteFile(p, []byte("*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "missing"))
	_, stderr, code, _ := convertWith(t, 2, p)
	if code != 1 || !strings.Contains(stderr, "partition temp file") || !strings.Contains(stderr, "TMPDIR") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}
