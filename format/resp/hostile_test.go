package resp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// hostileMemBudget bounds what one hostile input may make the reader or
// checker allocate (TotalAlloc delta, an over-estimate of peak usage).
const hostileMemBudget = 64 << 20

// fillReader yields prefix, then n bytes of fill, then EOF, without ever
// holding more than the caller's buffer: a 10 GB AOF costs nothing.
type fillReader struct {
	prefix []byte
	fill   byte
	n      int64
	read   int64
	block  []byte
}

func (f *fillReader) Read(p []byte) (int, error) {
	if len(f.prefix) > 0 {
		k := copy(p, f.prefix)
		f.prefix = f.prefix[k:]
		f.read += int64(k)
		return k, nil
	}
	if f.n == 0 {
		return 0, io.EOF
	}
	if len(f.block) == 0 {
		f.block = bytes.Repeat([]byte{f.fill}, 64<<10)
	}
	k := copy(p[:min(int64(len(p)), f.n)], f.block) // copy, not a byte loop: fast under -race
	f.n -= int64(k)
	f.read += int64(k)
	return k, nil
}

func measureAlloc(fn func()) (uint64, time.Duration) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	fn()
	el := time.Since(start)
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, el
}

// TestHostileLengths: lying counts and lengths fail with a typed error at
// the offending header, without reading or allocating what they claim.
func TestHostileLengths(t *testing.T) {
	const gib = int64(1) << 30
	cases := []struct {
		name    string
		prefix  string
		fill    byte
		n       int64 // bytes of fill after prefix
		lim     Limits
		want    error
		wantOff int64 // -1: anywhere inside the input
		maxRead int64 // most bytes the reader may consume (0: no bound)
	}{
		{name: "bulk-10GB", prefix: "*1\r\n$10737418240\r\n", fill: 'x', n: 64 << 20, want: ErrLimit, wantOff: 4, maxRead: 1 << 20},
		{name: "bulk-2^63-1", prefix: "*1\r\n$9223372036854775807\r\n", want: ErrLimit, wantOff: 4},
		{name: "bulk-2^64", prefix: "*1\r\n$18446744073709551616\r\n", want: nil, wantOff: 4},
		{name: "bulk-just-over-limit", prefix: fmt.Sprintf("*1\r\n$%d\r\n", 512<<20+1), want: ErrLimit, wantOff: 4},
		{name: "bulk-500MB-claimed-1KB-sent", prefix: "*2\r\n$3\r\nSET\r\n$500000000\r\n", fill: 'x', n: 1 << 10, want: ErrTruncated, wantOff: 0},
		{name: "bulk-10GB-allowed-4MB-sent", prefix: "*1\r\n$10737418240\r\n", fill: 'x', n: 4 << 20, lim: Limits{MaxBulkLen: 16 * gib}, want: ErrTruncated, wantOff: 0},
		{name: "args-2^24-then-eof", prefix: "*16777216\r\n$1\r\na\r\n", want: ErrTruncated, wantOff: 0},
		{name: "args-over-limit", prefix: "*16777217\r\n", want: ErrLimit, wantOff: 0},
		{name: "args-10^18", prefix: "*999999999999999999\r\n", want: ErrLimit, wantOff: 0},
		{name: "args-negative", prefix: "*-5\r\n", want: ErrFormat, wantOff: -1},
		{name: "bulk-negative", prefix: "*1\r\n$-5\r\n", want: ErrFormat, wantOff: 4},
		{name: "count-line-100MB", prefix: "*", fill: '9', n: 100 << 20, want: ErrLimit, wantOff: 0, maxRead: 1 << 20},
		{name: "bulk-line-100MB", prefix: "*1\r\n$", fill: '1', n: 100 << 20, want: ErrLimit, wantOff: 4, maxRead: 1 << 20},
		{name: "annotation-100MB", prefix: "#TS:", fill: '1', n: 100 << 20, want: ErrLimit, wantOff: 0, maxRead: 1 << 20},
		{name: "garbage-100MB", prefix: "", fill: 'g', n: 100 << 20, want: ErrFormat, wantOff: 0, maxRead: 1 << 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, reuse := range []bool{false, true} {
				src := &fillReader{prefix: []byte(c.prefix), fill: c.fill, n: c.n}
				size := int64(len(c.prefix)) + c.n
				var err error
				alloc, el := measureAlloc(func() {
					r := NewReader(src, &ReaderOptions{Limits: c.lim, Reuse: reuse})
					for err == nil {
						_, err = r.Next()
					}
				})
				var fe *FormatError
				if !errors.As(err, &fe) {
					t.Fatalf("got %v, want *FormatError", err)
				}
				if c.want != nil && !errors.Is(err, c.want) {
					t.Errorf("got %v, want cause %v", err, c.want)
				}
				if c.want == nil && !errors.Is(err, ErrLimit) && !errors.Is(err, ErrFormat) {
					t.Errorf("got %v, want ErrLimit or ErrFormat", err)
				}
				if c.wantOff >= 0 && fe.Offset != c.wantOff {
					t.Errorf("offset %d, want %d: %v", fe.Offset, c.wantOff, err)
				}
				if fe.Offset < 0 || fe.Offset > size {
					t.Errorf("offset %d outside %d bytes", fe.Offset, size)
				}
				if c.maxRead > 0 && src.read > c.maxRead {
					t.Errorf("read %d bytes before failing (want <= %d)", src.read, c.maxRead)
				}
				if alloc > hostileMemBudget {
					t.Errorf("allocated %d MiB: %v", alloc>>20, err)
				}
				if el > 10*time.Second {
					t.Errorf("took %v", el)
				}
			}
		})
	}
}

