package main

import (
	"bytes"
	"encoding/csv"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/persistkit/persistkit/format/rdb"
)

// TestEntrySizeMatchesValue: the streamed element count, payload and
// memory estimate of stats (entrySize) and memory (entryMem), on every key
// of every corpus RDB, equal valueLen, valueSize and valueMem of the key's
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
		forMem := rdb.NewDecoder(bytes.NewReader(data), nil)
		built := rdb.NewDecoder(bytes.NewReader(data), nil)
		for {
			rec, err := streamed.Next()
			if err != nil {
				if err != io.EOF {
					t.Logf("%s: %v", f, err)
				}
				break
			}
			_, err1 := forMem.Next()
			if _, err2 := built.Next(); err1 != nil || err2 != nil {
				t.Fatalf("%s: the decoders part: %v %v", f, err1, err2)
			}
			e, ok := rec.(*rdb.Entry)
			if !ok {
				continue
			}
			n, size, err := entrySize(streamed, e)
			msize, mn, mem, merr := entryMem(forMem, e)
			v, verr := built.Value()
			if (err != nil) != (verr != nil) || (merr != nil) != (verr != nil) {
				t.Fatalf("%s: key %q: streamed errors %v, %v; Value error %v", f, e.Key, err, merr, verr)
			}
			if err != nil {
				break
			}
			if n != valueLen(v) || size != valueSize(v) || mn != n || msize != size || mem != valueMem(v) {
				t.Errorf("%s: key %q (%s): %d/%d elements, %d/%d bytes, mem %d; Value has %d, %d, %d", f, e.Key, e.Encoding,
					n, mn, size, msize, mem, valueLen(v), valueSize(v), valueMem(v))
			}
			keys++
			kinds[e.Kind] = true
		}
	}
	if keys < 1000 || len(kinds) < 7 {
		t.Errorf("%d keys of %d kinds compared", keys, len(kinds))
	}
}

// TestAppendCSVField: memory's CSV fields are what encoding/csv writes, on
// the fields that need quoting and on random ones.
func TestAppendCSVField(t *testing.T) {
	fields := []string{"", "k", "a,b", `say "hi"`, "cr\rlf\n", " lead", "\tlead", "\u00a0nbsp", `\.`, `\.x`, "trail ",
		"base64:AAEC", "ünï", "\"", ","}
	r := rand.New(rand.NewPCG(1, 1))
	for range 2000 {
		const alphabet = " ,\"\r\na\\.\t"
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		fields = append(fields, string(b))
	}
	for _, f := range fields {
		var want bytes.Buffer
		cw := csv.NewWriter(&want)
		cw.Write([]string{f, "x"})
		cw.Flush()
		got := append(appendCSVField(nil, f), ",x\n"...)
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("field %q: %q, encoding/csv %q", f, got, want.Bytes())
		}
	}
}
