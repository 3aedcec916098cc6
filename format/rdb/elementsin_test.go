package rdb

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// elementLog decodes data and logs every element of every non-stream,
// non-module value. With in, values are walked by ElementsIn and the
// element slices are kept until the whole file is read, then logged: any
// slice aliasing a decoder buffer would show later data by then.
func elementLog(t *testing.T, data []byte, deep, in bool) string {
	var log bytes.Buffer
	type kept struct {
		key           string
		member, value []byte
		score         float64
		ttl           int64
	}
	var all []kept
	var chunk []byte
	alloc := func(n int) []byte {
		if n > maxChunk {
			t.Fatalf("alloc(%d): larger than %d", n, maxChunk)
		}
		if n > cap(chunk)-len(chunk) {
			chunk = make([]byte, 0, max(n, 4096))
		}
		k := len(chunk)
		chunk = chunk[:k+n]
		// Garbage the decoder must overwrite.
		for i := range chunk[k:] {
			chunk[k+i] = 0xEE
		}
		return chunk[k : k+n : k+n]
	}
	dec := NewDecoder(bytes.NewReader(data), &DecodeOptions{Deep: deep})
	var err error
	for {
		var rec Record
		if rec, err = dec.Next(); err != nil {
			break
		}
		e, ok := rec.(*Entry)
		if !ok || e.Kind == KindStream || e.Kind == KindModule {
			continue
		}
		key := string(e.Key)
		fn := func(el *Element) error {
			k := kept{key, el.Member, el.Value, el.Score, el.ExpireAtMs}
			if !in {
				k.member, k.value = bytes.Clone(el.Member), bytes.Clone(el.Value)
			}
			all = append(all, k)
			return nil
		}
		if in {
			err = dec.ElementsIn(alloc, fn)
		} else {
			err = dec.Elements(fn)
		}
		if err != nil {
			break
		}
	}
	for _, k := range all {
		fmt.Fprintf(&log, "%q %q %q %v %d\n", k.key, k.member, k.value, k.score, k.ttl)
	}
	if !errors.Is(err, io.EOF) {
		fmt.Fprintf(&log, "error: %v\n", err)
	}
	return log.String()
}

// ElementsIn gives the elements and errors of Elements, in slices that stay
// valid, on every corpus file and on the corrupt ones.
func TestElementsInMatchesElements(t *testing.T) {
	files := corpusRDBs(t)
	corrupt, _ := filepath.Glob(filepath.Join(decCorpusDir, "*", "corrupt", "rdb", "*.rdb"))
	files = append(files, corrupt...)
	if len(corrupt) == 0 {
		t.Fatalf("no corrupt files under %s", decCorpusDir)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, deep := range []bool{false, true} {
			want, got := elementLog(t, data, deep, false), elementLog(t, data, deep, true)
			if want != got {
				t.Errorf("%s (deep %v): ElementsIn differs from Elements: %s", f, deep, firstDiff(want, got))
			}
		}
	}
}

// A string longer than 1 MiB is not taken from alloc (its length is not
// trusted before the data arrives); it still stays valid.
func TestElementsInLargeString(t *testing.T) {
	big := bytes.Repeat([]byte("x"), maxChunk+10)
	var buf bytes.Buffer
	enc := NewEncoder(&buf, &EncodeOptions{Version: 9})
	if err := enc.WriteEntry(&Entry{Key: []byte("l")}, &List{Elems: [][]byte{big, []byte("7")}}); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	got := elementLog(t, buf.Bytes(), false, true)
	want := elementLog(t, buf.Bytes(), false, false)
	if got != want || !bytes.Contains([]byte(got), big) {
		t.Errorf("large element lost: %.200s", firstDiff(want, got))
	}
}
