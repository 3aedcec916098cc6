package keyspace

import (
	"encoding/hex"
	"math"
	"testing"

	"github.com/persistkit/persistkit/format/rdb"
)

func strObj(v string) *Object {
	o := NewObject(rdb.KindString)
	o.Str = []byte(v)
	return o
}

// vectorStore builds the data of digest.md §8 (verified on Redis 7.0.15).
func vectorObjects() map[string]*Object {
	l := NewObject(rdb.KindList)
	l.List = [][]byte{[]byte("a"), []byte("b"), []byte("1")}
	s := NewObject(rdb.KindSet)
	s.Set["x"] = struct{}{}
	s.Set["5"] = struct{}{}
	h := NewObject(rdb.KindHash)
	h.Hash["f"] = &HashValue{Value: []byte("v")}
	e := strObj("12")
	e.ExpireAtMs = 4102444800000
	z := NewObject(rdb.KindZSet)
	z.ZSet["m"] = 1.5
	z.ZSet["n"] = 2
	return map[string]*Object{"foo": strObj("bar"), "l": l, "s": s, "h": h, "e": e, "z": z}
}

func hexOf(d [20]byte) string { return hex.EncodeToString(d[:]) }

func TestDigestVectors(t *testing.T) {
	v70 := DigestOptions{RedisVersion: "7.0"}
	objs := vectorObjects()
	for _, tc := range []struct {
		key, want string
	}{
		{"foo", "68467c70ae30376e7ce005bcc8827f5ba7fd67dc"},
		{"l", "981fd62c1655c074205cff40b800bd5a5bfdcd41"},
		{"s", "0f7b1ca121b02df0c927eac794ae99219160a350"},
		{"h", "90c76e9e9f4c62d642a34fc97c7dad503b51f906"},
		{"e", "83df3a94c43338a2db2a05ddb5dbb794b842c619"},
		{"z", "908aeffe4e922542b456cb5c8f5b1961a763d7dd"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			if got := hexOf(DigestValue([]byte(tc.key), objs[tc.key], v70)); got != tc.want {
				t.Errorf("DIGEST-VALUE %s = %s, want %s", tc.key, got, tc.want)
			}
		})
	}
	if got := hexOf(DigestValue([]byte("nokey"), nil, v70)); got != "0000000000000000000000000000000000000000" {
		t.Errorf("missing key: %s", got)
	}

	s := New(0)
	if got := hexOf(s.Digest(v70)); got != "0000000000000000000000000000000000000000" {
		t.Errorf("empty: %s", got)
	}
	s.DBs[0].Keys["foo"] = strObj("bar")
	if got := hexOf(s.Digest(v70)); got != "d2ab4820c1be0580ea28efbfe8bfa1dc05bb802a" {
		t.Errorf("foo=bar: %s", got)
	}
	for k, o := range objs {
		s.DBs[0].Keys[k] = o
	}
	if got := hexOf(s.Digest(v70)); got != "0b702f61bcfdbe5db04ebe41903902a9728c8615" {
		t.Errorf("all in db 0: %s", got)
	}
	s.DBs[1].Keys["foo"] = strObj("bar")
	if got := hexOf(s.Digest(v70)); got != "759e1c23ef8e47b8536cf2782ce3ed92b4441add" {
		t.Errorf("with db 1: %s", got)
	}
	// The same data in another db gives another digest.
	s2 := New(0)
	s2.DBs[1].Keys["foo"] = strObj("bar")
	if hexOf(s2.Digest(v70)) == "d2ab4820c1be0580ea28efbfe8bfa1dc05bb802a" {
		t.Error("db index not mixed in")
	}
}

func TestDigestStreamVector(t *testing.T) {
	o := NewObject(rdb.KindStream)
	o.Stream = &rdb.Stream{
		Entries: []rdb.StreamEntry{
			{ID: rdb.StreamID{Ms: 1, Seq: 1}, Fields: []rdb.StreamField{{Field: []byte("a"), Value: []byte("b")}}},
			{ID: rdb.StreamID{Ms: 2, Seq: 0}, Fields: []rdb.StreamField{
				{Field: []byte("a"), Value: []byte("c")}, {Field: []byte("d"), Value: []byte("e")}}},
		},
		Length: 2,
		LastID: rdb.StreamID{Ms: 2},
		Groups: []rdb.StreamGroup{{Name: []byte("g")}},
	}
	want := "9574619b338db0fe6f2ef11632d6286c9fdafc1a"
	if got := hexOf(DigestValue([]byte("st"), o, DigestOptions{RedisVersion: "7.0"})); got != want {
		t.Errorf("stream = %s, want %s", got, want)
	}
}

