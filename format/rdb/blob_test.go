package rdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestParseCanonicalInt(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1", 1, true},
		{"-1", -1, true},
		{"12", 12, true},
		{"9223372036854775807", 9223372036854775807, true},
		{"-9223372036854775808", -9223372036854775808, true},
		{"9223372036854775808", 0, false},
		{"-9223372036854775809", 0, false},
		{"18446744073709551616", 0, false},
		{"99999999999999999999", 0, false},
		{"-0", 0, false},
		{"00", 0, false},
		{"01", 0, false},
		{"+1", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"", 0, false},
		{"-", 0, false},
		{"1a", 0, false},
		{"1.0", 0, false},
		{"0x10", 0, false},
		{"-01", 0, false},
		{"123456789012345678901", 0, false}, // 21 bytes
	}
	for _, tc := range tests {
		t.Run(strconv.Quote(tc.in), func(t *testing.T) {
			got, ok := parseCanonicalInt([]byte(tc.in))
			if ok != tc.ok || got != tc.want {
				t.Errorf("parseCanonicalInt(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
			}
			// Canonical means: the int formats back to the same string.
			if ok {
				if s := strconv.FormatInt(got, 10); s != tc.in {
					t.Errorf("round trip %q -> %q", tc.in, s)
				}
			}
		})
	}
}

func FuzzParseCanonicalInt(f *testing.F) {
	for _, s := range []string{"0", "-1", "01", "-0", "9223372036854775808", "+5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := parseCanonicalInt([]byte(s))
		want := false
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && strconv.FormatInt(n, 10) == s {
			want = true
			if ok && v != n {
				t.Fatalf("%q: got %d, want %d", s, v, n)
			}
		}
		if ok != want {
			t.Fatalf("%q: ok = %v, want %v", s, ok, want)
		}
	})
}

// corpusBlobs scans the real-Redis files under fixtures/ for string values
// that hold a blob: an RDB length followed by a blob whose own header claims
// exactly that length. kind is "listpack", "ziplist", "intset", "zipmap" or
// "lzf" (then blob is the compressed data and ulen its declared size). It is
// a heuristic scan, not a decoder: callers validate what it finds.
type corpusBlob struct {
	file string
	off  int
	kind string
	blob []byte
	ulen int
}

func scanCorpusBlobs(t testing.TB) []corpusBlob {
	t.Helper()
	root := filepath.Join("..", "..", "fixtures", "corpus")
	var out []corpusBlob
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".rdb") || strings.Contains(path, "corrupt") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		out = append(out, scanBlobs(rel, data)...)
		return nil
	})
	if err != nil {
		t.Fatalf("scanning corpus: %v", err)
	}
	return out
}

// rdbLenAt decodes an RDB length (6/14/32/64-bit, big-endian) at b[i]; enc
// reports the 0xC0-class special encodings (0xC3 is LZF).
func rdbLenAt(b []byte, i int) (n uint64, size int, enc bool, ok bool) {
	if i >= len(b) {
		return 0, 0, false, false
	}
	switch b[i] >> 6 {
	case 0:
		return uint64(b[i] & 0x3F), 1, false, true
	case 1:
		if i+2 > len(b) {
			return 0, 0, false, false
		}
		return uint64(b[i]&0x3F)<<8 | uint64(b[i+1]), 2, false, true
	case 3:
		return uint64(b[i] & 0x3F), 1, true, true
	}
	switch b[i] {
	case 0x80:
		if i+5 > len(b) {
			return 0, 0, false, false
		}
		return uint64(binary.BigEndian.Uint32(b[i+1:])), 5, false, true
	case 0x81:
		if i+9 > len(b) {
			return 0, 0, false, false
		}
		return binary.BigEndian.Uint64(b[i+1:]), 9, false, true
	}
	return 0, 0, false, false
}

