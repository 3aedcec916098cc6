package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/persistkit/persistkit/format/rdb"
)

// TestEntrySizeMatchesValue: stats' streamed element count and payload of
// every key of every corpus RDB equal valueLen and valueSize of the key's
// decoded Value.
func TestEntrySizeMatchesValue(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*", "*", "*.rdb"))
	keys := 0
	kinds := map[rdb.Kind]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		streamed := rdb.NewDecoder(bytes.NewReader(data), nil)
		built := rdb.NewDecoder(bytes.NewReader(data), nil)
		for {
			rec, err := streamed.Next()
			if err != nil {
				if err != io.EOF {
					t.Logf("%s: %v", f, err)
				}
				break
			}
			if _, err := built.Next(); err != nil {
				t.Fatalf("%s: the two decoders part: %v", f, err)
			}
			e, ok := rec.(*rdb.Entry)
			if !ok {
				continue
			}
			n, size, err := entrySize(streamed, e)
			v, verr := built.Value()
			if (err != nil) != (verr != nil) {
				t.Fatalf("%s: key %q: streamed error %v, Value error %v", f, e.Key, err, verr)
			}
			if err != nil {
				break
			}
			if n != valueLen(v) || size != valueSize(v) {
				t.Errorf("%s: key %q (%s): %d elements, %d bytes; Value has %d, %d", f, e.Key, e.Encoding, n, size, valueLen(v), valueSize(v))
			}
			keys++
			kinds[e.Kind] = true
		}
	}
	if keys < 1000 || len(kinds) < 7 {
		t.Errorf("%d keys of %d kinds compared", keys, len(kinds))
	}
}
