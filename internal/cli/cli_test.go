package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/persistkit/persistkit/format/rdb"
)

func TestAppendBytes(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"plain", `"plain"`},
		{"", `""`},
		{"q\"b\\n\n\t\x01\x7f", `"q\"b\\n\n\t\u0001` + "\x7f" + `"`},
		{"é€😀", `"é€😀"`},
		{"\u2028", `"\u2028"`},
		{"\xff\x00", `{"base64":"/wA="}`},
	}
	for _, tc := range tests {
		got := string(AppendBytes(nil, []byte(tc.in)))
		if got != tc.want {
			t.Errorf("AppendBytes(%q) = %s, want %s", tc.in, got, tc.want)
		}
		var v any
		if err := json.Unmarshal([]byte(got), &v); err != nil {
			t.Errorf("AppendBytes(%q) invalid JSON: %v", tc.in, err)
		}
		if s, ok := v.(string); ok && s != tc.in {
			t.Errorf("AppendBytes(%q) round-trips to %q", tc.in, s)
		}
	}
}

func TestAppendFloat(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		want string
	}{
		{1.5, "1.5"}, {1e300, "1e+300"}, {math.Inf(1), `"inf"`}, {math.Inf(-1), `"-inf"`},
		{0.1, "0.1"}, {3.0000000000000004, "3.0000000000000004"}, {5e-324, "5e-324"},
	} {
		if got := string(AppendFloat(nil, tc.f)); got != tc.want {
			t.Errorf("AppendFloat(%v) = %s, want %s", tc.f, got, tc.want)
		}
	}
}

func TestAppendEntryValid(t *testing.T) {
	values := []rdb.Value{
		&rdb.String{Data: []byte("x\xff")},
		&rdb.List{Elems: [][]byte{[]byte("a"), []byte("b")}},
		&rdb.Set{},
		&rdb.ZSet{Members: []rdb.ZMember{{Member: []byte("m"), Score: math.Inf(-1)}}},
		&rdb.Hash{Fields: []rdb.HashField{{Field: []byte("f"), Value: []byte("v"), ExpireAtMs: 5}}},
		&rdb.Stream{Entries: []rdb.StreamEntry{{ID: rdb.StreamID{Ms: 1, Seq: 2}, Fields: []rdb.StreamField{{Field: []byte("a"), Value: []byte("b")}}}},
			HasV2Meta: true, Groups: []rdb.StreamGroup{{Name: []byte("g"), PEL: []rdb.StreamPending{{Consumer: []byte("c")}},
				Consumers: []rdb.StreamConsumer{{Name: []byte("c"), PEL: []rdb.StreamID{{}}}}}}},
		&rdb.Module{Name: "test___dt", Raw: []byte{0}},
	}
	for _, v := range values {
		e := &rdb.Entry{Key: []byte("k"), Kind: v.Kind(), ExpireAtMs: 7, LRUIdleSec: -1, LFUFreq: 3}
		b := AppendEntry(nil, e, v)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Errorf("%T: invalid JSON %s: %v", v, b, err)
		}
	}
	for _, r := range []rdb.Record{&rdb.Aux{Key: []byte("a"), Value: []byte("b")},
		&rdb.Function{Code: []byte("#!lua name=lib\nreturn 1")}, &rdb.ModuleAux{Name: "x", Raw: []byte{0}}} {
		b, ok := AppendRecord(nil, r)
		var m map[string]any
		if !ok || json.Unmarshal(b, &m) != nil {
			t.Errorf("%T: bad record JSON %s", r, b)
		}
	}
	if got := string(FunctionLibraryName([]byte("#!lua name=mylib x=y\ncode"))); got != "mylib" {
		t.Errorf("FunctionLibraryName = %q", got)
	}
}

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, ExitOK},
		{errors.New("boom"), ExitFailure},
		{Usagef("bad"), ExitUsage},
		{fmt.Errorf("f: %w", &rdb.FormatError{Err: io.ErrUnexpectedEOF}), ExitInvalid},
		{fmt.Errorf("x: %w", rdb.ErrChecksum), ExitInvalid},
		{context.Canceled, ExitInterrupted},
		{Silent(ExitInvalid), ExitInvalid},
		{&os.PathError{Op: "open", Err: os.ErrNotExist}, ExitFailure},
	} {
		if got := ExitCode(tc.err); got != tc.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestRun(t *testing.T) {
	mk := func(run func() error) *cobra.Command {
		root := &cobra.Command{Use: "tool"}
		root.PersistentFlags().Bool("json", false, "")
		root.AddCommand(&cobra.Command{Use: "x", Args: cobra.NoArgs, RunE: func(*cobra.Command, []string) error { return run() }})
		return root
	}
	for _, tc := range []struct {
		name   string
		err    error
		args   []string
		code   int
		stderr string
	}{
		{"ok", nil, []string{"x"}, 0, ""},
		{"fail", errors.New("disk full"), []string{"x"}, 1, "tool: error: disk full\n"},
		{"hint", WithHint(Invalid(errors.New("bad data")), "try --fix"), []string{"x"}, 3, "tool: error: bad data\ntool: hint: try --fix\n"},
		{"silent", Silent(3), []string{"x"}, 3, ""},
		{"args", nil, []string{"x", "extra"}, 2, "tool: error: unknown command \"extra\" for \"tool x\"\ntool: hint: see 'tool x --help'\n"},
		{"json", errors.New("e\x1b"), []string{"--json", "x"}, 1, `{"error":"e\u001b","exit_code":1}` + "\n"},
		{"escape", errors.New("e\x1b[31m"), []string{"x"}, 1, "tool: error: \"e\\x1b[31m\"\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := mk(func() error { return tc.err })
			var errb bytes.Buffer
			root.SetErr(&errb)
			root.SetOut(io.Discard)
			if code := Run(context.Background(), root, tc.args); code != tc.code {
				t.Errorf("code %d, want %d", code, tc.code)
			}
			if errb.String() != tc.stderr {
				t.Errorf("stderr %q, want %q", errb.String(), tc.stderr)
			}
		})
	}
}