// TestHostileCheck runs the redis-check-aof emulation over the same kind
// of input: it must not allocate what a header claims either.
func TestHostileCheck(t *testing.T) {
	for name, src := range map[string]func() io.Reader{
		"bulk-10GB-64MB-sent": func() io.Reader { return &fillReader{prefix: []byte("*1\r\n$10737418240\r\n"), fill: 'x', n: 64 << 20} },
		"bulk-2^63-1": func() io.Reader {
			return &fillReader{prefix: []byte("*1\r\n$9223372036854775807\r\n"), fill: 'x', n: 1 << 20}
		},
		"args-2^31":             func() io.Reader { return &fillReader{prefix: []byte("*2147483648\r\n$1\r\na\r\n")} },
		"args-huge":             func() io.Reader { return &fillReader{prefix: []byte("*99999999999999999999\r\n$1\r\na\r\n")} },
		"line-100MB":            func() io.Reader { return &fillReader{prefix: []byte("*1\r\n$"), fill: '7', n: 100 << 20} },
		"annotation-100MB":      func() io.Reader { return &fillReader{prefix: []byte("#TS:"), fill: '7', n: 100 << 20} },
		"bulk-negative":         func() io.Reader { return strings.NewReader("*1\r\n$-3\r\nabc\r\n") },
		"multi-without-exec-1M": func() io.Reader { return strings.NewReader(strings.Repeat("*1\r\n$5\r\nMULTI\r\n", 1<<16)) },
	} {
		t.Run(name, func(t *testing.T) {
			var res *CheckResult
			var err error
			alloc, el := measureAlloc(func() { res, err = Check(src(), nil) })
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if res.Valid() {
				t.Errorf("hostile input reported valid: %+v", res)
			}
			if res.OkUpTo < 0 || res.OkUpTo > res.Size {
				t.Errorf("ok_up_to %d outside %d bytes", res.OkUpTo, res.Size)
			}
			if alloc > hostileMemBudget {
				t.Errorf("allocated %d MiB", alloc>>20)
			}
			if el > 20*time.Second {
				t.Errorf("took %v", el)
			}
		})
	}
}

