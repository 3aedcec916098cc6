package rdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestZiplistSpecExample(t *testing.T) {
	want := []byte{0x12, 0, 0, 0, 0x0F, 0, 0, 0, 2, 0, 0x00, 0x03, 'f', 'o', 'o', 0x05, 0xF8, 0xFF}
	got := appendZiplist(nil, []blobEntry{lpStr("foo"), lpStr("7")})
	if !bytes.Equal(got, want) {
		t.Fatalf("appendZiplist = % x, want % x", got, want)
	}
	es := collectZiplist(t, want)
	if len(es) != 2 || string(es[0].Str) != "foo" || !es[1].IsInt || es[1].Int != 7 {
		t.Fatalf("walk = %+v", es)
	}
	if empty := appendZiplist(nil, nil); !bytes.Equal(empty, []byte{0x0B, 0, 0, 0, 0x0A, 0, 0, 0, 0, 0, 0xFF}) {
		t.Errorf("empty ziplist = % x", empty)
	}
}

func TestZiplistIntEncodings(t *testing.T) {
	tests := []struct {
		v    int64
		want []byte // encoding+data
	}{
		{0, []byte{0xF1}},
		{12, []byte{0xFD}},
		{13, []byte{0xFE, 13}},
		{-1, []byte{0xFE, 0xFF}},
		{127, []byte{0xFE, 0x7F}},
		{-128, []byte{0xFE, 0x80}},
		{128, []byte{0xC0, 0x80, 0x00}},
		{-129, []byte{0xC0, 0x7F, 0xFF}},
		{32767, []byte{0xC0, 0xFF, 0x7F}},
		{32768, []byte{0xF0, 0x00, 0x80, 0x00}},
		{-1 << 23, []byte{0xF0, 0x00, 0x00, 0x80}},
		{-5, []byte{0xFE, 0xFB}},
		{-100000, []byte{0xF0, 0x60, 0x79, 0xFE}},
		{1 << 23, []byte{0xD0, 0x00, 0x00, 0x80, 0x00}},
		{math.MinInt32, []byte{0xD0, 0, 0, 0, 0x80}},
		{math.MaxInt32 + 1, []byte{0xE0, 0, 0, 0, 0x80, 0, 0, 0, 0}},
		{math.MinInt64, []byte{0xE0, 0, 0, 0, 0, 0, 0, 0, 0x80}},
	}
	for _, tc := range tests {
		for _, e := range []blobEntry{lpInt(tc.v), lpStr(itoa64(tc.v))} {
			zl := appendZiplist(nil, []blobEntry{e})
			if got := zl[11 : len(zl)-1]; !bytes.Equal(got, tc.want) {
				t.Errorf("%d: entry = % x, want % x", tc.v, got, tc.want)
			}
			es := collectZiplist(t, zl)
			if len(es) != 1 || !es[0].IsInt || es[0].Int != tc.v {
				t.Errorf("%d: walk = %+v", tc.v, es)
			}
		}
	}
}

func TestZiplistStringsAndPrevlen(t *testing.T) {
	// 63/64 and 16383/16384 switch the length form; entries of 254+ bytes
	// make the next prevlen take 5 bytes.
	var in []blobEntry
	for _, n := range []int{0, 1, 63, 64, 250, 251, 252, 253, 16383, 16384, 3} {
		in = append(in, lpStr(strings.Repeat("z", n)))
	}
	in = append(in, lpStr("-0"), lpStr("007"), lpInt(1))
	zl := appendZiplist(nil, in)
	es := collectZiplist(t, zl)
	if !entriesEqual(in, es) {
		t.Fatalf("round trip mismatch")
	}
	for i, e := range es[:len(es)-1] {
		if e.IsInt {
			t.Errorf("entry %d decoded as int", i)
		}
	}
	// 14-bit length is big-endian: 64 -> 40 40.
	zl = appendZiplist(nil, []blobEntry{lpStr(strings.Repeat("a", 64))})
	if !bytes.Equal(zl[10:13], []byte{0, 0x40, 0x40}) {
		t.Errorf("14-bit header % x", zl[10:13])
	}
	// 32-bit length is big-endian too.
	zl = appendZiplist(nil, []blobEntry{lpStr(strings.Repeat("a", 16384))})
	if !bytes.Equal(zl[10:16], []byte{0, 0x80, 0, 0, 0x40, 0}) {
		t.Errorf("32-bit header % x", zl[10:16])
	}
}

