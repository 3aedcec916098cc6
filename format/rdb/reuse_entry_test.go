package rdb

import (
	"bytes"
	"io"
	"os"
	"reflect"
	"testing"
)

// ReuseEntry returns the same entries as the default mode (only their
// memory is shared), with and without reading the values.
func TestReuseEntry(t *testing.T) {
	for _, name := range []string{"types-small", "types-large", "streams"} {
		data, err := os.ReadFile(decCorpusDir + "/7.4.1/" + name + "/dump.rdb")
		if err != nil {
			t.Skip(err)
		}
		for _, values := range []bool{false, true} {
			collect := func(reuse bool) []Entry {
				d := NewDecoder(bytes.NewReader(data), &DecodeOptions{Deep: true, ReuseEntry: reuse})
				var out []Entry
				var last *Entry
				for {
					rec, err := d.Next()
					if err == io.EOF {
						return out
					}
					if err != nil {
						t.Fatalf("%s reuse=%v: %v", name, reuse, err)
					}
					e, ok := rec.(*Entry)
					if !ok {
						continue
					}
					if reuse && last != nil && e != last {
						t.Fatalf("%s: ReuseEntry returned a new *Entry", name)
					}
					last = e
					if values {
						if _, err := d.Value(); err != nil {
							t.Fatal(err)
						}
					}
					c := *e
					c.Key = bytes.Clone(e.Key)
					out = append(out, c)
				}
			}
			a, b := collect(false), collect(true)
			if len(a) == 0 || !reflect.DeepEqual(a, b) {
				t.Errorf("%s values=%v: %d entries vs %d, or they differ", name, values, len(a), len(b))
			}
		}
	}
}
