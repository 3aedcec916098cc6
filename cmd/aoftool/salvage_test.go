package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/persistkit/persistkit/format/rdb"
	"github.com/persistkit/persistkit/format/resp"
)

// FuzzSalvageRESP checks that salvage never panics, only drops bytes
// (the output is the input minus the reported ranges) and always yields
// an AOF that redis-check-aof's rules accept.
func FuzzSalvageRESP(f *testing.F) {
	f.Add([]byte(cmds("SET a 1", "MULTI", "SET b 2", "EXEC")))
	f.Add([]byte(cmds("SET a 1") + "garbage" + cmds("SET b 2")))
	f.Add([]byte("#TS:1\r\n" + cmds("SET a 1", "MULTI") + "*1\r\n$4\r\nEX"))
	f.Add([]byte(cmds("EXEC", "MULTI", "MULTI", "DEL x")))
	f.Add([]byte("*1\r\n$7\r\nmulti\x00x\r\n" + cmds("SET a 1")))
	f.Add([]byte("#" + strings.Repeat("x", 1100) + "\r\n" + cmds("SET a 1")))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &salvaged{}
		salvageRESP(data, 0, s)
		var out bytes.Buffer
		if err := s.writeTo(context.Background(), &out, data); err != nil {
			t.Fatal(err)
		}
		if int64(out.Len()) != s.size {
			t.Fatalf("wrote %d bytes, planned %d", out.Len(), s.size)
		}
		var rebuilt []byte
		prev := int64(0)
		for _, d := range s.dropped {
			if d[0] < prev || d[1] <= d[0] || d[1] > int64(len(data)) {
				t.Fatalf("bad dropped ranges %v", s.dropped)
			}
			rebuilt = append(rebuilt, data[prev:d[0]]...)
			prev = d[1]
		}
		rebuilt = append(rebuilt, data[prev:]...)
		if !bytes.Equal(rebuilt, out.Bytes()) {
			t.Fatalf("output is not the input minus the dropped ranges %v", s.dropped)
		}
		res, err := resp.Check(bytes.NewReader(out.Bytes()), nil)
		if err != nil || !res.Valid() {
			t.Fatalf("salvaged output is not valid: %+v %v\n%q", res, err, out.Bytes())
		}
	})
}

// TestSalvageRDBPartOwnVersion: a record its RDB part's version cannot
// hold (a stream in an RDB 7, found by FuzzSalvageRDB in rdbtool) ends the
// kept keys like damage; it is not dropped quietly and counted as kept.
func TestSalvageRDBPartOwnVersion(t *testing.T) {
	data := []byte("REDIS0007\x0f\x00\x00\x00\x30\x30\x00")
	s := &salvaged{}
	var out bytes.Buffer
	if _, _, err := salvageRDB(context.Background(), data, &out, s); err != nil {
		t.Fatal(err)
	}
	if s.keys != 0 {
		t.Errorf("%d keys kept, want 0", s.keys)
	}
}

// TestSalvageRDBStopsAtRunsAndDuplicates: a zeroed stretch of an RDB
// preamble decodes as records ("" = ""), and a key written twice makes
// the server refuse the file; the preamble's salvage keeps what comes
// before either, and its output decodes.
func TestSalvageRDBStopsAtRunsAndDuplicates(t *testing.T) {
	rec := func(k, v string) []byte {
		return append(append([]byte{0, byte(len(k))}, k...), append([]byte{byte(len(v))}, v...)...)
	}
	head := append([]byte("REDIS0009\xfe\x00"), append(rec("a", "1"), rec("b", "2")...)...)
	for name, damage := range map[string][]byte{
		"zeros":     make([]byte, 32),
		"duplicate": append(rec("a", "3"), rec("c", "4")...),
	} {
		data := append(append(bytes.Clone(head), damage...), rec("d", "5")...)
		data = append(data, 0xff, 0, 0, 0, 0, 0, 0, 0, 0)
		s := &salvaged{}
		var out bytes.Buffer
		good, _, err := salvageRDB(context.Background(), data, &out, s)
		if err != nil {
			t.Fatal(err)
		}
		if s.keys != 2 || good != int64(len(head)) {
			t.Errorf("%s: %d keys kept up to %d, want 2 up to %d", name, s.keys, good, len(head))
		}
		dec := rdb.NewDecoder(bytes.NewReader(out.Bytes()), &rdb.DecodeOptions{Deep: true})
		n := 0
		for {
			r, err := dec.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: salvaged part: %v", name, err)
			}
			if _, ok := r.(*rdb.Entry); ok {
				n++
			}
		}
		if n != 2 {
			t.Errorf("%s: salvaged part holds %d keys, want 2", name, n)
		}
	}
}

