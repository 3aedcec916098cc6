package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/persistkit/persistkit/format/rdb"
	"github.com/persistkit/persistkit/keyspace"
)

// dupTestRDB writes n keys to db 0 with the project's encoder, plus the
// extra keys after the given positions (key names "k:%05d"; a *rdb.Hash
// value for odd positions and a TTL on every third, so records have prefix
// opcodes and several types), and the same names again in db 1 (not
// duplicates).
func dupTestRDB(t *testing.T, n int, extra map[int][]int) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := rdb.NewEncoder(&buf, &rdb.EncodeOptions{Version: 11})
	if err := enc.Write(&rdb.Aux{Key: []byte("redis-ver"), Value: []byte("7.2.0")}); err != nil {
		t.Fatal(err)
	}
	write := func(db uint64, i int) {
		ent := &rdb.Entry{DB: db, Key: fmt.Appendf(nil, "k:%05d", i), ExpireAtMs: rdb.NoExpire, LRUIdleSec: -1, LFUFreq: -1}
		if i%3 == 0 {
			ent.ExpireAtMs = 4102444800000 + int64(i)
		}
		var v rdb.Value = &rdb.String{Data: fmt.Appendf(nil, "v%d", i)}
		if i%2 == 1 {
			v = &rdb.Hash{Fields: []rdb.HashField{{Field: []byte("f"), Value: []byte("x")}}}
		}
		if err := enc.WriteEntry(ent, v); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		write(0, i)
		for _, j := range extra[i] {
			write(0, j)
		}
	}
	for i := range 10 {
		write(1, i)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestCheckDupSpill checks that check reports the same duplicates, in the
// same words, whether or not its key set spilled to disk: in the memory
// phase, across the switch and after it, and that it leaves no spill files.
func TestCheckDupSpill(t *testing.T) {
	const n = 4000 // the smallest budget holds 1536 keys in memory
	file := filepath.Join(t.TempDir(), "dups.rdb")
	data := dupTestRDB(t, n, map[int][]int{
		100:   {7},          // both in memory
		n - 2: {5, 2000, 8}, // first before or after the switch, second after
		n - 1: {2000, 2001}, // 2000 a third time
	})
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)

	run := func(budget int, args ...string) (string, string, int) {
		old := checkKeySetBudget
		checkKeySetBudget = budget
		defer func() { checkKeySetBudget = old }()
		return runCLI(t, false, "", args...)
	}
	for _, args := range [][]string{{"check", file}, {"--json", "check", file}} {
		wantOut, wantErr, wantCode := run(0, args...)
		out, errs, code := run(1, args...)
		if out != wantOut || errs != wantErr || code != wantCode {
			t.Errorf("%v with a small key set:\n%s%s(exit %d)\nwant\n%s%s(exit %d)", args, out, errs, code, wantOut, wantErr, wantCode)
		}
		if code != 3 {
			t.Errorf("%v: exit %d, want 3", args, code)
		}
	}
	out, _, _ := run(1, "--json", "check", file)
	var rep struct {
		Problems []struct {
			Offset int64
			Key    string
			Type   string
			What   string
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range rep.Problems {
		if p.What != "duplicate key" || p.Type == "" {
			t.Errorf("problem %+v", p)
		}
		// The offset is the second record's: its key follows the type byte
		// and any prefix opcodes.
		if !bytes.Contains(data[p.Offset:min(int(p.Offset)+20, len(data))], []byte(p.Key)) {
			t.Errorf("offset %d: key %q not there", p.Offset, p.Key)
		}
		got = append(got, p.Key)
	}
	want := "k:00007 k:00005 k:02000 k:00008 k:02000 k:02001"
	if strings.Join(got, " ") != want {
		t.Errorf("duplicates %v, want %s", got, want)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("spill files left in TMPDIR: %v", ents)
	}

	// From a pipe the keys cannot be read again: duplicates found in
	// memory read as before, later ones say they are unconfirmed.
	stdout, _, code := func() (string, string, int) {
		old := checkKeySetBudget
		checkKeySetBudget = 1
		defer func() { checkKeySetBudget = old }()
		return runCLI(t, false, string(data), "--json", "check", "-")
	}()
	if code != 3 || !strings.Contains(stdout, `"key":"k:00007","type":"16 (hash-listpack)","what":"duplicate key"}`) {
		t.Errorf("stdin: exit %d\n%s", code, stdout)
	}
	if got := strings.Count(stdout, "the input cannot be read again"); got != 5 {
		t.Errorf("stdin: %d unconfirmed duplicates, want 5\n%s", got, stdout)
	}
}

// TestFixDupSpill checks that --fix, and check's resync after damage, drop
// the same duplicate keys whether or not the salvage's key set outgrew its
// memory budget (past it duplicates are found only at the end, and --fix
// salvages a second time without them): same report, same file, which
// loads.
func TestFixDupSpill(t *testing.T) {
	const n = 4000 // the smallest budget holds 1536 keys in memory
	dir := t.TempDir()
	data := dupTestRDB(t, n, map[int][]int{
		100:   {7},
		n - 2: {5, 2000, 8},
		n - 1: {2000, 2001},
	})
	file := filepath.Join(dir, "dups.rdb")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	// A damaged copy: check resyncs past the damage with the salvage.
	damaged := bytes.Clone(data)
	at := bytes.Index(damaged, []byte("k:00050"))
	damaged[at-2] = 0x40 // the type byte: no such type
	dfile := filepath.Join(dir, "damaged.rdb")
	if err := os.WriteFile(dfile, damaged, 0o644); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	defer func(n int) { fixBufSize = n }(fixBufSize)
	fixBufSize = 4096 // the first salvage's output reaches stdout before its end
	run := func(budget int, args ...string) (string, string, int) {
		old := salvageKeySetBudget
		salvageKeySetBudget = budget
		defer func() { salvageKeySetBudget = old }()
		return runCLI(t, false, "", args...)
	}
	for i, args := range [][]string{
		{"check", "--fix", "-o", filepath.Join(dir, "out%d.rdb"), file},
		{"--json", "check", "--fix", "-o", filepath.Join(dir, "out%d.rdb"), file},
		{"check", dfile},
		{"--json", "check", dfile},
		{"check", "--fix", "-o", "-", file}, // the file on stdout
	} {
		var outs [2]string
		var files [2][]byte
		for j, budget := range []int{0, 1} {
			a := slices.Clone(args)
			for k := range a {
				if strings.Contains(a[k], "%d") {
					a[k] = fmt.Sprintf(a[k], j)
				}
			}
			stdout, stderr, code := run(budget, a...)
			outs[j] = fmt.Sprintf("%s%s(exit %d)", stdout, stderr, code)
			outs[j] = strings.ReplaceAll(outs[j], fmt.Sprintf("out%d.rdb", j), "out.rdb")
			if i < 2 {
				var err error
				if files[j], err = os.ReadFile(filepath.Join(dir, fmt.Sprintf("out%d.rdb", j))); err != nil {
					t.Fatal(err)
				}
			}
		}
		if outs[0] != outs[1] || !bytes.Equal(files[0], files[1]) {
			t.Errorf("%v: with a small key set:\n%s\nwant\n%s\n(files equal: %v)", args, outs[1], outs[0], bytes.Equal(files[0], files[1]))
		}
		if i == 4 {
			// No second copy on stdout: the salvaged file is there once.
			s := keyspace.New(0)
			if err := keyspace.LoadRDB(context.Background(), strings.NewReader(strings.SplitN(outs[1], "rdbtool: ", 2)[0]), s, nil); err != nil || s.Len() != n+10 {
				t.Errorf("%v: stdout does not load as the salvaged file (%d keys): %v", args, s.Len(), err)
			}
		}
		if got := strings.Count(outs[1], "duplicate key"); got != 6 {
			t.Errorf("%v: %d duplicate keys reported, want 6\n%s", args, got, outs[1])
		}
		if i < 2 {
			s := keyspace.New(0)
			if err := keyspace.LoadRDB(context.Background(), bytes.NewReader(files[1]), s, nil); err != nil {
				t.Errorf("%v: salvaged file does not load: %v", args, err)
			}
			if s.Len() != n+10 {
				t.Errorf("%v: %d keys load, want %d", args, s.Len(), n+10)
			}
		}
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("spill files left in TMPDIR: %v", ents)
	}
}
