package rdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func lpStr(s string) blobEntry { return blobEntry{Str: []byte(s)} }
func lpInt(v int64) blobEntry  { return blobEntry{Int: v, IsInt: true} }

func TestListpackSpecExample(t *testing.T) {
	want := []byte{0x11, 0, 0, 0, 3, 0, 0x83, 'f', 'o', 'o', 4, 7, 1, 0xDF, 0xFF, 2, 0xFF}
	got := appendListpack(nil, []blobEntry{lpStr("foo"), lpStr("7"), lpInt(-1)})
	if !bytes.Equal(got, want) {
		t.Fatalf("appendListpack = % x, want % x", got, want)
	}
	es := collectListpack(t, want)
	if !entriesEqual(es, []blobEntry{lpStr("foo"), lpInt(7), lpInt(-1)}) || !es[1].IsInt || es[0].IsInt {
		t.Fatalf("walk = %+v", es)
	}
	if empty := appendListpack(nil, nil); !bytes.Equal(empty, []byte{7, 0, 0, 0, 0, 0, 0xFF}) {
		t.Errorf("empty listpack = % x", empty)
	}
}

func TestListpackIntEncodings(t *testing.T) {
	tests := []struct {
		v    int64
		want []byte // encoding+data+backlen
	}{
		{0, []byte{0x00, 1}},
		{127, []byte{0x7F, 1}},
		{128, []byte{0xC0, 0x80, 2}},
		{-1, []byte{0xDF, 0xFF, 2}},
		{4095, []byte{0xCF, 0xFF, 2}},
		{-4096, []byte{0xD0, 0x00, 2}},
		{4096, []byte{0xF1, 0x00, 0x10, 3}},
		{-4097, []byte{0xF1, 0xFF, 0xEF, 3}},
		{32767, []byte{0xF1, 0xFF, 0x7F, 3}},
		{-32768, []byte{0xF1, 0x00, 0x80, 3}},
		{32768, []byte{0xF2, 0x00, 0x80, 0x00, 4}},
		{-32769, []byte{0xF2, 0xFF, 0x7F, 0xFF, 4}},
		{1<<23 - 1, []byte{0xF2, 0xFF, 0xFF, 0x7F, 4}},
		{-1 << 23, []byte{0xF2, 0x00, 0x00, 0x80, 4}},
		{1 << 23, []byte{0xF3, 0x00, 0x00, 0x80, 0x00, 5}},
		{math.MaxInt32, []byte{0xF3, 0xFF, 0xFF, 0xFF, 0x7F, 5}},
		{math.MinInt32, []byte{0xF3, 0x00, 0x00, 0x00, 0x80, 5}},
		{math.MaxInt32 + 1, []byte{0xF4, 0, 0, 0, 0x80, 0, 0, 0, 0, 9}},
		{math.MinInt64, []byte{0xF4, 0, 0, 0, 0, 0, 0, 0, 0x80, 9}},
		{math.MaxInt64, []byte{0xF4, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 9}},
	}
	for _, tc := range tests {
		for _, e := range []blobEntry{lpInt(tc.v), {Str: []byte(itoa64(tc.v))}} {
			lp := appendListpack(nil, []blobEntry{e})
			if got := lp[6 : len(lp)-1]; !bytes.Equal(got, tc.want) {
				t.Errorf("%d: entry = % x, want % x", tc.v, got, tc.want)
			}
			es := collectListpack(t, lp)
			if len(es) != 1 || !es[0].IsInt || es[0].Int != tc.v {
				t.Errorf("%d: walk = %+v", tc.v, es)
			}
		}
	}
}

func itoa64(v int64) string { return string(entryBytes(lpInt(v))) }