// TestCheckFindsDuplicateKeyInPreamble: a key twice in the RDB preamble
// makes the server refuse the AOF, so check reports it (exit 3) at the
// later occurrence, --fix refuses to cut RDB data, and --salvage keeps
// the part before it and the RESP tail.
func TestCheckFindsDuplicateKeyInPreamble(t *testing.T) {
	rec := func(k, v string) []byte {
		return append(append([]byte{0, byte(len(k))}, k...), append([]byte{byte(len(v))}, v...)...)
	}
	data := append([]byte("REDIS0009\xfe\x00"), rec("a", "1")...)
	second := len(data)
	data = append(append(data, rec("b", "2")...), rec("a", "3")...)
	dupAt := second + len(rec("b", "2"))
	data = append(data, 0xff, 0, 0, 0, 0, 0, 0, 0, 0)
	data = append(data, "*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1\r\n4\r\n"...)
	path := filepath.Join(t.TempDir(), "appendonly.aof")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, code := runCLI(t, false, "", "check", path)
	if want := fmt.Sprintf("[offset %d] key: corrupt data: duplicate key (first at offset %d)", dupAt, len("REDIS0009\xfe\x00")); code != 3 || !strings.Contains(out, want) {
		t.Errorf("check: exit %d, want 3 and %q:\n%s", code, want, out)
	}
	if _, _, code := runCLI(t, false, "", "check", "--fix", "--yes", path); code != 3 {
		t.Errorf("check --fix: exit %d, want 3 (the RDB part cannot be cut)", code)
	}
	if _, errs, code := runCLI(t, false, "", "check", "--fix", "--salvage", "--yes", "--no-backup", path); code != 0 {
		t.Fatalf("check --fix --salvage: exit %d\n%s", code, errs)
	}
	want := "\"SET\" \"a\" \"1\"\n\"SET\" \"b\" \"2\"\n\"SET\" \"c\" \"4\"\n"
	if out, _, code := runCLI(t, false, "", "dump", path); code != 0 || out != want {
		t.Errorf("salvaged AOF: exit %d\n%s\nwant\n%s", code, out, want)
	}
	if _, _, code := runCLI(t, false, "", "check", path); code != 0 {
		t.Errorf("check after salvage: exit %d", code)
	}
}

// TestPreambleDuplicateTestSpills: past its memory budget the preamble's
// key set spills to $TMPDIR and still finds a duplicate (at the end, by
// hash); when it cannot spill, the check says the test stopped instead of
// calling the preamble damaged.
func TestPreambleDuplicateTestSpills(t *testing.T) {
	defer func(b int) { preambleKeySetBudget = b }(preambleKeySetBudget)
	preambleKeySetBudget = 64 << 10
	data := []byte("REDIS0009\xfe\x00")
	for i := range 20000 {
		k := fmt.Sprintf("key:%05d", i)
		data = append(append(append(data, 0, byte(len(k))), k...), 1, 'v')
	}
	clean := append(bytes.Clone(data), 0xff, 0, 0, 0, 0, 0, 0, 0, 0)
	dup := append(append(data, 0, 9), "key:00007"...)
	dup = append(append(dup, 1, 'w'), 0xff, 0, 0, 0, 0, 0, 0, 0, 0)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cleanPath, dupPath := write("clean.aof", clean), write("dup.aof", dup)

	t.Setenv("TMPDIR", t.TempDir())
	if out, _, code := runCLI(t, false, "", "check", dupPath); code != 3 || !strings.Contains(out, "duplicate key (first at offset") {
		t.Errorf("spilled duplicate: exit %d, want 3:\n%s", code, out)
	}
	if _, _, code := runCLI(t, false, "", "check", cleanPath); code != 0 {
		t.Errorf("spilled, no duplicate: exit %d, want 0", code)
	}
	t.Setenv("TMPDIR", filepath.Join(dir, "missing"))
	if out, _, code := runCLI(t, false, "", "check", cleanPath); code != 0 || !strings.Contains(out, "duplicate keys not looked for past offset") {
		t.Errorf("no spill file: exit %d, want 0 and a line saying the test stopped:\n%s", code, out)
	}
}
