package keyspace

import (
	"fmt"
	"testing"
)

func TestEachOrder(t *testing.T) {
	s := New(100)
	s.DBs[3].Keys["b"] = strObj("1")
	s.DBs[3].Keys["a"] = strObj("1")
	s.DBs[0].Keys["z"] = strObj("1")
	gone := strObj("x")
	gone.ExpireAtMs = 50
	s.DBs[0].Keys["gone"] = gone
	var got []string
	err := s.Each(func(db int, key []byte, o *Object) error {
		got = append(got, fmt.Sprintf("%d/%s", db, key))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[0/z 3/a 3/b]" {
		t.Errorf("Each order = %v", got)
	}
	stop := fmt.Errorf("stop")
	n := 0
	if err := s.Each(func(int, []byte, *Object) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("Each did not stop: %v after %d", err, n)
	}
}
