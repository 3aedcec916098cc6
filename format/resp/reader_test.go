package resp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func readAll(r *Reader) ([]Command, error) {
	var out []Command
	for {
		c, err := r.Next()
		if err != nil {
			if err == io.EOF {
				return out, nil
			}
			return out, err
		}
		out = append(out, c)
	}
}

func argStrings(c Command) []string {
	var s []string
	for _, a := range c.Args {
		s = append(s, string(a))
	}
	return s
}

func TestReader(t *testing.T) {
	set := "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n" // 27 bytes
	tests := []struct {
		name    string
		in      string
		lim     Limits
		cmds    [][]string
		offsets []int64
		lines   []int64
		anns    []string
		err     error
		errOff  int64
		errTail int64
	}{
		{name: "empty", in: ""},
		{name: "one", in: set, cmds: [][]string{{"SET", "k", "v"}}, offsets: []int64{0}, lines: []int64{1}},
		{name: "two", in: set + set, cmds: [][]string{{"SET", "k", "v"}, {"SET", "k", "v"}}, offsets: []int64{0, 27}, lines: []int64{1, 8}},
		{name: "binary arg with newlines", in: "*2\r\n$4\r\na\nb\n\r\n" + set, err: ErrFormat, errOff: 14},
		{name: "newlines count in lines", in: "*1\r\n$4\r\na\nb\n\r\n" + set, cmds: [][]string{{"a\nb\n"}, {"SET", "k", "v"}},
			offsets: []int64{0, 14}, lines: []int64{1, 6}},
		{name: "empty arg", in: "*2\r\n$0\r\n\r\n$1\r\nx\r\n", cmds: [][]string{{"", "x"}}, offsets: []int64{0}, lines: []int64{1}},
		{name: "annotation", in: "#TS:17\r\n" + set + set, cmds: [][]string{{"SET", "k", "v"}, {"SET", "k", "v"}},
			offsets: []int64{0, 35}, lines: []int64{1, 9}, anns: []string{"TS:17", ""}},
		{name: "two annotations keep last", in: "#a\r\n#b\n" + set, cmds: [][]string{{"SET", "k", "v"}},
			offsets: []int64{0}, lines: []int64{1}, anns: []string{"b"}},
		{name: "annotation at end", in: set + "#TS:1\r\n", cmds: [][]string{{"SET", "k", "v"}}, offsets: []int64{0}, lines: []int64{1}},
		{name: "truncated in header", in: set + "*3\r", cmds: [][]string{{"SET", "k", "v"}}, offsets: []int64{0}, lines: []int64{1},
			err: ErrTruncated, errOff: 27, errTail: 3},
		{name: "truncated in payload", in: set + set[:20], cmds: [][]string{{"SET", "k", "v"}}, offsets: []int64{0}, lines: []int64{1},
			err: ErrTruncated, errOff: 27, errTail: 20},
		{name: "truncated before crlf", in: set[:25], err: ErrTruncated, errOff: 0, errTail: 25},
		{name: "truncated after annotation", in: "#TS:1\r\n*1\r\n", err: ErrTruncated, errOff: 0, errTail: 11},
		{name: "truncated missing args", in: "*2\r\n$1\r\nx\r\n", err: ErrTruncated, errOff: 0, errTail: 11},
		{name: "garbage", in: set + "garbage\r\n", cmds: [][]string{{"SET", "k", "v"}}, offsets: []int64{0}, lines: []int64{1},
			err: ErrFormat, errOff: 27},
		{name: "zero args", in: "*0\r\n", err: ErrFormat},
		{name: "negative args", in: "*-1\r\n", err: ErrFormat},
		{name: "bare star", in: "*\r\n", err: ErrFormat},
		{name: "lf only", in: "*1\n$1\nx\r\n", err: ErrFormat},
		{name: "atoi junk", in: "*1abc\r\n", err: ErrFormat},
		{name: "dollar missing", in: "*1\r\n:1\r\n", err: ErrFormat, errOff: 4},
		{name: "bulk without crlf", in: "*1\r\n$1\r\nxyz\r\n", err: ErrFormat, errOff: 9},
		{name: "huge bulk", in: "*1\r\n$99999999999999999999\r\n", err: ErrLimit, errOff: 4},
		{name: "bulk over limit", in: "*1\r\n$11\r\nhello world\r\n", lim: Limits{MaxBulkLen: 10}, err: ErrLimit, errOff: 4},
		{name: "argc over limit", in: "*3\r\n", lim: Limits{MaxArgs: 2}, err: ErrLimit},
		{name: "line over limit", in: "#" + strings.Repeat("x", 100) + "\r\n" + set, lim: Limits{MaxLineLen: 64}, err: ErrLimit},
		{name: "huge bulk truncated", in: "*1\r\n$536870912\r\nabc", err: ErrTruncated, errTail: 19},
	}
	for _, tc := range tests {
		for _, reuse := range []bool{false, true} {
			t.Run(tc.name, func(t *testing.T) {
				r := NewReader(strings.NewReader(tc.in), &ReaderOptions{Limits: tc.lim, Reuse: reuse})
				var cmds [][]string
				var offs, lines []int64
				var anns []string
				var err error
				for {
					var c Command
					c, err = r.Next()
					if err != nil {
						break
					}
					cmds = append(cmds, argStrings(c))
					offs = append(offs, c.Offset)
					lines = append(lines, c.Line)
					anns = append(anns, c.Annotation)
				}
				if !reflect.DeepEqual(cmds, tc.cmds) || !reflect.DeepEqual(offs, tc.offsets) || !reflect.DeepEqual(lines, tc.lines) {
					t.Fatalf("got %q at %v lines %v; want %q at %v lines %v", cmds, offs, lines, tc.cmds, tc.offsets, tc.lines)
				}
				if tc.anns != nil && !reflect.DeepEqual(anns, tc.anns) {
					t.Fatalf("annotations %q, want %q", anns, tc.anns)
				}
				if tc.err == nil {
					if err != io.EOF {
						t.Fatalf("err = %v", err)
					}
					return
				}
				var fe *FormatError
				if !errors.Is(err, tc.err) || !errors.As(err, &fe) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				if fe.Offset != tc.errOff || fe.Tail != tc.errTail {
					t.Fatalf("err %v: offset %d tail %d, want %d %d", err, fe.Offset, fe.Tail, tc.errOff, tc.errTail)
				}
				if tc.err == ErrTruncated && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatal("truncation does not match io.ErrUnexpectedEOF")
				}
				if _, again := r.Next(); again != err {
					t.Fatalf("error not sticky: %v", again)
				}
			})
		}
	}
}