// TestCorruptionSweepAOF truncates small AOFs at every offset and flips
// every byte (a dense sample unless PERSISTKIT_SWEEP=full): the reader
// never panics or hangs, fails with a typed error inside the input, and a
// truncation is reported at the start of the torn record.
func TestCorruptionSweepAOF(t *testing.T) {
	full := os.Getenv("PERSISTKIT_SWEEP") == "full" && !testing.Short()
	var files []string
	for _, p := range corpusAOFs(t) {
		if strings.HasSuffix(p, ".aof") && strings.Contains(p, "types-small") {
			files = append(files, p)
		}
	}
	if len(files) == 0 {
		t.Fatal("no small AOF fixtures")
	}
	if !full && len(files) > 4 {
		files = files[:4]
	}
	for _, path := range files {
		data := mustRead(t, path)
		if bytes.HasPrefix(data, []byte("REDIS")) {
			continue
		}
		name := strings.TrimPrefix(path, corpusDir+"/")
		t.Run(name, func(t *testing.T) {
			step := 1
			if !full && len(data) > 256 {
				step = len(data)/256 + 1
			}
			// Command boundaries of the intact file: a cut at offset n
			// must report truncation at the last boundary <= n.
			var bounds []int64
			r := NewReader(bytes.NewReader(data), nil)
			for {
				c, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("intact file: %v", err)
				}
				bounds = append(bounds, c.End)
			}
			for n := 0; n < len(data); n += step {
				cut := data[:n]
				last := int64(0)
				for _, b := range bounds {
					if b <= int64(n) {
						last = b
					}
				}
				err := sweepRead(t, cut)
				if last == int64(n) {
					if err != nil {
						t.Fatalf("cut at boundary %d: %v", n, err)
					}
					continue
				}
				var fe *FormatError
				if !errors.As(err, &fe) || !errors.Is(err, ErrTruncated) {
					// A cut inside a "$N" or "*N" header can leave a
					// well-formed shorter header; then it is a truncation
					// later on. Anything else must still be typed.
					if err == nil || !errors.As(err, &fe) {
						t.Fatalf("cut at %d: %v", n, err)
					}
					continue
				}
				if fe.Offset != last {
					t.Fatalf("cut at %d: truncation reported at %d, want %d", n, fe.Offset, last)
				}
				res, cerr := Check(bytes.NewReader(cut), nil)
				if cerr != nil || res.Valid() {
					t.Fatalf("cut at %d: Check %+v %v", n, res, cerr)
				}
			}
			flip := bytes.Clone(data)
			for i := 0; i < len(data); i += step {
				masks := []byte{0xFF, 0x01, 0x80}
				if !full {
					masks = masks[i%3 : i%3+1]
				}
				for _, x := range masks {
					flip[i] ^= x
					sweepRead(t, flip)
					if res, err := Check(bytes.NewReader(flip), nil); err != nil || res.OkUpTo > res.Size {
						t.Fatalf("flip at %d: Check %+v %v", i, res, err)
					}
					flip[i] ^= x
				}
			}
		})
	}
}

// sweepRead reads all commands with a deadline; the error must be nil,
// or a *FormatError inside the input.
func sweepRead(t *testing.T, data []byte) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		r := NewReader(bytes.NewReader(data), nil)
		for {
			_, err := r.Next()
			if err == io.EOF {
				done <- nil
				return
			}
			if err != nil {
				done <- err
				return
			}
		}
	}()
	select {
	case err := <-done:
		if err == nil || err == ErrRDBPreamble {
			return nil
		}
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Fatalf("untyped error %v", err)
		}
		if fe.Offset < 0 || fe.Offset > int64(len(data)) {
			t.Fatalf("offset %d outside %d bytes: %v", fe.Offset, len(data), err)
		}
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("reader hung on %d bytes", len(data))
		return nil
	}
}
