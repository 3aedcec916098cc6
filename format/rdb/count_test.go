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

// countWith decodes data with Deep validation, counting every non-stream,
// non-module value with Elements or CountElements, and returns a log of
// the counts and the final error.
func countWith(data []byte, useCount bool) string {
	var log bytes.Buffer
	dec := NewDecoder(bytes.NewReader(data), &DecodeOptions{Deep: true})
	for {
		rec, err := dec.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				fmt.Fprintf(&log, "error: %v\n", err)
			}
			return log.String()
		}
		e, ok := rec.(*Entry)
		if !ok || e.Kind == KindStream || e.Kind == KindModule {
			continue
		}
		n, ttl := 0, 0
		if useCount {
			n, ttl, err = dec.CountElements()
		} else {
			err = dec.Elements(func(el *Element) error {
				n++
				if el.ExpireAtMs != 0 {
					ttl++
				}
				return nil
			})
		}
		fmt.Fprintf(&log, "%q %d %d %v\n", e.Key, n, ttl, err)
		if err != nil {
			return log.String()
		}
	}
}

// CountElements must count, validate and fail exactly like Elements, on
// every corpus file and on the corrupt ones.
func TestCountElementsMatchesElements(t *testing.T) {
	files := corpusRDBs(t)
	corrupt, _ := filepath.Glob(filepath.Join(decCorpusDir, "*", "corrupt", "rdb", "*.rdb"))
	files = append(files, corrupt...)
	intsets := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, got := countWith(data, false), countWith(data, true)
		if want != got {
			t.Errorf("%s: CountElements differs from Elements: %s", f, firstDiff(want, got))
		}
		if bytes.Contains(data, []byte{byte(TypeSetIntset)}) {
			intsets++
		}
	}
	if len(corrupt) == 0 || intsets == 0 {
		t.Fatalf("corpus too small: %d files, %d corrupt, %d with an intset type byte", len(files), len(corrupt), intsets)
	}
}
