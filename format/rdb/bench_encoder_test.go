package rdb

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// benchValues builds one value per family, each about 100 KiB of payload.
func benchValues() map[string]Value {
	n := 2000
	elem := func(i int) []byte { return []byte("element-" + strconv.Itoa(i) + "-payload-xxxxxxxxxxxx") }
	list := &List{}
	set := &Set{}
	ints := &Set{}
	zset := &ZSet{}
	hash := &Hash{}
	hfe := &Hash{}
	smallHash := &Hash{}
	smallZ := &ZSet{}
	stream := &Stream{}
	for i := range n {
		list.Elems = append(list.Elems, elem(i))
		set.Members = append(set.Members, elem(i))
		zset.Members = append(zset.Members, ZMember{Member: elem(i), Score: float64(i) / 3})
		hash.Fields = append(hash.Fields, HashField{Field: elem(i), Value: elem(i + 1)})
		hfe.Fields = append(hfe.Fields, HashField{Field: elem(i), Value: elem(i + 1), ExpireAtMs: 1700000000000 + int64(i)})
		id := StreamID{Ms: 1700000000000 + uint64(i), Seq: 0}
		stream.Entries = append(stream.Entries, StreamEntry{ID: id, Fields: []StreamField{
			{Field: []byte("sensor"), Value: []byte("s" + strconv.Itoa(i%7))}, {Field: []byte("temp"), Value: []byte(strconv.Itoa(20 + i%13))}}})
		stream.LastID = id
	}
	stream.Length = uint64(n)
	for i := range 500 {
		ints.Members = append(ints.Members, []byte(strconv.Itoa(i*7919)))
	}
	for i := range 100 {
		smallHash.Fields = append(smallHash.Fields, HashField{Field: []byte("f" + strconv.Itoa(i)), Value: []byte(strconv.Itoa(i))})
		smallZ.Members = append(smallZ.Members, ZMember{Member: []byte("m" + strconv.Itoa(i)), Score: float64(i) + 0.5})
	}
	return map[string]Value{
		"string-lzf":    &String{Data: bytes.Repeat([]byte("compressible text "), 6000)},
		"string-raw":    &String{Data: bytes.Repeat([]byte{0x5a, 0x17, 0xc3, 0x99}, 25000)},
		"list":          list,
		"set":           set,
		"set-intset":    ints,
		"zset":          zset,
		"zset-lp":       smallZ,
		"hash":          hash,
		"hash-lp":       smallHash,
		"hash-fieldttl": hfe,
		"stream":        stream,
	}
}

func valueSize(v Value) int64 {
	var n int
	switch x := v.(type) {
	case *String:
		n = len(x.Data)
	case *List:
		for _, e := range x.Elems {
			n += len(e)
		}
	case *Set:
		for _, e := range x.Members {
			n += len(e)
		}
	case *ZSet:
		for _, m := range x.Members {
			n += len(m.Member) + 8
		}
	case *Hash:
		for _, f := range x.Fields {
			n += len(f.Field) + len(f.Value)
		}
	case *Stream:
		for _, e := range x.Entries {
			n += 16
			for _, f := range e.Fields {
				n += len(f.Field) + len(f.Value)
			}
		}
	}
	return int64(n)
}

// BenchmarkEncodeValue encodes one value per family (b.SetBytes = logical
// payload bytes).
func BenchmarkEncodeValue(b *testing.B) {
	vals := benchValues()
	for _, name := range []string{"string-lzf", "string-raw", "list", "set", "set-intset", "zset", "zset-lp",
		"hash", "hash-lp", "hash-fieldttl", "stream"} {
		v := vals[name]
		b.Run(name, func(b *testing.B) {
			e := NewEncoder(io.Discard, nil)
			ent := &Entry{Key: []byte("key"), ExpireAtMs: NoExpire, LRUIdleSec: -1, LFUFreq: -1}
			b.SetBytes(valueSize(v))
			b.ReportAllocs()
			for b.Loop() {
				if err := e.WriteEntry(ent, v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReencodeCorpus decodes a corpus file once and encodes it again
// per iteration (b.SetBytes = the source file size).
func BenchmarkReencodeCorpus(b *testing.B) {
	for _, name := range []string{"7.4.1/types-large", "7.4.1/streams", "6.2.16/types-large"} {
		data, err := os.ReadFile(filepath.Join(corpusDir, name, "dump.rdb"))
		if err != nil {
			b.Fatal(err)
		}
		f, err := decodeAll(data, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := encodeAll(f, &EncodeOptions{Version: f.version, KeepEncoding: true}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodeDump measures DUMP payload creation for a small hash.
func BenchmarkEncodeDump(b *testing.B) {
	v := benchValues()["hash-lp"]
	b.SetBytes(valueSize(v))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeDump(v, 12); err != nil {
			b.Fatal(err)
		}
	}
}
