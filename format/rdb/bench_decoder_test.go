package rdb

import (
	"bytes"
	"io"
	"os"
	"testing"
)

// eachEntry runs d to the end of its file and calls fn with every key
// record, failing b on any error.
func eachEntry(b *testing.B, d *Decoder, fn func(*Entry) error) {
	for {
		rec, err := d.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			b.Fatal(err)
		}
		if e, ok := rec.(*Entry); ok {
			if err := fn(e); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func benchDecode(b *testing.B, file string, values, deep bool) {
	data, err := os.ReadFile(decCorpusDir + "/" + file)
	if err != nil {
		b.Skip(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	opt := &DecodeOptions{Deep: deep}
	for b.Loop() {
		d := NewDecoder(bytes.NewReader(data), opt)
		eachEntry(b, d, func(*Entry) error {
			if !values {
				return nil
			}
			_, err := d.Value()
			return err
		})
	}
}

func BenchmarkDecodeTypesSmall(b *testing.B) {
	benchDecode(b, "7.4.1/types-small/dump.rdb", true, false)
}
func BenchmarkDecodeTypesLarge(b *testing.B) {
	benchDecode(b, "7.4.1/types-large/dump.rdb", true, false)
}
func BenchmarkDecodeStreams(b *testing.B) { benchDecode(b, "7.4.1/streams/dump.rdb", true, false) }

// Deep validation of every value, as rdbtool verify would do.
func BenchmarkDecodeTypesLargeDeep(b *testing.B) {
	benchDecode(b, "7.4.1/types-large/dump.rdb", true, true)
}

// Keys only: values are skipped without being decoded.
func BenchmarkDecodeTypesLarge70Deep(b *testing.B) {
	benchDecode(b, "7.0.15-debian/types-large/dump.rdb", true, true)
}

func BenchmarkDecodeTypesLargeSkip(b *testing.B) {
	benchDecode(b, "7.4.1/types-large/dump.rdb", false, false)
}
func BenchmarkDecodeStreamsSkip(b *testing.B) { benchDecode(b, "7.4.1/streams/dump.rdb", false, false) }

// benchCheckFile decodes a file the way rdbtool check does (Deep,
// ReuseEntry, Elements with a counting callback, Value for streams and
// modules). The file comes from $PERSISTKIT_BENCH_RDB (for example
// /tmp/persistkit-bench/0.01/mixed.rdb); without it the benchmark skips.
// stream hides Len, so the decoder checksums on its goroutine as it does
// reading a file.
func benchCheckFile(b *testing.B, stream bool) {
	path := os.Getenv("PERSISTKIT_BENCH_RDB")
	if path == "" {
		b.Skip("PERSISTKIT_BENCH_RDB not set")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Skip(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	opt := &DecodeOptions{Deep: true, ReuseEntry: true}
	var n int64
	count := func(*Element) error { n++; return nil }
	for b.Loop() {
		var r io.Reader = bytes.NewReader(data)
		if stream {
			r = struct{ io.Reader }{r}
		}
		d := NewDecoder(r, opt)
		eachEntry(b, d, func(e *Entry) error {
			if e.Kind == KindStream || e.Kind == KindModule {
				_, err := d.Value()
				return err
			}
			return d.Elements(count)
		})
	}
}

func BenchmarkCheckFile(b *testing.B)       { benchCheckFile(b, false) }
func BenchmarkCheckFileStream(b *testing.B) { benchCheckFile(b, true) }

// BenchmarkKeepElements compares the ways a caller can keep every element
// of a file past its callback, as dump's decoding stage does: Elements
// with a copy of each element (the way before ElementsIn), ElementsIn, and
// Defer with a later BlobWalker walk (the values Defer takes). Bytes/s is
// the file's size.
func BenchmarkKeepElements(b *testing.B) {
	data, err := os.ReadFile(decCorpusDir + "/7.4.1/types-large/dump.rdb")
	if err != nil {
		b.Skip(err)
	}
	var arena []byte
	alloc := func(n int) []byte {
		if n > cap(arena)-len(arena) {
			arena = make([]byte, 0, max(n, 256<<10))
		}
		k := len(arena)
		arena = arena[:k+n]
		return arena[k : k+n : k+n]
	}
	var kept [][]byte
	keep := func(el *Element) error {
		kept = append(kept, el.Member, el.Value)
		return nil
	}
	keepCopy := func(el *Element) error {
		m := alloc(len(el.Member))
		copy(m, el.Member)
		v := alloc(len(el.Value))
		copy(v, el.Value)
		kept = append(kept, m, v)
		return nil
	}
	for _, way := range []string{"ElementsCopy", "ElementsIn", "DeferWalk"} {
		b.Run(way, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			var blob Blob
			var w BlobWalker
			for b.Loop() {
				d := NewDecoder(bytes.NewReader(data), &DecodeOptions{ReuseEntry: true})
				eachEntry(b, d, func(e *Entry) error {
					kept = kept[:0]
					switch {
					case e.Kind == KindStream || e.Kind == KindModule:
						_, err := d.Value()
						return err
					case way == "ElementsCopy":
						return d.Elements(keepCopy)
					case way == "ElementsIn":
						return d.ElementsIn(alloc, keep)
					}
					took, err := d.Defer(alloc, &blob)
					switch {
					case err != nil:
						return err
					case took:
						return w.Walk(&blob, e.Key, alloc, keep)
					}
					return d.ElementsIn(alloc, keep)
				})
			}
		})
	}
}