func TestReaderPreamble(t *testing.T) {
	rdb := "REDIS0011\xfa\x00garbage\xff12345678"
	tail := "*1\r\n$4\r\nPING\r\n"
	br := bufio.NewReader(strings.NewReader(rdb + tail))
	r := NewReader(br, nil)
	for range 2 {
		if _, err := r.Next(); err != ErrRDBPreamble {
			t.Fatalf("err = %v", err)
		}
	}
	// The "RDB decoder" consumes exactly the preamble from the same bufio.
	if _, err := br.Discard(len(rdb)); err != nil {
		t.Fatal(err)
	}
	r.SetOffset(int64(len(rdb)))
	c, err := r.Next()
	if err != nil || string(c.Args[0]) != "PING" || c.Offset != int64(len(rdb)) || c.End != int64(len(rdb)+len(tail)) || c.Line != 1 {
		t.Fatalf("%+v %v", c, err)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("err = %v", err)
	}
	// Not a preamble: fewer than 5 bytes, or "REDIS" later in the stream.
	if _, err := NewReader(strings.NewReader("RED"), nil).Next(); !errors.Is(err, ErrFormat) {
		t.Fatalf("err = %v", err)
	}
}

func TestReaderStartOffset(t *testing.T) {
	r := NewReader(strings.NewReader("*1\r\n$4\r\nPING\r\nxx"), &ReaderOptions{StartOffset: 100})
	c, err := r.Next()
	if err != nil || c.Offset != 100 || c.End != 114 {
		t.Fatalf("%+v %v", c, err)
	}
	_, err = r.Next()
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Offset != 114 || !errors.Is(err, ErrFormat) {
		t.Fatalf("err = %v", err)
	}
}