func TestListpackStringLengths(t *testing.T) {
	for _, n := range []int{0, 1, 63, 64, 127, 128, 4095, 4096, 16378, 16379, 16380, 16381, 16382, 70000} {
		s := strings.Repeat("x", n)
		lp := appendListpack(nil, []blobEntry{lpStr(s), lpStr("-0")})
		es := collectListpack(t, lp)
		if len(es) != 2 || es[0].IsInt || string(es[0].Str) != s || string(es[1].Str) != "-0" {
			t.Fatalf("len %d: walk mismatch", n)
		}
		hdr := 1
		switch {
		case n >= 4096:
			hdr = 5
		case n >= 64:
			hdr = 2
		}
		l := uint64(hdr + n)
		if got := lp[6+hdr+n : 6+hdr+n+lpBacklenSize(l)]; !bytes.Equal(got, lpAppendBacklen(nil, l)) {
			t.Errorf("len %d: backlen % x", n, got)
		}
	}
}

func TestListpackBacklen(t *testing.T) {
	tests := []struct {
		l    uint64
		want []byte
	}{
		{0, []byte{0}},
		{127, []byte{127}},
		{128, []byte{1, 128}},
		{16382, []byte{127, 254}},
		{16383, []byte{0, 255, 255}},
		{2097150, []byte{127, 255, 254}},
		{2097151, []byte{0, 255, 255, 255}},
		{268435454, []byte{127, 255, 255, 254}},
		{268435455, []byte{0, 255, 255, 255, 255}},
	}
	for _, tc := range tests {
		got := lpAppendBacklen(nil, tc.l)
		if !bytes.Equal(got, tc.want) {
			t.Errorf("backlen(%d) = % x, want % x", tc.l, got, tc.want)
		}
		buf := append(make([]byte, 8), got...)
		if v, ok := lpDecodeBacklen(buf, len(buf)-1); !ok || v != tc.l {
			t.Errorf("decode(% x) = %d, %v", got, v, ok)
		}
	}
}

func TestListpackCount65535(t *testing.T) {
	es := make([]blobEntry, 70000)
	for i := range es {
		es[i] = lpInt(int64(i % 100))
	}
	for _, n := range []int{65534, 65535, 70000} {
		lp := appendListpack(nil, es[:n])
		wantHdr := min(n, 65535)
		if got := int(lp[4]) | int(lp[5])<<8; got != wantHdr {
			t.Errorf("n=%d: header count %d, want %d", n, got, wantHdr)
		}
		if got := len(collectListpack(t, lp)); got != n {
			t.Errorf("n=%d: walked %d", n, got)
		}
	}
	// 65535 means "unknown": any real count is accepted.
	lp := appendListpack(nil, []blobEntry{lpInt(1), lpInt(2)})
	lp[4], lp[5] = 0xFF, 0xFF
	if got := len(collectListpack(t, lp)); got != 2 {
		t.Errorf("unknown count: walked %d", got)
	}
}

func TestListpackCorrupt(t *testing.T) {
	valid := appendListpack(nil, []blobEntry{lpStr("foo"), lpInt(7), lpInt(-1)})
	mut := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(valid)) }
	tests := []struct {
		name string
		blob []byte
		off  int64
	}{
		{"short", []byte{6, 0, 0, 0, 0, 0}, 0},
		{"empty-input", nil, 0},
		{"total-mismatch", mut(func(b []byte) []byte { b[0]++; return b }), 0},
		{"no-terminator", mut(func(b []byte) []byte { b[len(b)-1] = 0; return b }), 16},
		{"count-too-high", mut(func(b []byte) []byte { b[4] = 4; return b }), 4},
		{"count-too-low", mut(func(b []byte) []byte { b[4] = 2; return b }), 4},
		{"bad-backlen", mut(func(b []byte) []byte { b[10] = 5; return b }), 10},
		{"invalid-encoding-F5", mut(func(b []byte) []byte { b[11] = 0xF5; return b }), 11},
		{"invalid-encoding-FE", mut(func(b []byte) []byte { b[11] = 0xFE; return b }), 11},
		{"early-terminator", mut(func(b []byte) []byte { b[11] = 0xFF; return b }), 11},
		{"string-overflows", mut(func(b []byte) []byte { b[6] = 0x8F; return b }), 6},
		{"str32-overflows", []byte{12, 0, 0, 0, 1, 0, 0xF0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, 6},
		{"str12-truncated", []byte{8, 0, 0, 0, 1, 0, 0xE0, 0xFF}, 6},
		{"int64-truncated", []byte{10, 0, 0, 0, 1, 0, 0xF4, 0, 0, 0xFF}, 6},
		{"trailing-after-terminator-byte", []byte{9, 0, 0, 0, 0, 0, 0xFF, 0, 0xFF}, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := walkListpack(tc.blob, func(int, blobEntry) error { return nil })
			var fe *FormatError
			if !errors.As(err, &fe) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want *FormatError wrapping ErrCorrupt", err)
			}
			if fe.Offset != tc.off {
				t.Errorf("offset %d, want %d (%v)", fe.Offset, tc.off, err)
			}
			if !strings.HasPrefix(fe.Context, "listpack") {
				t.Errorf("context %q", fe.Context)
			}
		})
	}
}

