package rdb

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// decodeTranscript decodes an RDB as a deep check does and describes what
// it found: each key's offset, element count and field TTLs, then how
// decoding ended. With split, values are framed by SkipValue and decoded
// by a ValueDecoder from the bytes, handed over in two parts cut at cut
// (relative to the value's start, clamped) to cross from memory to more;
// a skip that fails where the value decodes is reported, as is a
// ValueDecoder that stops elsewhere than SkipValue.
// vd, made with the same limits, is reused (its buffer for reading on from
// more is 1 MiB, a cost per fuzz input otherwise).
func decodeTranscript(data []byte, lim Limits, vd *ValueDecoder, split bool, cut int) string {
	var b strings.Builder
	dec := NewDecoder(bytes.NewReader(data), &DecodeOptions{Limits: lim, Deep: true, ReuseEntry: true})
	count := func(e *Entry, countEl func() (int, int, error), value func() (Value, error)) (int, int, error) {
		if e.Kind == KindStream || e.Kind == KindModule {
			_, err := value()
			return -1, 0, err
		}
		return countEl()
	}
	for {
		rec, err := dec.Next()
		if err == io.EOF {
			b.WriteString("end\n")
			return b.String()
		}
		if err != nil {
			fmt.Fprintf(&b, "next error: %v\n", err)
			return b.String()
		}
		e, ok := rec.(*Entry)
		if !ok {
			continue
		}
		var n, ttl int
		if !split {
			n, ttl, err = count(e, dec.CountElements, dec.Value)
		} else {
			start := dec.Offset()
			end, serr := dec.SkipValue()
			rest := data[start:]
			c := min(cut, len(rest))
			vd.Reset(e, start, rest[:c], bytes.NewReader(rest[c:]))
			n, ttl, err = count(e, vd.CountElements, vd.Value)
			switch {
			case serr != nil && err == nil:
				fmt.Fprintf(&b, "skip failed (%v) on a sound value\n", serr)
				return b.String()
			case serr == nil && err == nil && vd.Offset() != end:
				fmt.Fprintf(&b, "value ends at %d, skip at %d\n", vd.Offset(), end)
				return b.String()
			}
		}
		if err != nil {
			fmt.Fprintf(&b, "value error: %v\n", err)
			return b.String()
		}
		fmt.Fprintf(&b, "%d %q %d %d\n", e.Offset, e.Key, n, ttl)
	}
}

// TestValueDecoderMatchesDecoder: framing with SkipValue and validating
// with a ValueDecoder gives what the Decoder gives, key by key and error
// by error, on every corpus RDB (sound and damaged) and on damaged copies
// of the sound ones.
func TestValueDecoderMatchesDecoder(t *testing.T) {
	var files []string
	err := filepath.WalkDir(decCorpusDir, func(path string, de fs.DirEntry, err error) error {
		if err == nil && !de.IsDir() && strings.HasSuffix(path, ".rdb") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 100 {
		t.Fatalf("only %d corpus RDBs", len(files))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	vd := NewValueDecoder(&DecodeOptions{Deep: true})
	compared, failed := 0, 0
	compare := func(name string, data []byte) {
		t.Helper()
		want := decodeTranscript(data, Limits{}, nil, false, 0)
		for _, cut := range []int{0, 1, 7, 1 << 30} {
			got := decodeTranscript(data, Limits{}, vd, true, cut)
			if got != want {
				t.Errorf("%s (cut %d): split decoding differs\nsequential:\n%s\nsplit:\n%s", name, cut, tail(want), tail(got))
				return
			}
		}
		compared++
		if !strings.HasSuffix(want, "end\n") {
			failed++
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		compare(f, data)
		if len(data) > 1<<20 || strings.Contains(f, "corrupt") {
			continue
		}
		for i := range 12 {
			bad := bytes.Clone(data)
			switch p := 9 + rng.IntN(len(data)-9); i % 3 {
			case 0:
				bad[p] ^= byte(1 << rng.IntN(8))
			case 1:
				bad[p] = byte(rng.IntN(256))
			default:
				bad = bad[:p]
			}
			compare(fmt.Sprintf("%s damaged #%d", f, i), bad)
		}
	}
	// The damaged copies must mostly fail, or they test little.
	if failed < compared/4 {
		t.Fatalf("only %d of %d inputs failed to decode", failed, compared)
	}
	t.Logf("%d inputs compared, %d of them failing", compared, failed)
}

// tail keeps the end of a long transcript, where they differ.
func tail(s string) string {
	if lines := strings.Split(s, "\n"); len(lines) > 12 {
		return "...\n" + strings.Join(lines[len(lines)-12:], "\n")
	}
	return s
}

func TestValueDecoderAfterError(t *testing.T) {
	// A ValueDecoder is reusable after a failed value, and one whose
	// data ends without more reports the end of the file every time.
	e := &Entry{Type: TypeSetIntset, Kind: KindSet, Encoding: EncIntset, Key: []byte("k")}
	vd := NewValueDecoder(&DecodeOptions{Deep: true})
	vd.Reset(e, 100, []byte{0x0c}, nil) // a 12-byte blob, cut short
	for range 2 {
		if _, _, err := vd.CountElements(); err == nil || !strings.Contains(err.Error(), "offset 101") {
			t.Fatalf("cut intset: %v", err)
		}
		vd.Reset(e, 100, []byte{0x0c}, nil)
	}
	// intset: encoding 2 (int16), 2 members: 1, 2
	blob := []byte{2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 2, 0}
	vd.Reset(e, 200, append([]byte{byte(len(blob))}, blob...), nil)
	n, _, err := vd.CountElements()
	if err != nil || n != 2 || vd.Offset() != 213 {
		t.Fatalf("intset: n %d err %v offset %d", n, err, vd.Offset())
	}
}
