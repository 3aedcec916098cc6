package rdb

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func collectZipmap(t testing.TB, blob []byte) [][]byte {
	t.Helper()
	var kv [][]byte
	n, err := walkZipmap(blob, func(k, v []byte) error {
		kv = append(kv, k, v)
		return nil
	})
	if err != nil || 2*n != len(kv) {
		t.Fatalf("walkZipmap: n=%d, %v", n, err)
	}
	return kv
}

func kvString(kv [][]byte) string { return string(bytes.Join(kv, []byte("|"))) }

func TestZipmapSpecExample(t *testing.T) {
	want := []byte{1, 1, 'a', 2, 0, 'b', 'c', 0xFF}
	if got := appendZipmap(nil, [][]byte{[]byte("a"), []byte("bc")}); !bytes.Equal(got, want) {
		t.Fatalf("appendZipmap = % x, want % x", got, want)
	}
	if got := kvString(collectZipmap(t, want)); got != "a|bc" {
		t.Fatalf("walk = %q", got)
	}
}

func TestZipmapForms(t *testing.T) {
	// Free bytes after a value are skipped.
	free := []byte{2, 1, 'a', 1, 3, 'x', 'j', 'j', 'j', 1, 'b', 0, 0, 0xFF}
	if got := kvString(collectZipmap(t, free)); got != "a|x|b|" {
		t.Errorf("free bytes: %q", got)
	}
	// zmlen 254: count unknown. 5-byte lengths (0xFE + u32 LE).
	long := strings.Repeat("v", 300)
	zm := appendZipmap(nil, [][]byte{[]byte("k"), []byte(long)})
	if !bytes.Equal(zm[3:8], []byte{0xFE, 0x2C, 0x01, 0, 0}) {
		t.Errorf("5-byte length % x", zm[3:8])
	}
	zm[0] = 254
	if got := kvString(collectZipmap(t, zm)); got != "k|"+long {
		t.Errorf("unknown count: %q", got[:10])
	}
	// A 5-byte length may also encode small values.
	small := []byte{1, 0xFE, 1, 0, 0, 0, 'f', 0xFE, 2, 0, 0, 0, 0, 'v', 'w', 0xFF}
	if got := kvString(collectZipmap(t, small)); got != "f|vw" {
		t.Errorf("5-byte small: %q", got)
	}
}

func TestZipmapCorrupt(t *testing.T) {
	tests := []struct {
		name string
		blob []byte
		off  int64
	}{
		{"short", []byte{0xFF}, 0},
		{"no-terminator", []byte{1, 1, 'a', 1, 0, 'b', 0}, 6},
		{"empty", []byte{0, 0xFF}, 1},
		{"count-wrong", []byte{2, 1, 'a', 1, 0, 'b', 0xFF}, 0},
		{"field-overflows", []byte{1, 9, 'a', 1, 0, 'b', 0xFF}, 1},
		{"value-overflows", []byte{1, 1, 'a', 9, 0, 'b', 0xFF}, 1},
		{"free-overflows", []byte{1, 1, 'a', 1, 9, 'b', 0xFF}, 1},
		{"value-len-at-end", []byte{1, 1, 'a', 0xFF}, 1},
		{"biglen-truncated", []byte{1, 0xFE, 1, 0, 0xFF}, 1},
		{"huge-len", []byte{1, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 'a', 0xFF}, 1},
		{"duplicate-field", []byte{2, 1, 'a', 1, 0, 'b', 1, 'a', 1, 0, 'c', 0xFF}, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := walkZipmap(tc.blob, func(k, v []byte) error { return nil })
			var fe *FormatError
			if !errors.As(err, &fe) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want *FormatError wrapping ErrCorrupt", err)
			}
			if fe.Offset != tc.off {
				t.Errorf("offset %d, want %d (%v)", fe.Offset, tc.off, err)
			}
		})
	}
}

func FuzzZipmap(f *testing.F) {
	for _, b := range blobSeeds("zipmap",
		[]byte{1, 1, 'a', 2, 0, 'b', 'c', 0xFF},
		[]byte{2, 1, 'a', 1, 3, 'x', 'j', 'j', 'j', 1, 'b', 0, 0, 0xFF},
		appendZipmap(nil, [][]byte{[]byte("k"), bytes.Repeat([]byte("v"), 300)}),
	) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, blob []byte) {
		checkZipmap(t, blob)
		// A terminated copy gets the fuzzer past the final-byte check.
		checkZipmap(t, append(bytes.Clone(blob), 0xFF))
	})
}

func checkZipmap(t *testing.T, blob []byte) {
	var kv [][]byte
	n, err := walkZipmap(blob, func(k, v []byte) error {
		kv = append(kv, k, v)
		return nil
	})
	if err != nil {
		var fe *FormatError
		if !errors.As(err, &fe) || !errors.Is(err, ErrCorrupt) || fe.Offset < 0 || fe.Offset > int64(len(blob)) {
			t.Fatalf("bad error %v", err)
		}
		return
	}
	if 2*n != len(kv) {
		t.Fatalf("n=%d, %d callbacks", n, len(kv))
	}
	re := appendZipmap(nil, kv)
	kv2 := collectZipmap(t, re)
	if len(kv) != len(kv2) {
		t.Fatalf("re-encoding changed pair count")
	}
	for i := range kv {
		if !bytes.Equal(kv[i], kv2[i]) {
			t.Fatalf("re-encoding changed pair %d", i/2)
		}
	}
}
