package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/persistkit/persistkit/format/rdb"
	"github.com/persistkit/persistkit/format/resp"
	"github.com/persistkit/persistkit/internal/cli"
	"github.com/persistkit/persistkit/keyspace"
)

// refDump is dump's output computed the plain way, without the pipeline:
// one decoder, every value materialised with Value, written through
// resp.Writer for RESP. It follows dump without filters: hash fields dead
// at save time (per ctime) are dropped, and hashes left empty.
func refDump(t *testing.T, path, format string) (string, bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	dec := rdb.NewDecoder(f, nil)
	rw := resp.NewWriter(&out)
	ver, _ := dec.Version()
	if ver == 0 {
		ver = 12
	}
	rew := keyspace.NewRewriter(rw.WriteCommand, keyspace.RewriteOptions{ScorePrecision: 17, ModuleDumpVersion: max(ver, 9)})
	cutoff := int64(0)
	curDB := int64(-1)
	ok := true
	for {
		rec, err := dec.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			ok = false
			break
		}
		e, isEntry := rec.(*rdb.Entry)
		if !isEntry {
			if a, isAux := rec.(*rdb.Aux); isAux && string(a.Key) == "ctime" {
				if sec, err := strconv.ParseInt(string(a.Value), 10, 64); err == nil && sec > 0 && sec < 1<<40 {
					cutoff = max(cutoff, (sec+1)*1000)
				}
			}
			if format == "jsonl" {
				if b, shown := cli.AppendRecord(nil, rec); shown {
					out.Write(append(b, '\n'))
				}
			} else if fn, isFunc := rec.(*rdb.Function); isFunc {
				rew.FunctionLoad(fn.Code)
			}
			continue
		}
		v, err := dec.Value()
		if err != nil {
			ok = false
			break
		}
		if h, isHash := v.(*rdb.Hash); isHash && cutoff > 0 {
			live := &rdb.Hash{}
			for _, f := range h.Fields {
				if f.ExpireAtMs == 0 || f.ExpireAtMs >= cutoff {
					live.Fields = append(live.Fields, f)
				}
			}
			if len(live.Fields) == 0 && len(h.Fields) > 0 {
				continue
			}
			v = live
		}
		if format == "jsonl" {
			out.Write(append(cli.AppendEntry(nil, e, v), '\n'))
			continue
		}
		if int64(e.DB) != curDB {
			curDB = int64(e.DB)
			rw.WriteCommand([]byte("SELECT"), strconv.AppendUint(nil, e.DB, 10))
		}
		if err := rew.Key(e.Key, v, e.ExpireAtMs); err != nil && !errors.Is(err, keyspace.ErrNoCommandForm) {
			t.Fatal(err)
		}
	}
	rw.Flush()
	return out.String(), ok
}

// TestPipelineMatchesValue checks that dump's pipeline (batches, arena
// copies, reused values, the RESP emitter) writes exactly what the plain
// decoder loop writes, on every corpus and decoder testdata file, whether
// compact values are walked by the decoding stage or the formatting one.
func TestPipelineMatchesValue(t *testing.T) {
	defer func(f func(int) bool) { pipeInline = f }(pipeInline)
	for _, inline := range []bool{false, true} {
		pipeInline = func(int) bool { return inline }
		t.Run("inline="+strconv.FormatBool(inline), testPipelineMatchesValue)
	}
}

func testPipelineMatchesValue(t *testing.T) {
	var files []string
	for _, dir := range []string{corpusDir, "../../format/rdb/testdata"} {
		filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, ".rdb") {
				files = append(files, path)
			}
			return nil
		})
	}
	if len(files) == 0 {
		t.Skip("no RDB files")
	}
	if testing.Short() {
		files = files[:min(len(files), 20)]
	}
	for _, path := range files {
		for _, format := range []string{"jsonl", "resp"} {
			want, ok := refDump(t, path, format)
			got, _, code := runCLI(t, false, "", "-q", "dump", "--format", format, path)
			if got != want || (code == 0) != ok {
				t.Errorf("dump --format %s %s: exit %d (reference ok: %v), output differs from the plain decoder loop (%d vs %d bytes)",
					format, path, code, ok, len(got), len(want))
			}
		}
	}
}

// TestPipelineSinkError checks that a failing sink stops the decoding
// goroutine and its error is returned, with nothing written after it.
func TestPipelineSinkError(t *testing.T) {
	path := filepath.Join(corpusDir, "7.0.15-debian/types-large/dump.rdb")
	f, err := os.Open(path)
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	boom := errors.New("boom")
	s := &failSink{after: 10, err: boom}
	filt := &dumpFilter{expired: "include"}
	n, err := runPipeline(context.Background(), rdb.NewDecoder(f, &rdb.DecodeOptions{ReuseEntry: true}), pipeConfig{filt: filt, needValue: true}, s)
	if !errors.Is(err, boom) || n != 11 || s.n != 10 {
		t.Errorf("runPipeline = %d, %v; sink saw %d entries", n, err, s.n)
	}
}

type failSink struct {
	n, after int
	err      error
}

func (s *failSink) record(rdb.Record) error { return nil }
func (s *failSink) entry(*rdb.Entry, rdb.Value) error {
	if s.n == s.after {
		return s.err
	}
	s.n++
	return nil
}
func (s *failSink) close() error { return nil }

// benchRDB is the input of the dump/convert benchmarks: $RDBTOOL_BENCH_RDB,
// else the largest corpus file.
func benchRDB(b *testing.B) string {
	f := os.Getenv("RDBTOOL_BENCH_RDB")
	if f == "" {
		f = filepath.Join(corpusDir, "7.0.15-debian/types-large/dump.rdb")
	}
	if _, err := os.Stat(f); err != nil {
		b.Skip(err)
	}
	return f
}

func benchCLI(b *testing.B, args ...string) {
	f := benchRDB(b)
	st, _ := os.Stat(f)
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for b.Loop() {
		env := cli.Test(strings.NewReader(""), io.Discard, io.Discard, false)
		if code := cli.Run(context.Background(), newRootCmd(env), append(args, f)); code != 0 {
			b.Fatalf("exit code %d", code)
		}
	}
}

func BenchmarkDumpJSONL(b *testing.B) { benchCLI(b, "-q", "dump", "--format", "jsonl") }

func BenchmarkDumpRESP(b *testing.B) { benchCLI(b, "-q", "dump", "--format", "resp") }
