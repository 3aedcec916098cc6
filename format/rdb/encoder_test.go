package rdb

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func noTTL(db uint64, key string) *Entry {
	return &Entry{DB: db, Key: []byte(key), ExpireAtMs: NoExpire, LRUIdleSec: -1, LFUFreq: -1}
}

// Worked examples of rdb.md §14.
func TestEncoderWorkedExamples(t *testing.T) {
	tests := []struct {
		name string
		opt  *EncodeOptions
		recs func(e *Encoder) error
		want string
	}{
		{"empty-12", nil, func(*Encoder) error { return nil },
			"524544495330303132 FF 10d0db4120bef4d3"},
		{"empty-11", &EncodeOptions{Version: 11}, func(*Encoder) error { return nil },
			"524544495330303131 FF c0228a8d74389762"},
		{"foo-bar", nil, func(e *Encoder) error {
			if err := e.Write(&SelectDB{DB: 0}); err != nil {
				return err
			}
			if err := e.Write(&ResizeDB{DBSize: 1}); err != nil {
				return err
			}
			return e.WriteEntry(noTTL(0, "foo"), &String{Data: []byte("bar")})
		}, "524544495330303132 FE00 FB0100 00 03666F6F 03626172 FF 92f0c8e4b38a8ad4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			e := NewEncoder(&buf, tc.opt)
			if err := tc.recs(e); err != nil {
				t.Fatal(err)
			}
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, tc.want); !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("got  %x\nwant %x", buf.Bytes(), want)
			}
		})
	}
}

func TestAppendRDBString(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"300", "C12C01"},
		{"-1", "C0FF"},
		{"5", "C005"},
		{"12345", "C13930"},
		{"-2147483648", "C200000080"},
		{"2147483648", "0A" + hex.EncodeToString([]byte("2147483648"))},
		{"-0", "022D30"},
		{"007", "03303037"},
		{"+5", "022B35"},
		{" 5", "022035"},
		{"", "00"},
		{strings.Repeat("a", 20), "14" + strings.Repeat("61", 20)},
		{strings.Repeat("a", 30), "C3091E016161E01100016161"},
		{strings.Repeat("abcd", 10), "C30C28046162636461E01803016364"},
	}
	for _, tc := range tests {
		got := appendRDBString(nil, []byte(tc.in), true)
		if want := unhex(t, tc.want); !bytes.Equal(got, want) {
			t.Errorf("%q: got %x want %x", tc.in, got, want)
		}
	}
	if got := appendRDBString(nil, bytes.Repeat([]byte("a"), 30), false); got[0] != 30 {
		t.Errorf("NoCompress: got %x", got)
	}
}

func TestAppendLen(t *testing.T) {
	for _, tc := range []struct {
		n    uint64
		want string
	}{{0, "00"}, {63, "3F"}, {64, "4040"}, {300, "412C"}, {16383, "7FFF"}, {16384, "8000004000"},
		{70000, "8000011170"}, {1 << 32, "810000000100000000"}} {
		if got := appendLen(nil, tc.n); !bytes.Equal(got, unhex(t, tc.want)) {
			t.Errorf("%d: got %x want %s", tc.n, got, tc.want)
		}
	}
}

