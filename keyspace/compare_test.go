package keyspace

import (
	"testing"

	"github.com/persistkit/persistkit/format/rdb"
)

func TestDiff(t *testing.T) {
	a, b := New(0), New(0)
	if d := Diff(a, b, 0); len(d) != 0 {
		t.Fatalf("empty stores differ: %v", d)
	}
	a.DBs[0].Keys["only-a"] = strObj("1")
	b.DBs[0].Keys["only-b"] = strObj("1")
	a.DBs[0].Keys["type"] = strObj("1")
	l := NewObject(rdb.KindList)
	l.List = bs("x")
	b.DBs[0].Keys["type"] = l
	la, lb := NewObject(rdb.KindList), NewObject(rdb.KindList)
	la.List, lb.List = bs("a", "b"), bs("a", "c")
	a.DBs[1].Keys["list"], b.DBs[1].Keys["list"] = la, lb
	ta, tb := strObj("v"), strObj("v")
	ta.ExpireAtMs = 5
	a.DBs[2].Keys["ttl"], b.DBs[2].Keys["ttl"] = ta, tb
	a.Functions["lib"] = []byte("#!lua name=lib\n")

	want := []string{
		`db0 "only-a": missing`,
		`db0 "only-b": extra`,
		`db0 "type": type: string != list`,
		`db1 "list": value: element 1: "b" != "c"`,
		`db2 "ttl": ttl: expire at 5 ms != no ttl`,
		`functions: library "lib": missing`,
	}
	got := Diff(a, b, 0)
	if len(got) != len(want) {
		t.Fatalf("got %d differences: %v", len(got), got)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("diff %d = %q, want %q", i, got[i], want[i])
		}
	}
	if got := Diff(a, b, 2); len(got) != 2 {
		t.Errorf("max 2: got %d", len(got))
	}
	// Keys expired at a's NowMs are ignored: b's copy is now extra.
	a.NowMs = 10
	for _, d := range Diff(a, b, 0) {
		if string(d.Key) == "ttl" && d.Kind != DiffExtra {
			t.Errorf("expired key compared: %v", d)
		}
	}
}

func TestDiffCollections(t *testing.T) {
	mk := func(kind rdb.Kind, fill func(o *Object)) *Object {
		o := NewObject(kind)
		fill(o)
		return o
	}
	for _, tc := range []struct {
		name string
		a, b *Object
		want string
	}{
		{"set", mk(rdb.KindSet, func(o *Object) { o.Set["a"] = struct{}{} }),
			mk(rdb.KindSet, func(o *Object) { o.Set["b"] = struct{}{} }), `member "a" missing`},
		{"zset", mk(rdb.KindZSet, func(o *Object) { o.ZSet["m"] = 1 }),
			mk(rdb.KindZSet, func(o *Object) { o.ZSet["m"] = 1.5 }), `member "m": score 1 != 1.5`},
		{"hash", mk(rdb.KindHash, func(o *Object) { o.Hash["f"] = &HashValue{Value: []byte("1")} }),
			mk(rdb.KindHash, func(o *Object) { o.Hash["f"] = &HashValue{Value: []byte("1"), ExpireAtMs: 9} }),
			`field "f": ttl 0 != 9`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, ok := diffObject(tc.a, tc.b)
			if !ok || d.Detail != tc.want {
				t.Errorf("got %v %q, want %q", ok, d.Detail, tc.want)
			}
			if _, ok := diffObject(tc.a, tc.a); ok {
				t.Error("object differs from itself")
			}
		})
	}
}