func TestListpackCallbackError(t *testing.T) {
	stop := errors.New("stop")
	lp := appendListpack(nil, []blobEntry{lpInt(1), lpInt(2), lpInt(3)})
	n, err := walkListpack(lp, func(i int, e blobEntry) error {
		if i == 1 {
			return stop
		}
		return nil
	})
	if err != stop || n != 1 {
		t.Errorf("n=%d err=%v, want 1, stop", n, err)
	}
}

// blobSeeds returns testdata/<dir>/* plus the given blobs, for fuzz seeds.
func blobSeeds(dir string, extra ...[]byte) [][]byte {
	files, _ := filepath.Glob(filepath.Join("testdata", dir, "*"))
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil {
			extra = append(extra, b)
		}
	}
	return extra
}

func FuzzListpack(f *testing.F) {
	for _, b := range blobSeeds("listpack",
		appendListpack(nil, []blobEntry{lpStr("foo"), lpInt(7), lpInt(-1)}),
		appendListpack(nil, []blobEntry{lpStr(strings.Repeat("y", 70)), lpInt(1 << 40), lpInt(-5000), lpInt(40000), lpInt(1 << 30)}),
		[]byte{7, 0, 0, 0, 0, 0, 0xFF},
	) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, blob []byte) {
		checkListpack(t, blob)
		// Random bytes rarely carry a matching total size and terminator;
		// also walk a repaired copy so the fuzzer explores the entries.
		if len(blob) >= 6 {
			fixed := append(bytes.Clone(blob), 0xFF)
			binary.LittleEndian.PutUint32(fixed, uint32(len(fixed)))
			checkListpack(t, fixed)
		}
	})
}

func checkListpack(t *testing.T, blob []byte) {
	var es []blobEntry
	n, err := walkListpack(blob, func(i int, e blobEntry) error {
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
	re := appendListpack(nil, es)
	es2 := collectListpack(t, re)
	if !entriesEqual(es, es2) {
		t.Fatalf("re-encoding changed elements")
	}
	// Our own output is a fixed point.
	if re2 := appendListpack(nil, es2); !bytes.Equal(re, re2) {
		t.Fatalf("encoding not stable")
	}
}

func BenchmarkListpack(b *testing.B) {
	var es []blobEntry
	for i := range 500 {
		es = append(es, lpStr("field:"+itoa64(int64(i))+"x"), lpInt(int64(i*i*37)))
	}
	lp := appendListpack(nil, es)
	b.Run("walk", func(b *testing.B) {
		b.SetBytes(int64(len(lp)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := walkListpack(lp, func(int, blobEntry) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("append", func(b *testing.B) {
		b.SetBytes(int64(len(lp)))
		b.ReportAllocs()
		buf := make([]byte, 0, len(lp))
		for b.Loop() {
			buf = appendListpack(buf[:0], es)
		}
	})
}
