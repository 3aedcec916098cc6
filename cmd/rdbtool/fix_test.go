package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/persistkit/persistkit/format/rdb"
	"github.com/persistkit/persistkit/keyspace"
)

func loadFile(t *testing.T, path string) *keyspace.Store {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := keyspace.New(0)
	if err := keyspace.LoadRDB(context.Background(), bytes.NewReader(data), s, nil); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s
}

// TestFixCorpus salvages every corrupt corpus RDB: the result must pass
// check, and every key in it must equal the key of the undamaged source.
func TestFixCorpus(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*", "corrupt", "rdb", "*.rdb"))
	if len(files) == 0 {
		t.Skip("no corrupt corpus files")
	}
	for _, f := range files {
		t.Run(filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(f))))+"/"+filepath.Base(f), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "fixed.rdb")
			_, stderr, code := runCLI(t, false, "", "check", "--fix", "-o", out, f)
			if filepath.Base(f) == "bitflip-6-0.rdb" { // the version digits: nothing to salvage
				if code != 3 {
					t.Errorf("damaged header: exit %d, want 3", code)
				}
				return
			}
			if code != 0 {
				t.Fatalf("fix: exit %d: %s", code, stderr)
			}
			if _, _, code := runCLI(t, false, "", "check", out); code != 0 {
				t.Fatalf("fixed file fails check (exit %d)", code)
			}
			orig := loadFile(t, filepath.Join(filepath.Dir(filepath.Dir(filepath.Dir(f))), "types-small", "dump.rdb"))
			fixed := loadFile(t, out)
			if fixed.Len() == 0 && len(bytes.TrimSpace([]byte(stderr))) == 0 {
				t.Error("nothing kept and nothing reported")
			}
			// A bit flip that only the CRC catches alters one key or value
			// undetectably; anything more is a salvage bug.
			bad := 0
			fixed.Each(func(db int, key []byte, o *keyspace.Object) error {
				want := orig.DBs[db].Keys[string(key)]
				if want == nil || keyspace.DigestValue(key, o, keyspace.DigestOptions{}) != keyspace.DigestValue(key, want, keyspace.DigestOptions{}) {
					bad++
					t.Logf("key db%d %q differs from the original", db, key)
				}
				return nil
			})
			if bad > 0 {
				if bytes.Contains([]byte(stderr), []byte("dropped key")) || bytes.Contains([]byte(stderr), []byte("dropped bytes")) || bad > 1 {
					t.Errorf("%d keys differ from the original", bad)
				}
			}
		})
	}
}

func TestFixInPlace(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(corpusDir, "7.4.1", "corrupt", "rdb", "trunc-714.rdb"))
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	f := filepath.Join(dir, "dump.rdb")
	os.WriteFile(f, src, 0o600)
	if _, stderr, code := runCLI(t, false, "", "check", "--fix", "--in-place", f); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if bak, _ := os.ReadFile(f + ".bak"); !bytes.Equal(bak, src) {
		t.Error("FILE.bak is not the original")
	}
	if _, _, code := runCLI(t, false, "", "check", f); code != 0 {
		t.Errorf("fixed file fails check (exit %d)", code)
	}
	if st, _ := os.Stat(f); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want the original's 0600", st.Mode().Perm())
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("left behind: %v", ents)
	}
	if _, _, code := runCLI(t, false, "", "check", "--fix", f); code != 2 {
		t.Errorf("--fix without -o/--in-place: exit %d, want 2", code)
	}
}