func TestEncoderExpireIdleFreq(t *testing.T) {
	var buf bytes.Buffer
	e := NewEncoder(&buf, nil)
	ent := noTTL(0, "k")
	ent.ExpireAtMs = 1700000000000
	ent.LRUIdleSec = 300
	ent.LFUFreq = 7
	if err := e.WriteEntry(ent, &String{Data: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	want := unhex(t, "524544495330303132 FE00 FC0068E5CF8B010000 F8412C F907 00 016B 0176 FF")
	if got := buf.Bytes()[:buf.Len()-8]; !bytes.Equal(got, want) {
		t.Errorf("got  %x\nwant %x", got, want)
	}
}

func TestEncoderCloseTwiceAndWriteAfterClose(t *testing.T) {
	var buf bytes.Buffer
	e := NewEncoder(&buf, nil)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	n := buf.Len()
	if err := e.Close(); err != nil || buf.Len() != n {
		t.Fatalf("second Close: err %v, wrote %d bytes", err, buf.Len()-n)
	}
	if err := e.Write(&SelectDB{}); !errors.Is(err, ErrWriteAfterClose) {
		t.Errorf("Write after Close: %v", err)
	}
	if err := e.WriteEntry(noTTL(0, "k"), &String{}); !errors.Is(err, ErrWriteAfterClose) {
		t.Errorf("WriteEntry after Close: %v", err)
	}
}

func TestEncoderBadVersion(t *testing.T) {
	for _, o := range []EncodeOptions{{Version: 5}, {Version: 14}, {Version: 81, Flavour: FlavourValkey}, {Version: 12, Flavour: FlavourValkey}} {
		e := NewEncoder(io.Discard, &o)
		if err := e.Close(); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%+v: Close = %v, want ErrUnsupported", o, err)
		}
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n <= 0 {
		return 0, errors.New("disk full")
	}
	w.n--
	return len(p), nil
}

func TestEncoderWriteErrorSticky(t *testing.T) {
	e := NewEncoder(&failWriter{}, nil)
	err := e.Close()
	if err == nil {
		t.Fatal("want write error")
	}
	if err2 := e.Write(&SelectDB{}); err2 == nil {
		t.Error("error not sticky")
	}
}

func TestEncoderGating(t *testing.T) {
	hfe := &Hash{Fields: []HashField{{Field: []byte("a"), Value: []byte("1"), ExpireAtMs: 4102444800123}, {Field: []byte("b"), Value: []byte("2")}}}
	stream := &Stream{Entries: []StreamEntry{{ID: StreamID{1, 1}, Fields: []StreamField{{[]byte("f"), []byte("v")}}}}, Length: 1, LastID: StreamID{1, 1}}
	tests := []struct {
		name    string
		version int
		write   func(e *Encoder) error
	}{
		{"function-v9", 9, func(e *Encoder) error { return e.Write(&Function{Code: []byte("#!lua name=x\n")}) }},
		{"moduleaux-v8", 8, func(e *Encoder) error { return e.Write(&ModuleAux{ModuleID: 1, When: 2, Raw: []byte{0}}) }},
		{"hfe-v11", 11, func(e *Encoder) error { return e.WriteEntry(noTTL(0, "h"), hfe) }},
		{"stream-v8", 8, func(e *Encoder) error { return e.WriteEntry(noTTL(0, "s"), stream) }},
		{"module-v7", 7, func(e *Encoder) error { return e.WriteEntry(noTTL(0, "m"), &Module{ModuleID: 1, Raw: []byte{0}}) }},
		{"keymeta-v12", 12, func(e *Encoder) error {
			ent := noTTL(0, "k")
			ent.KeyMeta = []KeyMeta{{ClassSpec: 0x28C4F501, Raw: []byte{0}}}
			return e.WriteEntry(ent, &String{Data: []byte("v")})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := tc.write(NewEncoder(&buf, &EncodeOptions{Version: tc.version}))
			if !errors.Is(err, ErrUnsupported) {
				t.Fatalf("strict: %v, want ErrUnsupported", err)
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("not a *FormatError: %T", err)
			}
			var losses []string
			e := NewEncoder(&buf, &EncodeOptions{Version: tc.version, Lossy: true,
				OnLossy: func(key []byte, what string) { losses = append(losses, string(key)+": "+what) }})
			if err := tc.write(e); err != nil {
				t.Fatalf("lossy: %v", err)
			}
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			if len(losses) != 1 {
				t.Errorf("losses %q, want one", losses)
			}
		})
	}
}

func TestChooseEncoding(t *testing.T) {
	strs := func(n, l int) [][]byte {
		var out [][]byte
		for i := range n {
			out = append(out, []byte(strings.Repeat("x", l-1)+string(rune('a'+i%26))))
		}
		return out
	}
	ints := func(n int) [][]byte {
		var out [][]byte
		for i := range n {
			out = append(out, strconv.AppendInt(nil, int64(i), 10))
		}
		return out
	}
	smallHash := &Hash{Fields: []HashField{{Field: []byte("f"), Value: []byte("v")}}}
	ttlHash := &Hash{Fields: []HashField{{Field: []byte("f"), Value: []byte("v"), ExpireAtMs: 5}}}
	bigTTLHash := &Hash{}
	for i := range 200 {
		bigTTLHash.Fields = append(bigTTLHash.Fields, HashField{Field: strconv.AppendInt(nil, int64(i), 10), Value: []byte("v"), ExpireAtMs: int64(i)})
	}
	smallZ := &ZSet{Members: []ZMember{{Member: []byte("a"), Score: 1}}}
	bigZ := &ZSet{Members: []ZMember{{Member: bytes.Repeat([]byte("a"), 65), Score: 1}}}
	tests := []struct {
		v    Value
		ver  int
		fl   Flavour
		hint Encoding
		want Type
	}{
		{&String{}, 12, 0, EncRaw, TypeString},
		{&List{}, 6, 0, EncRaw, TypeListZiplist},
		{&List{Elems: strs(1, 65)}, 6, 0, EncRaw, TypeList},
		{&List{}, 9, 0, EncRaw, TypeListQuicklist},
		{&List{}, 10, 0, EncRaw, TypeListQuicklist2},
		{&Set{Members: ints(512)}, 12, 0, EncRaw, TypeSetIntset},
		{&Set{Members: ints(513)}, 12, 0, EncRaw, TypeSet},
		{&Set{Members: strs(128, 64)}, 11, 0, EncRaw, TypeSetListpack},
		{&Set{Members: strs(128, 64)}, 10, 0, EncRaw, TypeSet},
		{&Set{Members: strs(129, 2)}, 12, 0, EncRaw, TypeSet},
		{&Set{Members: strs(3, 65)}, 12, 0, EncRaw, TypeSet},
		{&Set{Members: strs(3, 2)}, 12, 0, EncHashtable, TypeSet},
		{&Set{Members: ints(3)}, 10, 0, EncListpack, TypeSetIntset},
		{&Set{Members: ints(600)}, 12, 0, EncIntset, TypeSetIntset},
		{smallZ, 12, 0, EncRaw, TypeZSetListpack},
		{smallZ, 9, 0, EncRaw, TypeZSetZiplist},
		{smallZ, 12, 0, EncSkiplist, TypeZSet2},
		{bigZ, 12, 0, EncRaw, TypeZSet2},
		{bigZ, 7, 0, EncRaw, TypeZSet},
		{smallHash, 12, 0, EncRaw, TypeHashListpack},
		{smallHash, 9, 0, EncRaw, TypeHashZiplist},
		{smallHash, 12, 0, EncHashtable, TypeHash},
		{smallHash, 12, 0, EncListpackEx, TypeHashListpackEx},
		{ttlHash, 12, 0, EncRaw, TypeHashListpackEx},
		{ttlHash, 12, 0, EncHashtable, TypeHashMetadata},
		{bigTTLHash, 13, 0, EncRaw, TypeHashMetadata},
		{ttlHash, 80, FlavourValkey, EncRaw, TypeValkeyHash2},
		{smallHash, 80, FlavourValkey, EncRaw, TypeHashListpack},
		{&Stream{}, 9, 0, EncRaw, TypeStreamListpacks},
		{&Stream{}, 10, 0, EncRaw, TypeStreamListpacks2},
		{&Stream{}, 11, 0, EncRaw, TypeStreamListpacks3},
		{&Stream{}, 13, 0, EncRaw, TypeStreamListpacks3},
		{&Stream{IDMP: []byte{1, 1, 0, 0, 0}}, 13, 0, EncRaw, TypeStreamListpacks4},
		{&Stream{}, 80, FlavourValkey, EncRaw, TypeStreamListpacks3},
		{&Module{}, 8, 0, EncRaw, TypeModule2},
	}
	for _, tc := range tests {
		o := (&EncodeOptions{Version: tc.ver, Flavour: tc.fl, KeepEncoding: true}).resolved()
		got, err := chooseEncoding(tc.v, tc.hint, &o)
		if err != nil || got != tc.want {
			t.Errorf("%T v%d hint %v: got %d, %v; want %d", tc.v, tc.ver, tc.hint, got, err, tc.want)
		}
	}
}

// A listpack zset is sorted by (score, member); integral scores are
// integer entries, others their shortest text (7.2+) or %.17g (7.0).
func TestZSetListpackLayout(t *testing.T) {
	z := &ZSet{Members: []ZMember{
		{Member: []byte("c"), Score: 0.1},
		{Member: []byte("b"), Score: 2},
		{Member: []byte("a"), Score: 2},
		{Member: []byte("d"), Score: math.Inf(-1)},
	}}
	for _, tc := range []struct {
		ver  int
		want []blobEntry
	}{
		{12, []blobEntry{{Str: []byte("d")}, {Str: []byte("-inf")}, {Str: []byte("c")}, {Str: []byte("0.1")},
			{Str: []byte("a")}, {Int: 2, IsInt: true}, {Str: []byte("b")}, {Int: 2, IsInt: true}}},
		{10, []blobEntry{{Str: []byte("d")}, {Str: []byte("-inf")}, {Str: []byte("c")}, {Str: []byte("0.10000000000000001")},
			{Str: []byte("a")}, {Int: 2, IsInt: true}, {Str: []byte("b")}, {Int: 2, IsInt: true}}},
	} {
		e := NewEncoder(io.Discard, &EncodeOptions{Version: tc.ver})
		got := e.appendZSet(nil, z, TypeZSetListpack)
		want := e.appendString(nil, appendListpack(nil, tc.want))
		if !bytes.Equal(got, want) {
			t.Errorf("v%d:\n got %x\nwant %x", tc.ver, got, want)
		}
	}
}

// Quicklist nodes split at 8 KiB; big elements get PLAIN nodes on 7.2+.
func TestQuicklist2Nodes(t *testing.T) {
	var elems [][]byte
	for range 1000 {
		elems = append(elems, bytes.Repeat([]byte("x"), 50))
	}
	elems = append(elems, bytes.Repeat([]byte("y"), 9000), []byte("tail"))
	for _, ver := range []int{10, 12} {
		e := NewEncoder(io.Discard, &EncodeOptions{Version: ver})
		nodes := e.quicklist2Nodes(elems)
		total := 0
		for i, n := range nodes {
			total += len(n.elems)
			if !n.plain && len(n.elems) > 1 {
				if sz := len(appendListpack(nil, strEntries(n.elems))); sz > 8192 {
					t.Errorf("v%d node %d: %d bytes", ver, i, sz)
				}
			}
		}
		if total != len(elems) {
			t.Fatalf("v%d: %d elements in nodes, want %d", ver, total, len(elems))
		}
		plain := nodes[len(nodes)-2].plain
		if plain != (ver >= 11) {
			t.Errorf("v%d: 9000-byte element plain=%v", ver, plain)
		}
	}
}

// dumpTruthKey is one key record of a corpus truth.json.
type dumpTruthKey struct {
	Key      json.RawMessage `json:"key"`
	Type     string          `json:"type"`
	Encoding string          `json:"encoding"`
	Dump     string          `json:"dump"`
}

type dumpTruthFile struct {
	DBs map[string][]dumpTruthKey `json:"dbs"`
}

// jsonBytes decodes a truth.json byte string: a JSON string or {"base64": ...}.
func jsonBytes(t testing.TB, raw json.RawMessage) []byte {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []byte(s)
	}
	var b struct {
		Base64 string `json:"base64"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatalf("bad byte string %s", raw)
	}
	out, err := base64.StdEncoding.DecodeString(b.Base64)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type dumpCase struct {
	name    string // file:db:key
	typ     string // TYPE / OBJECT ENCODING after load
	version int
	value   Value
	entry   *Entry
	dump    []byte
	ctimeMs int64 // the file's ctime AUX: fields expired before it are gone from dump
}

// corpusDumps pairs every truth.json key that has a DUMP payload with its
// value decoded from the dump.rdb next to it.
func corpusDumps(t testing.TB) []dumpCase {
	t.Helper()
	var cases []dumpCase
	truths, _ := filepath.Glob(filepath.Join(corpusDir, "*", "*", "truth.json"))
	for _, tp := range truths {
		data, err := os.ReadFile(filepath.Join(filepath.Dir(tp), "dump.rdb"))
		if err != nil {
			continue
		}
		f, err := decodeAll(data, nil)
		if err != nil {
			t.Fatalf("%s: %v", tp, err)
		}
		vals := map[string]decoded{}
		var ctimeMs int64
		for _, r := range f.recs {
			switch x := r.rec.(type) {
			case *Entry:
				vals[fmt.Sprintf("%d:%s", x.DB, x.Key)] = r
			case *Aux:
				if string(x.Key) == "ctime" {
					s, _ := strconv.ParseInt(string(x.Value), 10, 64)
					ctimeMs = s * 1000
				}
			}
		}
		raw, err := os.ReadFile(tp)
		if err != nil {
			t.Fatal(err)
		}
		var tf dumpTruthFile
		if err := json.Unmarshal(raw, &tf); err != nil {
			t.Fatalf("%s: %v", tp, err)
		}
		rel, _ := filepath.Rel(corpusDir, filepath.Dir(tp))
		for db, keys := range tf.DBs {
			for _, k := range keys {
				if k.Dump == "" {
					continue
				}
				key := jsonBytes(t, k.Key)
				r, ok := vals[db+":"+string(key)]
				if !ok {
					t.Errorf("%s: key %q of truth.json not in dump.rdb", rel, key)
					continue
				}
				payload, err := base64.StdEncoding.DecodeString(k.Dump)
				if err != nil {
					t.Fatal(err)
				}
				cases = append(cases, dumpCase{name: fmt.Sprintf("%s:%s:%q", rel, db, key), typ: k.Type + "/" + k.Encoding,
					version: f.version, value: r.val, entry: r.rec.(*Entry), dump: payload, ctimeMs: ctimeMs})
			}
		}
	}
	slices.SortFunc(cases, func(a, b dumpCase) int { return strings.Compare(a.name, b.name) })
	return cases
}

// TestEncodeDumpCorpus compares EncodeDump with the DUMP payloads real
// servers produced. Hashtable sets/hashes and quicklists built by batched
// pushes can legitimately differ in order or node split; those must still
// decode to the same logical value. Byte-exactness is required for the
// families whose layout is fully determined (strings, intsets, listpack
// and ziplist hashes/zsets/sets, small lists, streams without deletions).
func TestEncodeDumpCorpus(t *testing.T) {
	cases := corpusDumps(t)
	if len(cases) == 0 {
		t.Fatal("no DUMP payloads in the corpus")
	}
	type tally struct{ n, exact int }
	per := map[string]*tally{}
	exact := 0
	var mismatched []string
	for _, c := range cases {
		got, err := EncodeDumpWith(c.value, c.entry.Encoding, &EncodeOptions{Version: c.version})
		if err != nil {
			t.Errorf("%s: EncodeDump: %v", c.name, err)
			continue
		}
		ty := per[c.typ]
		if ty == nil {
			ty = &tally{}
			per[c.typ] = ty
		}
		ty.n++
		if bytes.Equal(got, c.dump) {
			exact++
			ty.exact++
		} else if mustBeExact(c.typ) {
			t.Errorf("%s (%s): not byte-exact:\n got %.200x\nwant %.200x", c.name, c.typ, got, c.dump)
		} else {
			mismatched = append(mismatched, c.name+" "+c.typ)
		}
		// Whatever the bytes, the payload must decode to the same value.
		v, err := DecodeDump(got)
		if err != nil {
			t.Errorf("%s: DecodeDump(EncodeDump): %v", c.name, err)
			continue
		}
		caps := targetCaps{version: c.version}
		if w, g := canonValue(c.value, caps), canonValue(v, caps); w != g {
			t.Errorf("%s: DUMP round trip differs:\n want %.300s\n  got %.300s", c.name, w, g)
		}
	}
	types := slices.Sorted(maps.Keys(per))
	for _, ty := range types {
		t.Logf("%-22s %3d/%3d byte-exact", ty, per[ty].exact, per[ty].n)
	}
	t.Logf("DUMP byte-exact: %d/%d (%.1f%%)", exact, len(cases), 100*float64(exact)/float64(len(cases)))
	for _, m := range mismatched {
		t.Logf("differs: %s", m)
	}
}

// mustBeExact reports whether Redis' layout for a TYPE/encoding pair is
// fully determined by the logical value (no hashtable order, no node split
// history, no deleted stream entries, no lazily expired hash fields).
func mustBeExact(typ string) bool {
	_, enc, _ := strings.Cut(typ, "/")
	switch enc {
	case "embstr", "int", "raw", "intset", "listpack", "ziplist", "skiplist":
		return true
	}
	return false
}

// TestDecodeDumpCorpus decodes every real DUMP payload and compares it
// with the value read from the RDB file.
func TestDecodeDumpCorpus(t *testing.T) {
	for _, c := range corpusDumps(t) {
		v, err := DecodeDump(c.dump)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		caps := targetCaps{version: c.version}
		want := c.value
		if h, ok := want.(*Hash); ok {
			// The server reclaimed fields that had expired when it saved.
			live := &Hash{}
			for _, f := range h.Fields {
				if f.ExpireAtMs == 0 || f.ExpireAtMs > c.ctimeMs+60_000 {
					live.Fields = append(live.Fields, f)
				}
			}
			want = live
		}
		if w, g := canonValue(want, caps), canonValue(v, caps); w != g {
			t.Errorf("%s: differs:\n want %.300s\n  got %.300s", c.name, w, g)
		}
	}
}

func TestDecodeDumpErrors(t *testing.T) {
	good, err := EncodeDump(&String{Data: []byte("hello")}, 12)
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, "00 0568656C6C6F 0C00"); !bytes.Equal(good[:len(good)-8], want) {
		t.Fatalf("payload %x", good)
	}
	flip := func(i int) []byte {
		b := slices.Clone(good)
		b[i] ^= 1
		return b
	}
	badVer := slices.Clone(good)
	binary.LittleEndian.PutUint16(badVer[len(badVer)-10:], 14)
	binary.LittleEndian.PutUint64(badVer[len(badVer)-8:], CRC64(0, badVer[:len(badVer)-8]))
	trailing := append([]byte{0, 1, 'a', 'x'}, 12, 0)
	trailing = binary.LittleEndian.AppendUint64(trailing, CRC64(0, trailing))
	zeroCRC := slices.Clone(good)
	binary.LittleEndian.PutUint64(zeroCRC[len(zeroCRC)-8:], 0)
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"short", good[:5], ErrCorrupt},
		{"crc", flip(len(good) - 1), ErrChecksum},
		{"zero-crc-still-checked", zeroCRC, ErrChecksum},
		{"value-bit", flip(2), ErrChecksum},
		{"version", badVer, ErrUnsupported},
		{"trailing", trailing, ErrCorrupt},
	} {
		if _, err := DecodeDump(tc.in); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	v, err := DecodeDump(good)
	if s, ok := v.(*String); err != nil || !ok || string(s.Data) != "hello" {
		t.Errorf("DecodeDump(good) = %v, %v", v, err)
	}
}

// The Valkey 9.0.1 file of rdb-next.md §2.7, rebuilt byte for byte.
func TestEncoderValkey80WorkedExample(t *testing.T) {
	var buf bytes.Buffer
	e := NewEncoder(&buf, &EncodeOptions{Version: 80, Flavour: FlavourValkey})
	for _, kv := range [][2]string{{"valkey-ver", "9.0.1"}, {"redis-bits", "64"}, {"ctime", "1769706047"}, {"used-mem", "1134104"}, {"aof-base", "0"}} {
		if err := e.Write(&Aux{Key: []byte(kv[0]), Value: []byte(kv[1])}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Write(&SelectDB{DB: 0}); err != nil {
		t.Fatal(err)
	}
	if err := e.Write(&ResizeDB{DBSize: 1}); err != nil {
		t.Fatal(err)
	}
	h := &Hash{Fields: []HashField{
		{Field: []byte("F1"), Value: []byte("V1"), ExpireAtMs: 2715785640000},
		{Field: []byte("F2"), Value: []byte("V2"), ExpireAtMs: 2400425640000},
		{Field: []byte("F3"), Value: []byte("V3")},
	}}
	if err := e.WriteEntry(noTTL(0, "hash2-hfe"), h); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	want := unhex(t, "56414C4B4559303830"+
		"FA0A"+hex.EncodeToString([]byte("valkey-ver"))+"05"+hex.EncodeToString([]byte("9.0.1"))+
		"FA0A"+hex.EncodeToString([]byte("redis-bits"))+"C040"+
		"FA05"+hex.EncodeToString([]byte("ctime"))+"C23F927B69"+
		"FA08"+hex.EncodeToString([]byte("used-mem"))+"C2184E1100"+
		"FA08"+hex.EncodeToString([]byte("aof-base"))+"C000"+
		"FE00 FB0100 16 09"+hex.EncodeToString([]byte("hash2-hfe"))+"03"+
		"024631 025631 4038705178020000"+
		"024632 025632 408084E42E020000"+
		"024633 025633 FFFFFFFFFFFFFFFF"+
		"FF 9C58557263088 3BD")
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("got  %x\nwant %x", buf.Bytes(), want)
	}
	if len(want) != 148 {
		t.Errorf("example is %d bytes, want 148", len(want))
	}
}

// Redis 13: KEY_META before the type byte and stream type 26 with its IDMP
// tail survive a round trip; both need version 13.
func TestEncoderRDB13KeyMetaAndIDMP(t *testing.T) {
	idmp := appendLen(nil, 100)  // duration
	idmp = appendLen(idmp, 1000) // max entries
	idmp = appendLen(idmp, 1)    // producers
	idmp = appendRDBString(idmp, []byte("p1"), false)
	idmp = appendLen(idmp, 1) // entries
	idmp = appendRDBString(idmp, []byte("iid-1"), false)
	idmp = appendLen(appendLen(idmp, 5), 1) // stream ID 5-1
	idmp = appendLen(appendLen(idmp, 1), 0) // iids added, duplicates
	s := &Stream{Entries: []StreamEntry{{ID: StreamID{5, 1}, Fields: []StreamField{{[]byte("f"), []byte("v")}}}},
		Length: 1, LastID: StreamID{5, 1}, FirstID: StreamID{5, 1}, EntriesAdded: 1, HasV2Meta: true, IDMP: idmp}
	// name KMT1, version 0, ALLOW_IGNORE; value: UINT 7, EOF.
	meta := []KeyMeta{{ClassSpec: 0x28C4F501, Raw: []byte{2, 7, 0}}}
	var buf bytes.Buffer
	e := NewEncoder(&buf, &EncodeOptions{Version: 13})
	ent := noTTL(0, "k")
	ent.KeyMeta = meta
	if err := e.WriteEntry(ent, &String{Data: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	if err := e.WriteEntry(noTTL(0, "s"), s); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), unhex(t, "F3 01 01F5C428 020700 00 016B")) {
		t.Errorf("KEY_META not before the string key: %x", buf.Bytes())
	}
	f, err := decodeAll(buf.Bytes(), &DecodeOptions{Deep: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.recs) != 3 { // SELECTDB + 2 keys
		t.Fatalf("%d records", len(f.recs))
	}
	if got := f.recs[1].rec.(*Entry); len(got.KeyMeta) != 1 || got.KeyMeta[0].ClassSpec != meta[0].ClassSpec || !bytes.Equal(got.KeyMeta[0].Raw, meta[0].Raw) {
		t.Errorf("key meta %+v", got.KeyMeta)
	}
	st := f.recs[2]
	if st.rec.(*Entry).Type != TypeStreamListpacks4 {
		t.Errorf("stream type %d, want 26", st.rec.(*Entry).Type)
	}
	caps := targetCaps{version: 13}
	if w, g := canonValue(s, caps), canonValue(st.val, caps); w != g {
		t.Errorf("stream differs:\n want %s\n  got %s", w, g)
	}
}

func TestEncoderSlotInfo(t *testing.T) {
	for _, tc := range []struct {
		opt  EncodeOptions
		want string
	}{
		{EncodeOptions{Version: 12}, "F4 05 0A 01"},
		{EncodeOptions{Version: 11}, ""},
		{EncodeOptions{Version: 80, Flavour: FlavourValkey}, "FA 09" + hex.EncodeToString([]byte("slot-info")) + "06" + hex.EncodeToString([]byte("5,10,1"))},
	} {
		var buf bytes.Buffer
		e := NewEncoder(&buf, &tc.opt)
		if err := e.Write(&SlotInfo{Slot: 5, SlotSize: 10, ExpiresSize: 1}); err != nil {
			t.Fatal(err)
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		if got := buf.Bytes()[9 : buf.Len()-9]; !bytes.Equal(got, unhex(t, tc.want)) {
			t.Errorf("v%d: got %x want %s", tc.opt.Version, got, tc.want)
		}
	}
}

func TestThresholdsPartial(t *testing.T) {
	o := (&EncodeOptions{Thresholds: Thresholds{HashMaxListpackEntries: 1}}).resolved()
	if o.Thresholds.SetMaxIntsetEntries != 512 || o.Thresholds.HashMaxListpackEntries != 1 {
		t.Errorf("thresholds %+v", o.Thresholds)
	}
	h := &Hash{Fields: []HashField{{Field: []byte("a")}, {Field: []byte("b")}}}
	if ty, _ := chooseEncoding(h, EncRaw, &o); ty != TypeHash {
		t.Errorf("2 fields with hash-max-listpack-entries 1: type %d", ty)
	}
}

// TestEncoderFailedEntryKeepsDB: an entry refused after its SELECTDB was
// started is taken back whole, and the next entry of that db selects it
// again instead of landing in the previous db.
func TestEncoderFailedEntryKeepsDB(t *testing.T) {
	var buf bytes.Buffer
	e := NewEncoder(&buf, &EncodeOptions{Version: 12})
	if err := e.WriteEntry(noTTL(0, "a"), &String{Data: []byte("1")}); err != nil {
		t.Fatal(err)
	}
	bad := noTTL(3, "meta")
	bad.KeyMeta = []KeyMeta{{ClassSpec: 0x28C4F501, Raw: []byte{2, 7, 0}}} // version 12 cannot hold it
	if err := e.WriteEntry(bad, &String{Data: []byte("x")}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("key metadata in version 12: %v, want ErrUnsupported", err)
	}
	if err := e.WriteEntry(noTTL(3, "b"), &String{Data: []byte("2")}); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := decodeAll(buf.Bytes(), &DecodeOptions{Deep: true})
	if err != nil {
		t.Fatal(err)
	}
	dbs := map[string]uint64{}
	for _, r := range f.recs {
		if ent, ok := r.rec.(*Entry); ok {
			dbs[string(ent.Key)] = ent.DB
		}
	}
	if len(dbs) != 2 || dbs["a"] != 0 || dbs["b"] != 3 {
		t.Errorf("keys and dbs %v, want a in 0, b in 3", dbs)
	}
}