func TestZiplistLenientForms(t *testing.T) {
	// A 5-byte prevlen for a small previous entry (left by cascade updates)
	// and a canonical integer stored as a string are both accepted.
	zl := []byte{0x16, 0, 0, 0, 0x0F, 0, 0, 0, 2, 0, 0x00, 0x03, 'f', 'o', 'o',
		0xFE, 0x05, 0, 0, 0, 0x02, '1', '2', 0xFF}
	zl[4] = 15
	zl[0] = byte(len(zl))
	es := collectZiplist(t, zl)
	if len(es) != 2 || string(es[1].Str) != "12" || es[1].IsInt {
		t.Fatalf("walk = %+v", es)
	}
	// Low bits of a 32-bit string encoding byte are ignored, like Redis'
	// ZIP_ENTRY_ENCODING mask does.
	zl = []byte{0x10, 0, 0, 0, 0x0A, 0, 0, 0, 1, 0, 0x00, 0x81, 0, 0, 0, 0, 0xFF}
	zl[0] = byte(len(zl))
	if es := collectZiplist(t, zl); len(es) != 1 || len(es[0].Str) != 0 || es[0].IsInt {
		t.Fatalf("walk = %+v", es)
	}
	// zltail is not checked for an empty ziplist.
	empty := []byte{0x0B, 0, 0, 0, 0x03, 0, 0, 0, 0, 0, 0xFF}
	if n, err := walkZiplist(empty, func(int, blobEntry) error { return nil }); n != 0 || err != nil {
		t.Errorf("empty with odd zltail: %d, %v", n, err)
	}
}

func TestZiplistCount65535(t *testing.T) {
	es := make([]blobEntry, 65536)
	for i := range es {
		es[i] = lpInt(int64(i))
	}
	zl := appendZiplist(nil, es)
	if zl[8] != 0xFF || zl[9] != 0xFF {
		t.Errorf("count % x, want ff ff", zl[8:10])
	}
	if got := len(collectZiplist(t, zl)); got != len(es) {
		t.Errorf("walked %d", got)
	}
}

func TestZiplistCorrupt(t *testing.T) {
	valid := appendZiplist(nil, []blobEntry{lpStr("foo"), lpStr("7"), lpInt(300)})
	// layout: hdr 10 | 00 03 f o o (10) | 05 f8 (15) | 02 c0 2c 01 (17) | ff (21)
	mut := func(f func(b []byte)) []byte { b := bytes.Clone(valid); f(b); return b }
	tests := []struct {
		name string
		blob []byte
		off  int64
	}{
		{"short", []byte{10, 0, 0, 0, 10, 0, 0, 0, 0, 0}, 0},
		{"zlbytes-mismatch", mut(func(b []byte) { b[0]-- }), 0},
		{"no-terminator", mut(func(b []byte) { b[21] = 0 }), 21},
		{"zltail-outside", mut(func(b []byte) { b[4] = 30 }), 4},
		{"zltail-wrong", mut(func(b []byte) { b[4] = 15 }), 4},
		{"count-wrong", mut(func(b []byte) { b[8] = 2 }), 8},
		{"prevlen-wrong", mut(func(b []byte) { b[15] = 4 }), 15},
		{"first-prevlen-nonzero", mut(func(b []byte) { b[10] = 1 }), 10},
		{"invalid-encoding", mut(func(b []byte) { b[16] = 0xC1 }), 15},
		{"invalid-encoding-FF", mut(func(b []byte) { b[16] = 0xFF }), 15},
		{"string-overflows", mut(func(b []byte) { b[11] = 0x3F }), 10},
		{"int-overflows", mut(func(b []byte) { b[18] = 0xE0 }), 17},
		{"str32-huge", mut(func(b []byte) { b[11] = 0x80 }), 10},
		{"prevlen5-truncated", []byte{15, 0, 0, 0, 10, 0, 0, 0, 1, 0, 0xFE, 0, 0, 0, 0xFF}, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := walkZiplist(tc.blob, func(int, blobEntry) error { return nil })
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

func FuzzZiplist(f *testing.F) {
	for _, b := range blobSeeds("ziplist",
		appendZiplist(nil, []blobEntry{lpStr("foo"), lpStr("7")}),
		appendZiplist(nil, []blobEntry{lpStr(strings.Repeat("q", 300)), lpInt(-100000), lpInt(1 << 40), lpInt(200), lpInt(-3)}),
		[]byte{0x0B, 0, 0, 0, 0x0A, 0, 0, 0, 0, 0, 0xFF},
	) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, blob []byte) {
		checkZiplist(t, blob)
		// Random bytes rarely carry a matching total size and terminator;
		// also walk a repaired copy so the fuzzer explores the entries.
		if len(blob) >= 10 {
			fixed := append(bytes.Clone(blob), 0xFF)
			binary.LittleEndian.PutUint32(fixed, uint32(len(fixed)))
			checkZiplist(t, fixed)
		}
	})
}

func checkZiplist(t *testing.T, blob []byte) {
	var es []blobEntry
	n, err := walkZiplist(blob, func(i int, e blobEntry) error {
		es = append(es, e)
		return nil
	})
	if err != nil {
		var fe *FormatError
		if !errors.As(err, &fe) || !errors.Is(err, ErrCorrupt) || fe.Offset < 0 || fe.Offset > int64(len(blob)) {
			t.Fatalf("bad error %v", err)
		}
		return
	}
	if n != len(es) {
		t.Fatalf("n=%d, %d callbacks", n, len(es))
	}
	re := appendZiplist(nil, es)
	if !entriesEqual(es, collectZiplist(t, re)) {
		t.Fatalf("re-encoding changed elements")
	}
	// Same elements as a listpack too (ziplist -> listpack conversion).
	if !entriesEqual(es, collectListpack(t, appendListpack(nil, es))) {
		t.Fatalf("listpack conversion changed elements")
	}
}
