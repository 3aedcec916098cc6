package keyspace

import (
	"errors"
	"reflect"
	"testing"

	"github.com/persistkit/persistkit/format/rdb"
)

func bs(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

func TestConvertRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   rdb.Value
		want rdb.Value // sorted form
	}{
		{"string", &rdb.String{Data: []byte("v")}, &rdb.String{Data: []byte("v")}},
		{"list", &rdb.List{Elems: bs("b", "a", "b")}, &rdb.List{Elems: bs("b", "a", "b")}},
		{"set", &rdb.Set{Members: bs("z", "a", "m", "a")}, &rdb.Set{Members: bs("a", "m", "z")}},
		{"zset", &rdb.ZSet{Members: []rdb.ZMember{{Member: []byte("b"), Score: 2}, {Member: []byte("c"), Score: 1}, {Member: []byte("a"), Score: 2}}},
			&rdb.ZSet{Members: []rdb.ZMember{{Member: []byte("c"), Score: 1}, {Member: []byte("a"), Score: 2}, {Member: []byte("b"), Score: 2}}}},
		{"hash", &rdb.Hash{Fields: []rdb.HashField{{Field: []byte("y"), Value: []byte("1"), ExpireAtMs: 0}, {Field: []byte("x"), Value: []byte("2"), ExpireAtMs: 77}}},
			&rdb.Hash{Fields: []rdb.HashField{{Field: []byte("x"), Value: []byte("2"), ExpireAtMs: 77}, {Field: []byte("y"), Value: []byte("1"), ExpireAtMs: 0}}}},
		{"stream", &rdb.Stream{Length: 0}, &rdb.Stream{Length: 0}},
		{"module", &rdb.Module{Name: "test___dt"}, &rdb.Module{Name: "test___dt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := ObjectFromValue(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if o.Kind != tc.in.Kind() || o.HasTTL() {
				t.Errorf("kind %v ttl %v", o.Kind, o.HasTTL())
			}
			if got := o.ToValue(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ToValue = %#v, want %#v", got, tc.want)
			}
		})
	}
	if _, err := ObjectFromValue(nil); !errors.Is(err, ErrValue) {
		t.Errorf("nil value: %v", err)
	}
}

func TestFunctionLibraryName(t *testing.T) {
	for _, tc := range []struct {
		code, name string
		ok         bool
	}{
		{"#!lua name=mylib\nredis.register_function('f', function() return 1 end)", "mylib", true},
		{"#!lua name=lib2 description=x\r\nreturn", "lib2", true},
		{"#!lua\nreturn", "", false},
		{"return 1", "", false},
	} {
		name, err := FunctionLibraryName([]byte(tc.code))
		if name != tc.name || (err == nil) != tc.ok {
			t.Errorf("%q: got %q, %v", tc.code, name, err)
		}
		if err != nil && !errors.Is(err, ErrFunctionHeader) {
			t.Errorf("%q: error %v not ErrFunctionHeader", tc.code, err)
		}
	}
}
