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

func addSeeds(f *testing.F) {
	for _, p := range corpusAOFs(f) {
		if strings.HasSuffix(p, ".rdb") {
			continue
		}
		d := mustRead(f, p)
		if bytes.HasPrefix(d, []byte("REDIS")) {
			d = d[rdbEnd(d):]
		}
		if len(d) <= 4096 {
			f.Add(d)
		} else {
			f.Add(d[:4096])
		}
	}
	for _, s := range []string{"", "*1\r\n$4\r\nPING\r\n", "#TS:1\r\n*1\r\n$4\r\nPING\r\n", "*\r\n", "*-1\r\n",
		"*1\r\n$5\r\nMULTI\r\n", "*1\r\n$-1\r\n", "*2\r\n$1\r\nx", "REDIS0011"} {
		f.Add([]byte(s))
	}
}

type readOutcome struct {
	cmds [][]string
	offs []int64
	line []int64
	err  string
	errI int
}

func readOutcomeOf(t *testing.T, data []byte, bufSize int, reuse bool) readOutcome {
	var br *bufio.Reader
	if bufSize > 0 {
		br = bufio.NewReaderSize(bytes.NewReader(data), bufSize)
	}
	var r *Reader
	if br != nil {
		r = NewReader(br, &ReaderOptions{Reuse: reuse})
	} else {
		r = NewReader(bytes.NewReader(data), &ReaderOptions{Reuse: reuse})
	}
	var o readOutcome
	last := int64(0)
	for {
		c, err := r.Next()
		if err != nil {
			if err == io.EOF {
				return o
			}
			if err == ErrRDBPreamble {
				o.err = "preamble"
				return o
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("untyped error %v", err)
			}
			switch {
			case errors.Is(err, ErrTruncated):
				if fe.Offset != last || fe.Offset+fe.Tail != int64(len(data)) {
					t.Fatalf("truncation at %d tail %d, last boundary %d, len %d", fe.Offset, fe.Tail, last, len(data))
				}
				o.err = "truncated"
			case errors.Is(err, ErrFormat):
				o.err = "format"
			case errors.Is(err, ErrLimit):
				o.err = "limit"
			default:
				t.Fatalf("unexpected cause %v", err)
			}
			if fe.Offset < last || fe.Offset > int64(len(data)) {
				t.Fatalf("error offset %d outside [%d, %d]", fe.Offset, last, len(data))
			}
			o.errI = int(fe.Offset)
			return o
		}
		if c.Offset != last || c.End <= c.RecordOffset || c.RecordOffset < c.Offset || len(c.Args) == 0 {
			t.Fatalf("bad command positions %+v (last %d)", c, last)
		}
		last = c.End
		o.cmds = append(o.cmds, argStrings(c))
		o.offs = append(o.offs, c.Offset)
		o.line = append(o.line, c.Line)
	}
}

// FuzzRESPReader: no panics, typed errors, consistent offsets, the fast
// and general paths agree (tiny vs large buffers, copy vs reuse), and
// accepted commands re-encode to input that reads back equal.
func FuzzRESPReader(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		big := readOutcomeOf(t, data, 0, false)
		for _, v := range []struct {
			size  int
			reuse bool
		}{{16, false}, {64, true}, {4096, true}} {
			o := readOutcomeOf(t, data, v.size, v.reuse)
			if v.size > 0 && big.err == "limit" {
				continue // small buffers hit the line limit earlier
			}
			if v.size > 0 && o.err == "limit" {
				continue
			}
			if !reflect.DeepEqual(o, big) {
				t.Fatalf("buffer %d reuse %v:\n%+v\n%+v", v.size, v.reuse, o, big)
			}
		}
		var buf bytes.Buffer
		w := NewWriter(&buf)
		for _, c := range big.cmds {
			w.WriteStrings(c...)
		}
		w.Flush()
		again := readOutcomeOf(t, buf.Bytes(), 1<<16, false)
		if again.err != "" && !(again.err == "preamble" && len(big.cmds) > 0) || len(again.cmds) != len(big.cmds) && again.err == "" {
			t.Fatalf("re-encoded input: %+v", again)
		}
		if again.err == "" && !reflect.DeepEqual(again.cmds, big.cmds) {
			t.Fatal("re-encoded commands differ")
		}
	})
}

// FuzzCheck: no panics, consistent sizes, and the --fix property: the
// prefix up to ok_up_to (or the timestamp cut) checks clean.
func FuzzCheck(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opt := range []CheckOptions{{}, {Legacy: true}, {TruncateToTimestamp: 1700000000}} {
			res, err := Check(bytes.NewReader(data), &opt)
			if err != nil {
				t.Fatal(err)
			}
			if res.Size != int64(len(data)) || res.OkUpTo < 0 || res.OkUpTo > res.Size || res.Diff != res.Size-res.OkUpTo {
				t.Fatalf("%+v", res)
			}
			if res.InvalidTimestamp {
				continue
			}
			cut := res.OkUpTo
			if res.TruncateAt >= 0 {
				cut = res.TruncateAt
			}
			again, err := Check(bytes.NewReader(data[:cut]), &opt)
			if err != nil {
				t.Fatal(err)
			}
			if !again.Valid() && !again.InvalidTimestamp {
				t.Fatalf("prefix of %d bytes not valid: %+v (first: %+v)", cut, again, res)
			}
		}
	})
}
