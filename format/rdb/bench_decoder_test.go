package rdb

import (
	"bytes"
	"io"
	"os"
	"testing"
)

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
		for {
			rec, err := d.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if _, ok := rec.(*Entry); ok && values {
				if _, err := d.Value(); err != nil {
					b.Fatal(err)
				}
			}
		}
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
