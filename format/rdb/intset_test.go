package rdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"testing"
)

func collectIntset(t testing.TB, blob []byte) []int64 {
	t.Helper()
	var vs []int64
	n, err := walkIntset(blob, func(i int, v int64) error {
		vs = append(vs, v)
		return nil
	})
	if err != nil || n != len(vs) {
		t.Fatalf("walkIntset: n=%d, %v", n, err)
	}
	return vs
}

func TestIntsetSpecExample(t *testing.T) {
	want := []byte{2, 0, 0, 0, 3, 0, 0, 0, 1, 0, 2, 0, 0x2C, 0x01}
	if got := appendIntset(nil, []int64{1, 2, 300}); !bytes.Equal(got, want) {
		t.Fatalf("appendIntset = % x, want % x", got, want)
	}
	if got := collectIntset(t, want); !slices.Equal(got, []int64{1, 2, 300}) {
		t.Fatalf("walk = %v", got)
	}
}

func TestIntsetWidths(t *testing.T) {
	tests := []struct {
		vals  []int64
		width int
	}{
		{[]int64{math.MinInt16, math.MaxInt16}, 2},
		{[]int64{math.MinInt16 - 1, 0}, 4},
		{[]int64{0, math.MaxInt16 + 1}, 4},
		{[]int64{math.MinInt32, math.MaxInt32}, 4},
		{[]int64{math.MinInt32 - 1}, 8},
		{[]int64{-1, math.MaxInt32 + 1}, 8},
		{[]int64{math.MinInt64, 0, math.MaxInt64}, 8},
	}
	for _, tc := range tests {
		b := appendIntset(nil, tc.vals)
		if int(b[0]) != tc.width || len(b) != 8+tc.width*len(tc.vals) {
			t.Errorf("%v: width %d len %d, want width %d", tc.vals, b[0], len(b), tc.width)
		}
		if got := collectIntset(t, b); !slices.Equal(got, tc.vals) {
			t.Errorf("%v: walk = %v", tc.vals, got)
		}
	}
	// Unsorted input with duplicates is written sorted and unique.
	if got := collectIntset(t, appendIntset(nil, []int64{5, -3, 5, 1})); !slices.Equal(got, []int64{-3, 1, 5}) {
		t.Errorf("unsorted input: %v", got)
	}
	// Redis accepts a wider encoding than needed.
	wide := []byte{8, 0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0}
	if got := collectIntset(t, wide); !slices.Equal(got, []int64{7}) {
		t.Errorf("wide: %v", got)
	}
}

func TestIntsetCorrupt(t *testing.T) {
	tests := []struct {
		name string
		blob []byte
		off  int64
	}{
		{"short", []byte{2, 0, 0, 0, 0, 0, 0}, 0},
		{"empty", []byte{2, 0, 0, 0, 0, 0, 0, 0}, 4},
		{"encoding-3", []byte{3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0}, 0},
		{"encoding-0", []byte{0, 0, 0, 0, 0, 0, 0, 0}, 0},
		{"size-mismatch", []byte{2, 0, 0, 0, 2, 0, 0, 0, 1, 0}, 4},
		{"size-trailing", []byte{2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0}, 4},
		{"huge-count", []byte{8, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 1, 0}, 4},
		{"unsorted", []byte{2, 0, 0, 0, 3, 0, 0, 0, 1, 0, 3, 0, 2, 0}, 12},
		{"duplicate", []byte{2, 0, 0, 0, 2, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF}, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := walkIntset(tc.blob, func(int, int64) error { return nil })
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

func FuzzIntset(f *testing.F) {
	for _, b := range blobSeeds("intset",
		appendIntset(nil, []int64{1, 2, 300}),
		appendIntset(nil, []int64{-70000, 5}),
		appendIntset(nil, []int64{math.MinInt64, 0}),
	) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, blob []byte) {
		checkIntset(t, blob)
		// Also walk a copy whose header agrees with its size, so the fuzzer
		// reaches the ordering checks.
		if len(blob) >= 8 {
			w := []uint32{2, 4, 8}[blob[0]%3]
			fixed := bytes.Clone(blob[:8+(len(blob)-8)/int(w)*int(w)])
			binary.LittleEndian.PutUint32(fixed, w)
			binary.LittleEndian.PutUint32(fixed[4:], uint32(len(fixed)-8)/w)
			checkIntset(t, fixed)
		}
	})
}

func checkIntset(t *testing.T, blob []byte) {
	var vs []int64
	n, err := walkIntset(blob, func(i int, v int64) error {
		vs = append(vs, v)
		return nil
	})
	if err != nil {
		var fe *FormatError
		if !errors.As(err, &fe) || !errors.Is(err, ErrCorrupt) || fe.Offset < 0 || fe.Offset > int64(len(blob)) {
			t.Fatalf("bad error %v", err)
		}
		return
	}
	if n != len(vs) {
		t.Fatalf("n=%d, %d callbacks", n, len(vs))
	}
	re := appendIntset(nil, vs)
	if !slices.Equal(vs, collectIntset(t, re)) {
		t.Fatalf("re-encoding changed elements")
	}
	if len(re) > len(blob) {
		t.Fatalf("re-encoding grew: %d > %d", len(re), len(blob))
	}
}