func TestReaderCopiesArgs(t *testing.T) {
	in := "*1\r\n$1\r\na\r\n*1\r\n$1\r\nb\r\n"
	r := NewReader(strings.NewReader(in), nil)
	c1, _ := r.Next()
	r.Next()
	if string(c1.Args[0]) != "a" {
		t.Fatal("Args were overwritten by the next command")
	}
}

// TestReaderLargeArg exercises the chunked path for arguments larger than
// the bufio buffer.
func TestReaderLargeArg(t *testing.T) {
	big := bytes.Repeat([]byte("x\n"), 300<<10)
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.WriteCommand([]byte("SET"), []byte("k"), big)
	w.WriteCommand([]byte("PING"))
	w.Flush()
	data := buf.Bytes()
	for _, size := range []int{16, 4096, 1 << 20} {
		r := NewReader(bufio.NewReaderSize(bytes.NewReader(data), size), nil)
		cmds, err := readAll(r)
		if err != nil || len(cmds) != 2 || !bytes.Equal(cmds[0].Args[2], big) || cmds[1].Line != int64(8+300<<10) {
			t.Fatalf("size %d: %d cmds, err %v", size, len(cmds), err)
		}
		r = NewReader(bufio.NewReaderSize(bytes.NewReader(data[:len(data)-20]), size), nil)
		_, err = readAll(r)
		var fe *FormatError
		if !errors.Is(err, ErrTruncated) || !errors.As(err, &fe) || fe.Offset != 0 || fe.Tail != int64(len(data)-20) {
			t.Fatalf("size %d: truncated: %v", size, err)
		}
	}
}

func TestWriterRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.WriteAnnotation(1700000000)
	w.WriteCommand([]byte("SET"), []byte("k"), []byte(""))
	w.WriteStrings("SELECT", "0")
	w.WriteCommand()
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "#TS:1700000000\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"
	if buf.String() != want || w.Written() != int64(len(want)) {
		t.Fatalf("%q (%d)", buf.String(), w.Written())
	}
	cmds, err := readAll(NewReader(&buf, nil))
	if err != nil || len(cmds) != 2 || cmds[0].Annotation != "TS:1700000000" {
		t.Fatalf("%v %v", cmds, err)
	}
}

func TestWriterCorpusByteExact(t *testing.T) {
	for _, path := range corpusAOFs(t) {
		if strings.HasSuffix(path, ".rdb") {
			continue
		}
		data := mustRead(t, path)
		if bytes.HasPrefix(data, []byte("REDIS")) {
			data = data[rdbEnd(data):]
		}
		var out bytes.Buffer
		w := NewWriter(&out)
		r := NewReader(bytes.NewReader(data), &ReaderOptions{Reuse: true})
		for {
			c, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Annotation != "" {
				out.WriteString("#" + c.Annotation + "\r\n") // fine: w has not buffered anything unflushed
			}
			w.WriteCommand(c.Args...)
			w.Flush()
		}
		if !bytes.Equal(out.Bytes(), data) {
			t.Errorf("%s: re-encoding differs", path)
		}
	}
}

func TestReadReply(t *testing.T) {
	in := "+OK\r\n-ERR bad\r\n:42\r\n$3\r\nfoo\r\n$-1\r\n*2\r\n$1\r\na\r\n*1\r\n:1\r\n*-1\r\n$0\r\n\r\n"
	br := bufio.NewReader(strings.NewReader(in))
	var got []string
	for {
		rep, err := ReadReply(br)
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatal(err)
		}
		got = append(got, rep.String())
	}
	want := []string{`"OK"`, "(error) ERR bad", "42", `"foo"`, "(nil)", `["a" [1]]`, "(nil)", `""`}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q", got)
	}
	for _, bad := range []string{"?x\r\n", "$5\r\nab", ":x\r\n", "$2\r\nabcd\r\n", "+OK\n", strings.Repeat("*1\r\n", 100) + ":1\r\n", "$999999999999\r\n"} {
		if _, err := ReadReply(bufio.NewReader(strings.NewReader(bad))); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