func TestColorEnabled(t *testing.T) {
	env := Test(nil, nil, nil, true)
	if !env.ColorEnabled(true, false) || env.ColorEnabled(false, false) || env.ColorEnabled(true, true) {
		t.Error("tty/flag decision wrong")
	}
	env.Getenv = func(k string) string { return map[string]string{"NO_COLOR": "1"}[k] }
	if env.ColorEnabled(true, false) {
		t.Error("NO_COLOR ignored")
	}
	env.Getenv = func(k string) string { return map[string]string{"TERM": "dumb"}[k] }
	if env.ColorEnabled(true, false) {
		t.Error("TERM=dumb ignored")
	}
	if s := NewPalette(false).Bad.Sprint("x"); s != "x" {
		t.Errorf("disabled palette coloured: %q", s)
	}
	if s := NewPalette(true).Bad.Sprint("x"); s == "x" {
		t.Error("enabled palette not coloured")
	}
}

func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Unix(0, 0)
	env := Test(nil, nil, &buf, true)
	env.Now = func() time.Time { return clock }
	p := env.NewProgress(&Globals{}, "loading")
	p.Update(1, 100) // too early: quick operations show nothing
	if buf.Len() != 0 {
		t.Fatalf("early progress shown: %q", buf.String())
	}
	clock = clock.Add(time.Second)
	p.Update(50, 100)
	p.Update(60, 100) // throttled
	p.Done()
	if got, want := buf.String(), "\rloading  50.0% (50 B / 100 B)\x1b[K\r\x1b[K"; got != want {
		t.Errorf("progress %q, want %q", got, want)
	}
	if _, ok := env.NewProgress(&Globals{Quiet: true}, "x").(nopProgress); !ok {
		t.Error("-q must disable progress")
	}
	if _, ok := Test(nil, nil, nil, false).NewProgress(&Globals{}, "x").(nopProgress); !ok {
		t.Error("non-TTY stderr must disable progress")
	}
	buf.Reset()
	jp := NewJSONProgress(&buf, func() time.Time { return clock }, time.Second)
	jp.Update(1, 2)
	jp.Update(2, 2)
	if buf.String() != `{"progress":{"done":1,"total":2}}`+"\n" {
		t.Errorf("json progress %q", buf.String())
	}
}

func TestAtomicFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.rdb")
	a, err := CreateAtomic(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(a, "data")
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("target visible before Commit")
	}
	if err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	a.Abort() // no-op after Commit
	if b, _ := os.ReadFile(path); string(b) != "data" {
		t.Fatalf("content %q", b)
	}
	a, _ = CreateAtomic(path, 0)
	io.WriteString(a, "partial")
	a.Abort()
	if b, _ := os.ReadFile(path); string(b) != "data" {
		t.Fatalf("Abort clobbered target: %q", b)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("temp files left: %v", ents)
	}
}

func TestOpenOutputRefusesTTY(t *testing.T) {
	env := Test(nil, io.Discard, io.Discard, true)
	if _, err := env.OpenOutput("", true, false); ExitCode(err) != ExitUsage {
		t.Errorf("binary to terminal: %v", err)
	}
	if _, err := env.OpenOutput("-", true, true); err != nil {
		t.Errorf("-o - must force: %v", err)
	}
}

func TestTable(t *testing.T) {
	var b bytes.Buffer
	tb := NewTable(&b, false, "A", "B")
	tb.Append("x", "y\x1b")
	tb.Render()
	if b.String() != "x\t\"y\\x1b\"\n" {
		t.Errorf("plain table %q", b.String())
	}
	b.Reset()
	tb = NewTable(&b, true, "A")
	tb.Append("x")
	tb.Render()
	if !strings.Contains(b.String(), "│ x │") {
		t.Errorf("tty table %q", b.String())
	}
}

func TestChecksumStatus(t *testing.T) {
	for _, c := range []struct {
		version int
		stored  uint64
		want    string
	}{{4, 7, "none"}, {5, 0, "disabled"}, {12, 0, "disabled"}, {12, 0x1234, "ok"}} {
		if got := ChecksumStatus(c.version, c.stored); got != c.want {
			t.Errorf("ChecksumStatus(%d, %#x) = %q, want %q", c.version, c.stored, got, c.want)
		}
	}
}