func scanBlobs(file string, b []byte) []corpusBlob {
	var out []corpusBlob
	for i := 9; i < len(b); i++ {
		n, sz, enc, ok := rdbLenAt(b, i)
		if !ok {
			continue
		}
		if enc {
			if n != 3 { // only LZF
				continue
			}
			clen, s1, e1, ok1 := rdbLenAt(b, i+1)
			if !ok1 || e1 || clen == 0 {
				continue
			}
			ulen, s2, e2, ok2 := rdbLenAt(b, i+1+s1)
			start := i + 1 + s1 + s2
			if !ok2 || e2 || ulen <= clen || ulen > 1<<24 || start > len(b) || clen > uint64(len(b)-start) {
				continue
			}
			data := b[start : start+int(clen)]
			if _, err := lzfDecompress(data, int(ulen)); err == nil {
				out = append(out, corpusBlob{file, i, "lzf", data, int(ulen)})
			}
			continue
		}
		start := i + sz
		if n < 2 || start > len(b) || n > uint64(len(b)-start) {
			continue
		}
		blob := b[start : start+int(n)]
		nop := func(int, blobEntry) error { return nil }
		switch {
		case n >= 7 && binary.LittleEndian.Uint32(blob) == uint32(n) && blob[n-1] == 0xFF:
			if _, err := walkListpack(blob, nop); err == nil {
				out = append(out, corpusBlob{file, i, "listpack", blob, 0})
			} else if _, err := walkZiplist(blob, nop); err == nil {
				out = append(out, corpusBlob{file, i, "ziplist", blob, 0})
			}
		case n >= 8 && uint64(binary.LittleEndian.Uint32(blob[4:]))*uint64(binary.LittleEndian.Uint32(blob))+8 == n:
			if _, err := walkIntset(blob, func(int, int64) error { return nil }); err == nil {
				out = append(out, corpusBlob{file, i, "intset", blob, 0})
			}
		case i > 0 && b[i-1] != 0 && blob[n-1] == 0xFF && strings.Contains(file, "zipmap"):
			if _, err := walkZipmap(blob, func(k, v []byte) error { return nil }); err == nil {
				out = append(out, corpusBlob{file, i, "zipmap", blob, 0})
			}
		}
	}
	return out
}

// TestCorpusBlobs re-encodes every blob real Redis wrote: the walk must
// succeed and our encoder must produce the identical bytes (Redis builds
// these blobs incrementally; a fresh encoding matches unless a ziplist kept
// a 5-byte prevlen after a cascade update, which we count separately).
func TestCorpusBlobs(t *testing.T) {
	blobs := scanCorpusBlobs(t)
	counts := map[string]int{}
	exact := map[string]int{}
	for _, cb := range blobs {
		counts[cb.kind]++
		var re []byte
		switch cb.kind {
		case "listpack":
			re = appendListpack(nil, collectListpack(t, cb.blob))
		case "ziplist":
			re = appendZiplist(nil, collectZiplist(t, cb.blob))
		case "intset":
			var vals []int64
			if _, err := walkIntset(cb.blob, func(_ int, v int64) error { vals = append(vals, v); return nil }); err != nil {
				t.Fatalf("%s@%d: %v", cb.file, cb.off, err)
			}
			re = appendIntset(nil, vals)
		case "zipmap":
			var pairs [][]byte
			if _, err := walkZipmap(cb.blob, func(k, v []byte) error { pairs = append(pairs, k, v); return nil }); err != nil {
				t.Fatalf("%s@%d: %v", cb.file, cb.off, err)
			}
			re = appendZipmap(nil, pairs)
		case "lzf":
			plain, err := lzfDecompress(cb.blob, cb.ulen)
			if err != nil {
				t.Fatalf("%s@%d: %v", cb.file, cb.off, err)
			}
			re = lzfCompress(plain)
		}
		// encodings.rdb was written by Redis 2.x, whose ziplists predate the
		// int8/int24/immediate encodings; there only the elements must match.
		legacy := cb.file == filepath.Join("redis-assets", "encodings.rdb") && cb.kind == "ziplist"
		if bytes.Equal(re, cb.blob) {
			exact[cb.kind]++
		} else if legacy {
			a, b := collectZiplist(t, cb.blob), collectZiplist(t, re)
			if !entriesEqual(a, b) {
				t.Errorf("%s@%d: legacy ziplist elements differ after re-encoding", cb.file, cb.off)
			}
		} else {
			t.Errorf("%s@%d: %s re-encodes differently:\n got % x\nwant % x", cb.file, cb.off, cb.kind, head(re), head(cb.blob))
		}
	}
	for _, k := range []string{"listpack", "ziplist", "intset", "zipmap", "lzf"} {
		t.Logf("%-8s found %4d, byte-identical re-encoding %4d", k, counts[k], exact[k])
		if counts[k] == 0 {
			t.Errorf("no %s blob found in the corpus", k)
		}
	}
}

