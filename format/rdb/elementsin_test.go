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
// slice aliasing a decoder buffer would show later data by then. With
// deferred, values that Defer takes are walked only after the whole file
// was read, on another goroutine; the first walk error ends the log there,
// as decoding would have stopped there. The elements of the value that
// failed are not logged.
func elementLog(t *testing.T, data []byte, deep, in, deferred bool) string {
	var log bytes.Buffer
	type kept struct {
		key           string
		member, value []byte
		score         float64
		ttl           int64
		blob          *Blob // deferred: walk this
	}
	var all []kept
	var chunk []byte
	alloc := func(n int) []byte {
		if n > maxChunk {
			panic(fmt.Sprintf("alloc(%d): larger than %d", n, maxChunk))
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
		start := len(all)
		fn := func(el *Element) error {
			k := kept{key: key, member: el.Member, value: el.Value, score: el.Score, ttl: el.ExpireAtMs}
			if !in && !deferred {
				k.member, k.value = bytes.Clone(el.Member), bytes.Clone(el.Value)
			}
			all = append(all, k)
			return nil
		}
		switch {
		case deferred:
			b := new(Blob)
			var took bool
			if took, err = dec.Defer(alloc, b); took && err == nil {
				all = append(all, kept{key: key, blob: b})
			} else if !took && err == nil {
				err = dec.ElementsIn(alloc, fn)
			}
		case in:
			err = dec.ElementsIn(alloc, fn)
		default:
			err = dec.Elements(fn)
		}
		if err != nil {
			// The elements of a failed value before its error depend on
			// the walk (ElementsIn checks an intset first): left out.
			all = all[:start]
			break
		}
	}
	if deferred {
		done := make(chan struct{})
		go func() {
			defer close(done)
			var w BlobWalker
			var out []kept
			for _, k := range all {
				if k.blob == nil {
					out = append(out, k)
					continue
				}
				key, start := k.key, len(out)
				if werr := w.Walk(k.blob, []byte(key), alloc, func(el *Element) error {
					out = append(out, kept{key: key, member: el.Member, value: el.Value, score: el.Score, ttl: el.ExpireAtMs})
					return nil
				}); werr != nil {
					err = werr
					out = out[:start]
					break
				}
			}
			all = out
		}()
		<-done
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
			want := elementLog(t, data, deep, false, false)
			if got := elementLog(t, data, deep, true, false); want != got {
				t.Errorf("%s (deep %v): ElementsIn differs from Elements: %s", f, deep, firstDiff(want, got))
			}
			if got := elementLog(t, data, deep, false, true); want != got {
				t.Errorf("%s (deep %v): Defer and BlobWalker differ from Elements: %s", f, deep, firstDiff(want, got))
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
	got := elementLog(t, buf.Bytes(), false, true, false)
	want := elementLog(t, buf.Bytes(), false, false, false)
	if got != want || !bytes.Contains([]byte(got), big) {
		t.Errorf("large element lost: %.200s", firstDiff(want, got))
	}
}

// AppendIntset gives the numbers Elements renders as text, on every intset
// of the corpus; it refuses other encodings.
func TestAppendIntset(t *testing.T) {
	sets, others := 0, 0
	for _, f := range corpusRDBs(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// Two decoders in step: one for Elements, one for AppendIntset.
		da := NewDecoder(bytes.NewReader(data), nil)
		db := NewDecoder(bytes.NewReader(data), nil)
		for {
			ra, err := da.Next()
			if err != nil {
				break
			}
			if _, err := db.Next(); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			e, ok := ra.(*Entry)
			if !ok || e.Kind == KindStream || e.Kind == KindModule {
				continue
			}
			var want []string
			if err := da.Elements(func(el *Element) error {
				want = append(want, string(el.Member))
				return nil
			}); err != nil {
				break // a corrupt asset: TestElementsInMatchesElements covers errors
			}
			ints, err := db.AppendIntset([]int64{-1})
			if e.Encoding != EncIntset {
				if err == nil {
					t.Fatalf("%s: AppendIntset on %v succeeded", f, e.Encoding)
				}
				others++ // the value is left for Next to skip
				continue
			}
			sets++
			if err != nil || len(ints) != len(want)+1 || ints[0] != -1 {
				t.Fatalf("%s %q: AppendIntset = %v, %v; want -1 then %v", f, e.Key, ints, err, want)
			}
			for i, w := range want {
				if fmt.Sprint(ints[i+1]) != w {
					t.Fatalf("%s %q: member %d = %d, want %s", f, e.Key, i, ints[i+1], w)
				}
			}
		}
	}
	if sets == 0 || others == 0 {
		t.Fatalf("corpus gave %d intsets and %d other values", sets, others)
	}
}
