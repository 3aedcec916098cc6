package rdb

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// addSmallRDBs seeds f with every corpus RDB of at most 16 KiB.
func addSmallRDBs(f *testing.F) {
	filepath.WalkDir(decCorpusDir, func(path string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() || !strings.HasSuffix(path, ".rdb") {
			return nil
		}
		if fi, err := de.Info(); err == nil && fi.Size() <= 16<<10 {
			if data, err := os.ReadFile(path); err == nil {
				f.Add(data)
			}
		}
		return nil
	})
}

// FuzzDecoder checks that no input panics, that every failure is a typed
// *FormatError at an offset inside the input, and that shallow, deep and
// skipping decodes agree: what Deep accepts, shallow decoding accepts with
// the same values, that ElementsIn and Defer agree with Elements, and that
// skipping every value reaches the same end, and that values framed by
// SkipValue and decoded by a ValueDecoder give what the Decoder gives.
func FuzzDecoder(f *testing.F) {
	addSmallRDBs(f)
	f.Add(newRB(13).raw(OpKeyMeta).len(1).raw(1, 2, 3, 4).len(2).len(5).len(0).raw(0).str("k").str("v").end())
	f.Add(newRB(12).raw(24).str("h").u64(1000).len(1).len(6).str("b").str("2").end())
	f.Add(newRB(9).raw(3).str("z").len(2).str("a").raw(254).str("d").raw(3).raw([]byte("1.5")...).end())
	f.Add(newRB(10).raw(18).str("l").len(2).len(1).str("plain").len(2).blob(lp("p", 1)).end())
	f.Fuzz(func(t *testing.T, data []byte) {
		opt := &DecodeOptions{Limits: Limits{MaxStringLen: 1 << 20, MaxElements: 1 << 16}}
		shallow, serr := decodeBytes(data, opt)
		checkFuzzErr(t, serr, len(data))
		deepOpt := *opt
		deepOpt.Deep = true
		deep, derr := decodeBytes(data, &deepOpt)
		checkFuzzErr(t, derr, len(data))
		if derr == nil {
			if serr != nil {
				t.Fatalf("deep accepted, shallow failed: %v", serr)
			}
			if len(deep.vals) != len(shallow.vals) {
				t.Fatalf("deep %d values, shallow %d", len(deep.vals), len(shallow.vals))
			}
			for i := range deep.vals {
				if a, b := show(deep.vals[i]), show(shallow.vals[i]); a != b {
					t.Fatalf("value %d: deep %s shallow %s", i, a, b)
				}
			}
		}
		// ElementsIn, and Defer with a later BlobWalker, give what
		// Elements gives, errors included.
		want := elementLog(t, data, false, false, false)
		if got := elementLog(t, data, false, true, false); got != want {
			t.Fatalf("ElementsIn differs from Elements: %s", firstDiff(want, got))
		}
		if got := elementLog(t, data, false, false, true); got != want {
			t.Fatalf("Defer differs from Elements: %s", firstDiff(want, got))
		}
		// Skipping values must not fail where decoding them succeeded.
		d := NewDecoder(bytes.NewReader(data), opt)
		for {
			_, err := d.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				checkFuzzErr(t, err, len(data))
				if serr == nil {
					t.Fatalf("skipping failed where decoding succeeded: %v", err)
				}
				break
			}
		}
		seq := decodeTranscript(data, opt.Limits, nil, false, 0)
		for _, cut := range []int{0, 5, len(data)} {
			if got := decodeTranscript(data, opt.Limits, fuzzVD, true, cut); got != seq {
				t.Fatalf("split decoding (cut %d) differs\nsequential:\n%s\nsplit:\n%s", cut, tail(seq), tail(got))
			}
		}
	})
}

// fuzzVD is the fuzz target's ValueDecoder, with its limits: one per
// process (a fuzz worker runs one input at a time).
var fuzzVD = NewValueDecoder(&DecodeOptions{Limits: Limits{MaxStringLen: 1 << 20, MaxElements: 1 << 16}, Deep: true})

func checkFuzzErr(t *testing.T, err error, n int) {
	t.Helper()
	if err == nil {
		return
	}
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("untyped error %v", err)
	}
	if fe.Offset < 0 || fe.Offset > int64(n) {
		t.Fatalf("offset %d outside input of %d bytes: %v", fe.Offset, n, err)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrLimit) &&
		!errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrChecksum) {
		t.Fatalf("error without a sentinel cause: %v", err)
	}
}
