package manifest

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"
)

// repeatReader yields line over and over, n bytes in all, without holding
// more than one copy: a 100 MB manifest costs nothing to produce.
type repeatReader struct {
	line []byte
	n    int64
	pos  int
	read int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	k := 0
	for k < len(p) && r.n > 0 {
		c := copy(p[k:min(len(p), k+int(min(r.n, int64(len(r.line)-r.pos))))], r.line[r.pos:])
		r.pos = (r.pos + c) % len(r.line)
		r.n -= int64(c)
		k += c
	}
	r.read += int64(k)
	return k, nil
}

// TestHostileManifest: a 100 MB manifest (valid records, comments, or one
// endless line) fails with ErrTooLarge or ErrLineTooLong after reading
// about the size cap, allocating far less than 64 MiB.
func TestHostileManifest(t *testing.T) {
	for name, tc := range map[string]struct {
		line []byte
		want error
	}{
		"valid-records": {[]byte("file appendonly.aof.1.incr.aof seq 1 type h\n"), ErrTooLarge},
		"comments":      {[]byte("# comment\n"), ErrTooLarge},
		"one-line":      {[]byte("x"), ErrLineTooLong},
		"nul-bytes":     {[]byte{0}, ErrLineTooLong},
	} {
		t.Run(name, func(t *testing.T) {
			src := &repeatReader{line: tc.line, n: 100 << 20}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := Parse(src)
			runtime.ReadMemStats(&after)
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if src.read > 2*DefaultMaxSize {
				t.Errorf("read %d bytes, cap is %d", src.read, DefaultMaxSize)
			}
			if d := after.TotalAlloc - before.TotalAlloc; d > 64<<20 {
				t.Errorf("allocated %d MiB", d>>20)
			}
		})
	}
	// Just under the cap still parses (history records repeat freely).
	line := []byte("file appendonly.aof.1.incr.aof seq 1 type h\n")
	n := DefaultMaxSize / len(line) * len(line)
	if _, err := Parse(bytes.NewReader(bytes.Repeat(line, n/len(line)))); err != nil {
		t.Errorf("%d-byte manifest: %v", n, err)
	}
}
