package main

import (
	"testing"

	"github.com/persistkit/persistkit/format/rdb"
)

func TestMallocSize(t *testing.T) {
	for _, c := range []struct{ in, want int64 }{
		{1, 8}, {8, 8}, {9, 16}, {17, 32}, {24, 32}, {25, 32}, {33, 48}, {49, 64}, {65, 80},
		{97, 112}, {128, 128}, {129, 160}, {161, 192}, {257, 320}, {513, 640},
		{1025, 1280}, {4097, 5120}, {1048586, 1310720},
	} {
		if got := mallocSize(c.in); got != c.want {
			t.Errorf("mallocSize(%d) = %d, want %d", c.in, got, c.want)
		}
	}
}

func TestMemEstimateHand(t *testing.T) {
	// key "k": sds type5 1+1+1 -> 8; dictEntry 24.
	const keyOverhead = 8 + 24
	big := make([]byte, 100)
	for _, c := range []struct {
		name string
		v    rdb.Value
		want int64
	}{
		{"int", &rdb.String{Data: []byte("12345")}, 16},
		{"embstr", &rdb.String{Data: []byte("hello")}, 32},                                                 // 16+3+5+1=25 -> 32
		{"raw", &rdb.String{Data: big}, 16 + 112},                                                          // sdshdr8 3+100+1=104 -> 112
		{"intset", &rdb.Set{Members: [][]byte{[]byte("1"), []byte("2")}}, 16 + 16},                         // 8+2*2=12 -> 16
		{"hash-lp", &rdb.Hash{Fields: []rdb.HashField{{Field: []byte("a"), Value: []byte("1")}}}, 16 + 16}, // 7+3+2=12 -> 16
		{"set-ht", &rdb.Set{Members: [][]byte{[]byte("a")}}, 16 + 56 + 4*8 + 24 + 8},
		{"list", &rdb.List{Elems: [][]byte{[]byte("a")}}, 16 + 40 + 40 + 16}, // lp 7+3=10 -> 16
	} {
		if got := memEstimate([]byte("k"), c.v); got != keyOverhead+c.want {
			t.Errorf("%s: memEstimate = %d, want %d", c.name, got, keyOverhead+c.want)
		}
	}
}