// TestFixRunInsideValue damages the length of a string made of one byte
// value repeated (a bitmap of zeros, say). Such a run decodes as a chain of
// records ("" = "" for zeros, "\x01" lists for ones), so a resync that
// accepted it would invent a key and report hundreds of lost ones; check
// and --fix must resume at the next real record instead and keep every
// key after the damage.
func TestFixRunInsideValue(t *testing.T) {
	for _, fill := range []byte{0, 1} {
		t.Run(fmt.Sprintf("fill-%d", fill), func(t *testing.T) {
			var buf bytes.Buffer
			enc := rdb.NewEncoder(&buf, &rdb.EncodeOptions{Version: 10, NoCompress: true})
			put := func(key string, v []byte) {
				ent := &rdb.Entry{Key: []byte(key), ExpireAtMs: rdb.NoExpire, LRUIdleSec: -1, LFUFreq: -1}
				if err := enc.WriteEntry(ent, &rdb.String{Data: v}); err != nil {
					t.Fatal(err)
				}
			}
			put("k1", []byte("v1"))
			put("big", bytes.Repeat([]byte{fill}, 5000))
			var after []string
			for i := range 5 {
				after = append(after, fmt.Sprintf("after%d", i))
				put(after[i], fmt.Appendf(nil, "x%d", i))
			}
			if err := enc.Close(); err != nil {
				t.Fatal(err)
			}
			data := buf.Bytes()
			at := bytes.Index(data, []byte("\x03big")) + 4 // the 14-bit length 5000
			if data[at] != 0x40|5000>>8 {
				t.Fatalf("unexpected length encoding % x", data[at:at+2])
			}
			data[at], data[at+1] = 0x7f, 0xff // 16383: past the end of the file
			dir := t.TempDir()
			in := filepath.Join(dir, "bad.rdb")
			if err := os.WriteFile(in, data, 0o644); err != nil {
				t.Fatal(err)
			}

			out, _, code := runCLI(t, false, "", "check", in)
			if code != 3 {
				t.Fatalf("check: exit %d, want 3", code)
			}
			if n := strings.Count(out, "[lost] key"); n != 1 || !strings.Contains(out, "[lost] key 'big'") {
				t.Errorf("check reports %d lost keys, want only 'big':\n%s", n, out)
			}

			fixed := filepath.Join(dir, "fixed.rdb")
			if _, stderr, code := runCLI(t, false, "", "check", "--fix", "-o", fixed, in); code != 0 {
				t.Fatalf("fix: exit %d: %s", code, stderr)
			}
			s := loadFile(t, fixed)
			want := append([]string{"k1"}, after...)
			if s.Len() != len(want) {
				var got []string
				s.Each(func(_ int, key []byte, _ *keyspace.Object) error {
					got = append(got, fmt.Sprintf("%q", key))
					return nil
				})
				t.Errorf("fixed file holds %v, want %q", got, want)
			}
			for _, k := range want {
				if s.DBs[0].Keys[k] == nil {
					t.Errorf("key %q lost", k)
				}
			}
		})
	}
}

// TestQuickPlausibleRealRecords: the resync's cheap filter must accept the
// start of every key record of every corpus RDB (offsets as the decoder
// reports them, prefix opcodes included).
func TestQuickPlausibleRealRecords(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*", "*", "*.rdb"))
	if len(files) == 0 {
		t.Fatal("no corpus RDBs")
	}
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue // a directory named *.rdb among Redis' assets
		}
		dec := rdb.NewDecoder(bytes.NewReader(data), nil)
		for {
			rec, err := dec.Next()
			if err != nil {
				break
			}
			if e, ok := rec.(*rdb.Entry); ok {
				n++
				if !plausibleStart(data[e.Offset]) || !quickPlausible(data, e.Offset) {
					t.Errorf("%s: key %q at offset %d refused", f, e.Key, e.Offset)
				}
			}
		}
	}
	if n < 1000 {
		t.Errorf("only %d key records checked", n)
	}
}

// TestFixRandomRegion overwrites a string value with random bytes and
// damages its length: the resync goes through the noise (which holds EOF
// opcodes and record-like bytes) to the real keys after it, and keeps no
// key made of noise.
func TestFixRandomRegion(t *testing.T) {
	var buf bytes.Buffer
	enc := rdb.NewEncoder(&buf, &rdb.EncodeOptions{Version: 10, NoCompress: true})
	put := func(key string, v []byte) {
		ent := &rdb.Entry{Key: []byte(key), ExpireAtMs: rdb.NoExpire, LRUIdleSec: -1, LFUFreq: -1}
		if err := enc.WriteEntry(ent, &rdb.String{Data: v}); err != nil {
			t.Fatal(err)
		}
	}
	noise := make([]byte, 256<<10)
	r := rand.New(rand.NewPCG(7, 9))
	for i := range noise {
		noise[i] = byte(r.Uint32())
	}
	put("k1", []byte("v1"))
	put("big", noise)
	want := []string{"k1"}
	for i := range 5 {
		k := fmt.Sprintf("after%d", i)
		want = append(want, k)
		put(k, fmt.Appendf(nil, "x%d", i))
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	at := bytes.Index(data, []byte("\x03big")) + 4 // 0x80 + 32-bit length
	if data[at] != 0x80 {
		t.Fatalf("unexpected length encoding % x", data[at:at+5])
	}
	binary.BigEndian.PutUint32(data[at+1:], 1<<30)
	in := filepath.Join(t.TempDir(), "bad.rdb")
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}
	fixed := filepath.Join(t.TempDir(), "fixed.rdb")
	if _, stderr, code := runCLI(t, false, "", "check", "--fix", "-o", fixed, in); code != 0 {
		t.Fatalf("fix: exit %d: %s", code, stderr)
	}
	s := loadFile(t, fixed)
	var got []string
	s.Each(func(_ int, key []byte, _ *keyspace.Object) error {
		got = append(got, string(key))
		return nil
	})
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("fixed file holds %q, want %q", got, want)
	}
}