func head(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

func collectListpack(t testing.TB, blob []byte) []blobEntry {
	t.Helper()
	var es []blobEntry
	n, err := walkListpack(blob, func(i int, e blobEntry) error {
		if i != len(es) {
			t.Fatalf("index %d, want %d", i, len(es))
		}
		es = append(es, e)
		return nil
	})
	if err != nil || n != len(es) {
		t.Fatalf("walkListpack: n=%d, %v", n, err)
	}
	return es
}

func collectZiplist(t testing.TB, blob []byte) []blobEntry {
	t.Helper()
	var es []blobEntry
	n, err := walkZiplist(blob, func(i int, e blobEntry) error {
		es = append(es, e)
		return nil
	})
	if err != nil || n != len(es) {
		t.Fatalf("walkZiplist: n=%d, %v", n, err)
	}
	return es
}

// entriesEqual compares elements logically: an integer equals the string
// that is its canonical form, since encoders turn such strings into ints.
func entriesEqual(a, b []blobEntry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !entryEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

func entryEqual(a, b blobEntry) bool {
	return bytes.Equal(entryBytes(a), entryBytes(b))
}

func entryBytes(e blobEntry) []byte {
	if e.IsInt {
		return strconv.AppendInt(nil, e.Int, 10)
	}
	return e.Str
}

// TestBlobTestdata walks testdata/{listpack,ziplist,intset,zipmap}/*.bin:
// bad-* must be rejected as corrupt; the others must walk, and those from
// real Redis (redis-*), the spec (spec-*) and empty-* must re-encode to the
// identical bytes.
func TestBlobTestdata(t *testing.T) {
	reencode := map[string]func(blob []byte) ([]byte, error){
		"listpack": func(b []byte) ([]byte, error) {
			var es []blobEntry
			_, err := walkListpack(b, func(_ int, e blobEntry) error { es = append(es, e); return nil })
			return appendListpack(nil, es), err
		},
		"ziplist": func(b []byte) ([]byte, error) {
			var es []blobEntry
			_, err := walkZiplist(b, func(_ int, e blobEntry) error { es = append(es, e); return nil })
			return appendZiplist(nil, es), err
		},
		"intset": func(b []byte) ([]byte, error) {
			var vs []int64
			_, err := walkIntset(b, func(_ int, v int64) error { vs = append(vs, v); return nil })
			return appendIntset(nil, vs), err
		},
		"zipmap": func(b []byte) ([]byte, error) {
			var kv [][]byte
			_, err := walkZipmap(b, func(k, v []byte) error { kv = append(kv, k, v); return nil })
			return appendZipmap(nil, kv), err
		},
	}
	for kind, fn := range reencode {
		files, _ := filepath.Glob(filepath.Join("testdata", kind, "*.bin"))
		if len(files) == 0 {
			t.Errorf("no testdata for %s", kind)
		}
		for _, f := range files {
			name := filepath.Base(f)
			t.Run(kind+"/"+name, func(t *testing.T) {
				blob, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				re, err := fn(blob)
				if strings.HasPrefix(name, "bad-") {
					if !errors.Is(err, ErrCorrupt) {
						t.Fatalf("err = %v, want ErrCorrupt", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				exact := strings.HasPrefix(name, "redis-") || strings.HasPrefix(name, "spec-") || strings.HasPrefix(name, "empty")
				if exact && !bytes.Equal(re, blob) {
					t.Errorf("re-encoded\n got % x\nwant % x", head(re), head(blob))
				}
			})
		}
	}
}

// TestRedisAssetBlobs checks the elements of the blobs in two Redis test
// assets against what Redis 7.4.1 reports after loading them (truth.json).
func TestRedisAssetBlobs(t *testing.T) {
	read := func(name string) []corpusBlob {
		b, err := os.ReadFile(filepath.Join("..", "..", "fixtures", "corpus", "redis-assets", name))
		if err != nil {
			t.Fatal(err)
		}
		return scanBlobs(name, b)
	}
	zm := read("hash-zipmap.rdb")
	if len(zm) != 1 || zm[0].kind != "zipmap" {
		t.Fatalf("hash-zipmap.rdb: found %+v", zm)
	}
	if got := kvString(collectZipmap(t, zm[0].blob)); got != "f1|v1|f2|v2" {
		t.Errorf("hash-zipmap.rdb: %q", got)
	}
	zl := read("zset-ziplist.rdb")
	if len(zl) != 1 || zl[0].kind != "ziplist" {
		t.Fatalf("zset-ziplist.rdb: found %+v", zl)
	}
	var got []string
	for _, e := range collectZiplist(t, zl[0].blob) {
		got = append(got, string(entryBytes(e)))
	}
	if s := strings.Join(got, "|"); s != "one|1|two|2" {
		t.Errorf("zset-ziplist.rdb: %q", s)
	}
}
