package keyspace

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/persistkit/persistkit/format/resp"
)

// respCmds encodes command lines (split on spaces) as AOF records.
func respCmds(lines ...string) string {
	var b strings.Builder
	for _, l := range lines {
		if strings.HasPrefix(l, "#") {
			b.WriteString(l + "\r\n")
			continue
		}
		args := strings.Fields(l)
		b.WriteString("*" + strconv.Itoa(len(args)) + "\r\n")
		for _, a := range args {
			b.WriteString("$" + strconv.Itoa(len(a)) + "\r\n" + a + "\r\n")
		}
	}
	return b.String()
}

// writeAOFDir writes a multi-part AOF: files in load order, the first
// being the base.
func writeAOFDir(t *testing.T, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	var m strings.Builder
	for i, content := range files {
		name, typ := "appendonly.aof."+strconv.Itoa(i+1)+".incr.aof", "i"
		if i == 0 {
			name, typ = "appendonly.aof.1.base.aof", "b"
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		m.WriteString("file " + name + " seq " + strconv.Itoa(max(i, 1)) + " type " + typ + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "appendonly.aof.manifest"), []byte(m.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestReplayMultiPart(t *testing.T) {
	dir := writeAOFDir(t,
		respCmds("SELECT 0", "SET a 1", "SELECT 2", "SET b 2"),
		"", // empty INCR files are fine
		respCmds("#TS:1700000000", "INCR a", "MULTI", "SET c 3", "#TS:1700000001", "EXEC"),
	)
	s := New(0)
	var progressed []string
	res, err := ReplayAOF(context.Background(), dir, s, &ReplayOptions{Strict: true, Progress: func(p string, _ int64) { progressed = append(progressed, filepath.Base(p)) }})
	if err != nil {
		t.Fatal(err)
	}
	// Each file starts on db 0, like Redis' fresh loading client.
	if str(t, s, "a") != "2" || str(t, s, "c") != "3" || s.DBs[2].Keys["b"] == nil {
		t.Errorf("keyspace wrong: %v", s.DBs[0].SortedKeys())
	}
	if len(res.Files) != 3 || res.Commands != 8 || res.Files[2].Commands != 4 || res.Truncated {
		t.Errorf("result %+v", res)
	}
	if len(progressed) != 3 {
		t.Errorf("progress calls %v", progressed)
	}
}

func TestReplayErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("command error carries file and offset", func(t *testing.T) {
		dir := writeAOFDir(t, respCmds("RPUSH l x", "INCR l", "SET ok 1"))
		var warned []error
		s := New(0)
		res, err := ReplayAOF(ctx, dir, s, &ReplayOptions{Warn: func(e error) { warned = append(warned, e) }})
		if err != nil {
			t.Fatal(err)
		}
		var ce *CommandError
		if res.Errors != 1 || len(warned) != 1 || !errors.As(res.FirstError, &ce) || !errors.Is(ce, ErrWrongType) {
			t.Fatalf("errors %d %v", res.Errors, res.FirstError)
		}
		if want := int64(len(respCmds("RPUSH l x"))); ce.Offset != want || filepath.Base(ce.File) != "appendonly.aof.1.base.aof" || ce.Name != "INCR" {
			t.Errorf("error %+v, want offset %d", ce, want)
		}
		if str(t, s, "ok") != "1" {
			t.Errorf("replay must go on after a failed command")
		}
		if _, err := ReplayAOF(ctx, dir, New(0), &ReplayOptions{Strict: true}); !errors.As(err, &ce) || !errors.Is(err, ErrWrongType) {
			t.Errorf("strict: %v", err)
		}
	})
	t.Run("unknown command is fatal", func(t *testing.T) {
		dir := writeAOFDir(t, respCmds("SET a 1", "NOSUCH x"))
		_, err := ReplayAOF(ctx, dir, New(0), nil)
		var ce *CommandError
		if !errors.As(err, &ce) || !errors.Is(err, ErrUnknownCommand) || ce.Offset != int64(len(respCmds("SET a 1"))) {
			t.Errorf("err %v", err)
		}
	})
	t.Run("truncated non-last file", func(t *testing.T) {
		full := respCmds("SET a 1", "SET b 2")
		dir := writeAOFDir(t, full[:len(full)-3], respCmds("SET c 3"))
		if _, err := ReplayAOF(ctx, dir, New(0), nil); !errors.Is(err, ErrTruncatedNotLast) {
			t.Errorf("err %v", err)
		}
	})
	t.Run("MULTI without EXEC in a non-last file", func(t *testing.T) {
		dir := writeAOFDir(t, respCmds("SET a 1", "MULTI", "SET b 2"), respCmds("SET c 3"))
		if _, err := ReplayAOF(ctx, dir, New(0), nil); !errors.Is(err, ErrTruncatedNotLast) {
			t.Errorf("err %v", err)
		}
	})
	t.Run("MULTI without EXEC at the end", func(t *testing.T) {
		dir := writeAOFDir(t, respCmds("SET a 1"), respCmds("SET c 3", "MULTI", "SET b 2", "INCR c"))
		s := New(0)
		res, err := ReplayAOF(ctx, dir, s, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Truncated || res.TruncatedAt != int64(len(respCmds("SET c 3"))) || res.TruncateCause != nil {
			t.Errorf("result %+v", res)
		}
		if s.InMulti() || s.DBs[0].Keys["b"] != nil || str(t, s, "c") != "3" {
			t.Errorf("queued commands must be dropped")
		}
	})
	t.Run("format error", func(t *testing.T) {
		dir := writeAOFDir(t, respCmds("SET a 1")+"garbage\r\n")
		_, err := ReplayAOF(ctx, dir, New(0), nil)
		var fe *resp.FormatError
		if !errors.As(err, &fe) || fe.Offset != int64(len(respCmds("SET a 1"))) {
			t.Errorf("err %v", err)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		dir := writeAOFDir(t, respCmds("SET a 1"), respCmds("SET b 1"))
		os.Remove(filepath.Join(dir, "appendonly.aof.2.incr.aof"))
		if _, err := ReplayAOF(ctx, dir, New(0), nil); !errors.Is(err, ErrMissingFile) {
			t.Errorf("err %v", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		dir := writeAOFDir(t, respCmds("SET a 1"))
		c, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := ReplayAOF(c, dir, New(0), nil); !errors.Is(err, context.Canceled) {
			t.Errorf("err %v", err)
		}
	})
	t.Run("single file", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "appendonly.aof")
		os.WriteFile(p, []byte(respCmds("SET a 1", "SET b 2")), 0o644)
		s := New(0)
		res, err := ReplayAOF(ctx, p, s, nil)
		if err != nil || res.Commands != 2 || s.Len() != 2 {
			t.Errorf("res %+v err %v", res, err)
		}
	})
}

// BenchmarkReplayAOF replays a synthetic AOF of mixed writes from memory.
func BenchmarkReplayAOF(b *testing.B) {
	var lines []string
	for i := range 20000 {
		k := strconv.Itoa(i % 500)
		lines = append(lines, "SET s"+k+" v"+strconv.Itoa(i), "RPUSH l"+k+" x", "HSET h"+k+" f"+strconv.Itoa(i%20)+" v",
			"ZADD z"+k+" "+strconv.Itoa(i)+" m"+strconv.Itoa(i%30), "SADD t"+k+" "+strconv.Itoa(i%40), "INCR c"+k)
	}
	data := respCmds(lines...)
	p := filepath.Join(b.TempDir(), "appendonly.aof")
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReplayAOF(context.Background(), p, New(0), &ReplayOptions{Strict: true}); err != nil {
			b.Fatal(err)
		}
	}
}