func TestDigestExpiredSkipped(t *testing.T) {
	s := New(1000)
	s.DBs[0].Keys["foo"] = strObj("bar")
	gone := strObj("x")
	gone.ExpireAtMs = 999
	s.DBs[0].Keys["gone"] = gone
	if got := hexOf(s.Digest(DigestOptions{})); got != "d2ab4820c1be0580ea28efbfe8bfa1dc05bb802a" {
		t.Errorf("expired key hashed: %s", got)
	}
	s.NowMs = 0
	if got := hexOf(s.Digest(DigestOptions{})); got == "d2ab4820c1be0580ea28efbfe8bfa1dc05bb802a" {
		t.Error("NowMs 0 must keep every key")
	}
}

func TestDigestVersionRules(t *testing.T) {
	z := NewObject(rdb.KindZSet)
	z.ZSet["m"] = 0.1
	a := DigestValue(nil, z, DigestOptions{RedisVersion: "7.0"})
	b := DigestValue(nil, z, DigestOptions{RedisVersion: "7.2"})
	if a == b {
		t.Error("0.1 must hash differently under printf and fpconv")
	}
	z.ZSet["m"] = 1.5
	if DigestValue(nil, z, DigestOptions{RedisVersion: "6.2"}) != DigestValue(nil, z, DigestOptions{RedisVersion: "8.0"}) {
		t.Error("1.5 must hash the same in all versions")
	}

	h := NewObject(rdb.KindHash)
	h.Hash["f"] = &HashValue{Value: []byte("v"), ExpireAtMs: 4102444800123}
	want := "90c76e9e9f4c62d642a34fc97c7dad503b51f906" // no marker
	if got := hexOf(DigestValue(nil, h, DigestOptions{RedisVersion: "7.2"})); got != want {
		t.Errorf("7.2 hash with field TTL = %s, want %s", got, want)
	}
	if got := hexOf(DigestValue(nil, h, DigestOptions{RedisVersion: "7.4"})); got == want {
		t.Error("7.4 must add the !!hexpire!! marker")
	}
}

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		in           string
		major, minor int
		ok           bool
	}{
		{"7.0", 7, 0, true}, {"7.4.1", 7, 4, true}, {"valkey-8.0", 8, 0, true},
		{"", 0, 0, false}, {"7", 0, 0, false}, {"x.y", 0, 0, false},
	} {
		ma, mi, ok := parseVersion(tc.in)
		if ma != tc.major || mi != tc.minor || ok != tc.ok {
			t.Errorf("parseVersion(%q) = %d, %d, %v", tc.in, ma, mi, ok)
		}
	}
}

// Module keys hash their type and expire marker only: the corpus' test
// modules (datatype, testrdb) give exactly that on 7.4.1 and 8.0.
func TestDigestModule(t *testing.T) {
	o := NewObject(rdb.KindModule)
	o.Module = &rdb.Module{Name: "test___dt"}
	if got := hexOf(DigestValue(nil, o, DigestOptions{})); got != "865b1024b47cf7b38672487172782cb7502865bb" {
		t.Errorf("module = %s", got)
	}
	o.ExpireAtMs = 4102444800123
	if got := hexOf(DigestValue(nil, o, DigestOptions{})); got != "60deeedb68451de74764a3893712e32c4a862438" {
		t.Errorf("module with TTL = %s", got)
	}
}

// A small skiplist zset is converted to a listpack when a >= 7.0 server
// loads it, and the listpack stores -0.0 as the integer 0.
func TestDigestNegativeZero(t *testing.T) {
	neg := math.Copysign(0, -1)
	mk := func(enc rdb.Encoding, score float64) *Object {
		z := NewObject(rdb.KindZSet)
		z.Encoding = enc
		z.ZSet["m"] = score
		return z
	}
	for _, ver := range []string{"6.2", "7.0", "7.4"} {
		opt := DigestOptions{RedisVersion: ver}
		zero := DigestValue(nil, mk(rdb.EncListpack, 0), opt)
		lp := DigestValue(nil, mk(rdb.EncListpack, neg), opt)
		sl := DigestValue(nil, mk(rdb.EncSkiplist, neg), opt)
		if lp == zero {
			t.Errorf("%s: listpack -0 from the file must hash as -0", ver)
		}
		if (sl == zero) != (ver != "6.2") {
			t.Errorf("%s: small skiplist -0 hashes as 0: %v", ver, sl == zero)
		}
	}
}
