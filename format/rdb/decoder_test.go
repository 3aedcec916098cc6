package rdb

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// rb builds RDB bytes by hand.
type rb struct {
	b   []byte
	ver int
}

func newRB(ver int) *rb { return &rb{b: fmt.Appendf(nil, "REDIS%04d", ver), ver: ver} }

func (r *rb) raw(p ...byte) *rb { r.b = append(r.b, p...); return r }

func (r *rb) len(n uint64) *rb {
	switch {
	case n < 1<<6:
		return r.raw(byte(n))
	case n < 1<<14:
		return r.raw(byte(n>>8)|0x40, byte(n))
	case n <= math.MaxUint32:
		return r.raw(0x80).raw(binary.BigEndian.AppendUint32(nil, uint32(n))...)
	}
	return r.raw(0x81).raw(binary.BigEndian.AppendUint64(nil, n)...)
}

func (r *rb) str(s string) *rb { return r.len(uint64(len(s))).raw([]byte(s)...) }

func (r *rb) u64(v uint64) *rb { return r.raw(binary.LittleEndian.AppendUint64(nil, v)...) }

func (r *rb) blob(p []byte) *rb { return r.len(uint64(len(p))).raw(p...) }

// end appends EOF and, from version 5 on, the CRC.
func (r *rb) end() []byte {
	r.raw(OpEOF)
	if r.ver >= 5 {
		r.u64(CRC64(0, r.b))
	}
	return r.b
}

func lp(elems ...any) []byte {
	var ents []blobEntry
	for _, e := range elems {
		switch e := e.(type) {
		case int:
			ents = append(ents, blobEntry{Int: int64(e), IsInt: true})
		case string:
			ents = append(ents, blobEntry{Str: []byte(e)})
		}
	}
	return appendListpack(nil, ents)
}

type decoded1 struct {
	recs []Record
	ents []*Entry
	vals []Value
}

func decodeBytes(data []byte, opt *DecodeOptions) (*decoded1, error) {
	d := NewDecoder(bytes.NewReader(data), opt)
	out := &decoded1{}
	for {
		rec, err := d.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out.recs = append(out.recs, rec)
		if e, ok := rec.(*Entry); ok {
			v, err := d.Value()
			if err != nil {
				return out, err
			}
			out.ents = append(out.ents, e)
			out.vals = append(out.vals, v)
		}
	}
}

func show(v Value) string {
	switch v := v.(type) {
	case *String:
		return fmt.Sprintf("%q", v.Data)
	case *List:
		return fmt.Sprintf("%q", v.Elems)
	case *Set:
		return fmt.Sprintf("%q", v.Members)
	case *ZSet:
		s := ""
		for _, m := range v.Members {
			s += fmt.Sprintf("%s=%v ", m.Member, m.Score)
		}
		return s
	case *Hash:
		s := ""
		for _, f := range v.Fields {
			s += fmt.Sprintf("%s=%s@%d ", f.Field, f.Value, f.ExpireAtMs)
		}
		return s
	case *Module:
		return fmt.Sprintf("%s/%d %x", v.Name, v.EncVer, v.Raw)
	}
	return fmt.Sprintf("%#v", v)
}

// moduleID encodes a 9-character module type name and version.
func moduleID(name string, ver int) uint64 {
	var id uint64
	for i := range 9 {
		id = id<<6 | uint64(strings.IndexByte(moduleCharset, name[i]))
	}
	return id<<10 | uint64(ver)
}

func TestDecoderValues(t *testing.T) {
	aaaa := []byte{0xC3, 0x09, 0x1E, 0x01, 0x61, 0x61, 0xE0, 0x11, 0x00, 0x01, 0x61, 0x61}
	tests := []struct {
		name string
		data []byte
		deep bool
		want []string // show() of each value
		ent  func(t *testing.T, e []*Entry)
	}{
		{"int and lzf strings", newRB(9).raw(0).str("a").raw(0xC0, 0xFB).
			raw(0).str("b").raw(0xC1, 0x39, 0x30).raw(0).str("c").raw(0xC2, 0, 0, 0, 0x80).
			raw(0).str("d").raw(aaaa...).raw(0).raw(0xC0, 5).str("v").end(),
			false, []string{`"-5"`, `"12345"`, `"-2147483648"`, `"` + strings.Repeat("a", 30) + `"`, `"v"`},
			func(t *testing.T, e []*Entry) {
				for i, want := range []Encoding{EncInt, EncInt, EncInt, EncLZF, EncRaw} {
					if e[i].Encoding != want {
						t.Errorf("entry %d encoding %v, want %v", i, e[i].Encoding, want)
					}
				}
				if string(e[4].Key) != "5" {
					t.Errorf("int-encoded key %q", e[4].Key)
				}
			}},
		{"expire opcodes fold into the entry", newRB(9).raw(OpExpireTime, 0x10, 0, 0, 0).raw(0).str("s").str("v").
			raw(OpExpireTimeMs).u64(1700000000000).raw(OpIdle).len(300).raw(OpFreq, 7).raw(0).str("t").str("w").
			raw(0).str("u").str("x").end(),
			false, []string{`"v"`, `"w"`, `"x"`},
			func(t *testing.T, e []*Entry) {
				if e[0].ExpireAtMs != 16000 || e[1].ExpireAtMs != 1700000000000 || e[2].ExpireAtMs != NoExpire {
					t.Errorf("expires %d %d %d", e[0].ExpireAtMs, e[1].ExpireAtMs, e[2].ExpireAtMs)
				}
				if e[1].LRUIdleSec != 300 || e[1].LFUFreq != 7 || e[2].LRUIdleSec != -1 || e[2].LFUFreq != -1 {
					t.Errorf("idle/freq %+v %+v", e[1], e[2])
				}
				if e[1].Offset != 9+5+5 {
					t.Errorf("entry offset %d, want the first prefix opcode", e[1].Offset)
				}
			}},
		{"expire carries across SELECTDB", newRB(9).raw(OpExpireTimeMs).u64(5).raw(OpSelectDB).len(3).
			raw(0).str("k").str("v").end(), false, []string{`"v"`},
			func(t *testing.T, e []*Entry) {
				if e[0].DB != 3 || e[0].ExpireAtMs != 5 {
					t.Errorf("entry %+v", e[0])
				}
			}},
		{"version 4 has no checksum", newRB(4).raw(0).str("k").str("v").end(), false, []string{`"v"`}, nil},
		{"linked list, set, hash", newRB(6).raw(1).str("l").len(2).str("a").str("b").
			raw(2).str("s").len(1).str("m").raw(4).str("h").len(1).str("f").str("v").end(),
			true, []string{`["a" "b"]`, `["m"]`, "f=v@0 "}, nil},
		{"zset v1 special scores", newRB(6).raw(3).str("z").len(4).str("a").raw(253).str("b").raw(254).
			str("c").raw(255).str("d").raw(3).raw([]byte("1.5")...).end(),
			false, []string{"a=NaN b=+Inf c=-Inf d=1.5 "}, nil},
		{"zset2 binary scores", newRB(9).raw(5).str("z").len(1).str("a").u64(math.Float64bits(-2.5)).end(),
			true, []string{"a=-2.5 "}, nil},
		{"listpack zset scores", newRB(10).raw(17).str("z").blob(lp("a", "-inf", "b", 3, "c", "inf")).end(),
			true, []string{"a=-Inf b=3 c=+Inf "}, nil},
		{"listpack set and hash", newRB(11).raw(20).str("s").blob(lp("x", -7)).
			raw(16).str("h").blob(lp("f", 12, "g", "v")).end(),
			true, []string{`["x" "-7"]`, "f=12@0 g=v@0 "}, nil},
		{"quicklist2 plain and packed, empty node dropped", newRB(10).raw(18).str("l").len(3).
			len(1).str("plain").len(2).blob(lp()).len(2).blob(lp("p", 1)).end(),
			true, []string{`["plain" "p" "1"]`}, nil},
		{"hash metadata type 24 relative TTLs", newRB(12).raw(24).str("h").u64(1000).len(2).
			len(0).str("a").str("1").len(6).str("b").str("2").end(),
			true, []string{"a=1@0 b=2@1005 "}, nil},
		{"hash metadata pre-GA type 22 absolute TTLs", newRB(12).raw(22).str("h").len(1).
			len(77).str("a").str("1").end(), true, []string{"a=1@77 "}, nil},
		{"listpackex type 25", newRB(12).raw(25).str("h").u64(5).blob(lp("a", "1", 5, "b", "2", 0)).end(),
			true, []string{"a=1@5 b=2@0 "}, nil},
		{"module value", newRB(9).raw(7).str("m").len(moduleID("test___dt", 1)).
			len(2).len(42).len(5).str("hi").len(3).raw(1, 2, 3, 4).len(4).u64(0).len(0).end(),
			false, []string{"test___dt/1 022a050268690301020304040000000000000000" + "00"}, nil},
		{"KEY_META in RDB 13", newRB(13).raw(OpExpireTimeMs).u64(9).raw(OpKeyMeta).len(1).raw(0x01, 0xF5, 0xC4, 0x28).
			len(2).len(5).len(0).raw(0).str("k").str("v").end(), false, []string{`"v"`},
			func(t *testing.T, e []*Entry) {
				if len(e[0].KeyMeta) != 1 || e[0].KeyMeta[0].ClassSpec != 0x28C4F501 ||
					!bytes.Equal(e[0].KeyMeta[0].Raw, []byte{2, 5, 0}) || e[0].ExpireAtMs != 9 {
					t.Errorf("entry %+v", e[0])
				}
			}},
		{"stream type 26 keeps the IDMP tail", newRB(13).raw(26).str("st").len(0).len(0).len(5).len(1).
			len(0).len(0).len(0).len(0).len(3).len(0).
			len(10).len(100).len(1).str("p").len(1).str("i").len(1).len(2).len(1).len(0).end(),
			true, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := decodeBytes(tc.data, &DecodeOptions{Deep: tc.deep})
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != nil {
				var got []string
				for _, v := range out.vals {
					got = append(got, show(v))
				}
				if fmt.Sprint(got) != fmt.Sprint(tc.want) {
					t.Errorf("values\n got %q\nwant %q", got, tc.want)
				}
			}
			if tc.ent != nil {
				tc.ent(t, out.ents)
			}
		})
	}
}

func TestDecoderStream26(t *testing.T) {
	data := newRB(13).raw(26).str("st").len(0).len(0).len(5).len(1).
		len(0).len(0).len(0).len(0).len(3).len(0).
		len(10).len(100).len(1).str("p").len(1).str("i").len(1).len(2).len(1).len(0).end()
	out, err := decodeBytes(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := out.vals[0].(*Stream)
	want := []byte{10, 0x40, 100, 1, 1, 'p', 1, 1, 'i', 1, 2, 1, 0}
	if !bytes.Equal(st.IDMP, want) || st.LastID != (StreamID{5, 1}) || st.EntriesAdded != 3 || !st.HasV2Meta {
		t.Errorf("stream %+v", st)
	}
}

func TestValkey(t *testing.T) {
	// rdb-next.md §2.7: a Valkey 9.0.1 file with a HASH_2 key.
	r := &rb{b: []byte("VALKEY080"), ver: 80}
	r.raw(OpAux).str("valkey-ver").str("9.0.1").raw(OpSelectDB).len(0).raw(OpResizeDB).len(1).len(0)
	r.raw(22).str("hash2-hfe").len(3).str("F1").str("V1").u64(2715785640000).
		str("F2").str("V2").u64(2400425640000).str("F3").str("V3").u64(math.MaxUint64)
	d := NewDecoder(bytes.NewReader(r.end()), &DecodeOptions{Deep: true})
	if v, err := d.Version(); v != 80 || err != nil {
		t.Fatalf("version %d %v", v, err)
	}
	out, err := decodeBytes(r.b, &DecodeOptions{Deep: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := show(out.vals[0]); got != "F1=V1@2715785640000 F2=V2@2400425640000 F3=V3@0 " {
		t.Errorf("hash2 %s", got)
	}
	if out.ents[0].Encoding != EncHash2 {
		t.Errorf("encoding %v", out.ents[0].Encoding)
	}
	// Valkey 8: REDIS0011 with valkey-ver.
	d = NewDecoder(bytes.NewReader(newRB(11).raw(OpAux).str("valkey-ver").str("8.0.1").end()), nil)
	for {
		if _, err := d.Next(); err != nil {
			break
		}
	}
	if f, _ := d.Flavour(); f != FlavourValkey {
		t.Errorf("flavour %v after valkey-ver", f)
	}
}

func TestDecoderErrors(t *testing.T) {
	big := newRB(9).raw(0).str("k").raw(0x81).raw(binary.BigEndian.AppendUint64(nil, 1<<60)...).end()
	tests := []struct {
		name string
		data []byte
		deep bool
		want error
	}{
		{"empty input", nil, false, io.ErrUnexpectedEOF},
		{"bad magic", []byte("RUBIS0009\xff"), false, ErrCorrupt},
		{"version 14", []byte("REDIS0014\xff"), false, ErrUnsupported},
		{"version 0", []byte("REDIS0000\xff"), false, ErrUnsupported},
		{"non-digit version", []byte("REDIS00x1\xff"), false, ErrCorrupt},
		{"valkey 11", []byte("VALKEY011\xff"), false, ErrUnsupported},
		{"bad checksum", append(newRB(9).raw(0).str("k").str("v").raw(OpEOF).b, 1, 2, 3, 4, 5, 6, 7, 8), false, ErrChecksum},
		{"truncated checksum", newRB(9).raw(OpEOF, 1, 2).b, false, io.ErrUnexpectedEOF},
		{"unknown type", newRB(9).raw(30).end(), false, ErrCorrupt},
		{"type 8", newRB(9).raw(8).end(), false, ErrCorrupt},
		{"bad length byte", newRB(9).raw(0).raw(0x82).end(), false, ErrCorrupt},
		{"bad string encoding", newRB(9).raw(0).raw(0xC4).end(), false, ErrCorrupt},
		{"2^60-byte string", big, false, ErrLimit},
		{"2^60-byte lzf", newRB(9).raw(0).str("k").raw(0xC3).len(3).len(1<<60).raw(1, 2, 3).end(), false, ErrLimit},
		{"lzf ratio lie", newRB(9).raw(0).str("k").raw(0xC3).len(3).len(1<<20).raw(1, 2, 3).end(), false, ErrCorrupt},
		{"2^32-element list", newRB(9).raw(1).str("k").len(1 << 32).str("x").b, false, io.ErrUnexpectedEOF},
		{"lying listpack header", newRB(10).raw(16).str("h").blob([]byte{0xFF, 0xFF, 0xFF, 0x7F, 0, 0, 0xFF}).end(), false, ErrCorrupt},
		{"quicklist2 container 3", newRB(10).raw(18).str("l").len(1).len(3).blob(lp("a")).end(), false, ErrCorrupt},
		{"odd hash listpack", newRB(10).raw(16).str("h").blob(lp("a", "b", "c")).end(), false, ErrCorrupt},
		{"function pre-GA", newRB(10).raw(OpFunctionPreGA).end(), false, ErrUnsupported},
		{"module pre-GA", newRB(9).raw(6).str("m").end(), false, ErrUnsupported},
		{"module bad opcode", newRB(9).raw(7).str("m").len(1).len(9).end(), false, ErrCorrupt},
		{"module aux bad when-opcode", newRB(9).raw(OpModuleAux).len(1).len(5).len(1).len(0).end(), false, ErrCorrupt},
		{"KEY_META before RDB 13", newRB(12).raw(OpKeyMeta).len(0).raw(0).str("k").str("v").end(), false, ErrCorrupt},
		{"KEY_META then opcode", newRB(13).raw(OpKeyMeta).len(0).raw(OpSelectDB).len(0).end(), false, ErrCorrupt},
		{"KEY_META 8 classes", newRB(13).raw(OpKeyMeta).len(8).end(), false, ErrCorrupt},
		{"type 25 in valkey", append([]byte("VALKEY080"), 25, 1, 'k'), false, ErrCorrupt},
		{"hfe ttl overflow", newRB(12).raw(24).str("h").u64(1 << 47).len(1).len(1<<47 + 1).str("a").str("1").end(), false, ErrCorrupt},
		{"stream node key 15 bytes", newRB(9).raw(15).str("s").len(1).str("123456789012345").blob(lp(1)).end(), false, ErrCorrupt},
		{"stream length without nodes", newRB(9).raw(15).str("s").len(0).len(3).len(0).len(0).len(0).end(), false, ErrCorrupt},
		{"consumer PEL not in group PEL", newRB(9).raw(15).str("s").len(0).len(0).len(0).len(0).
			len(1).str("g").len(0).len(0).len(0).len(1).str("c").u64(0).len(1).raw(make([]byte, 16)...).end(), false, ErrCorrupt},
		{"deep: malformed slot-info", newRB(11).raw(OpAux).str("slot-info").str("1,2").end(), true, ErrCorrupt},
		{"deep: duplicate set member", newRB(9).raw(2).str("s").len(2).str("a").str("a").end(), true, ErrCorrupt},
		{"deep: duplicate hash field", newRB(10).raw(16).str("h").blob(lp("a", 1, "a", 2)).end(), true, ErrCorrupt},
		{"deep: NaN score", newRB(9).raw(5).str("z").len(1).str("a").u64(math.Float64bits(math.NaN())).end(), true, ErrCorrupt},
		{"deep: listpack zset order", newRB(10).raw(17).str("z").blob(lp("a", 2, "b", 1)).end(), true, ErrCorrupt},
		{"deep: listpackex TTL order", newRB(12).raw(25).str("h").u64(5).blob(lp("a", "1", 0, "b", "2", 5)).end(), true, ErrCorrupt},
		{"deep: intset order", newRB(9).raw(11).str("s").blob(appendIntset(nil, []int64{1, 2})[:8:8]).end(), true, ErrCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeBytes(tc.data, &DecodeOptions{Deep: tc.deep})
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("%v is not a *FormatError", err)
			}
			if fe.Offset < 0 || fe.Offset > int64(len(tc.data)) {
				t.Errorf("offset %d outside input of %d bytes", fe.Offset, len(tc.data))
			}
		})
	}
}

// Deep checks must also run on values that Next skips.
func TestDeepSkipped(t *testing.T) {
	data := newRB(9).raw(2).str("s").len(2).str("a").str("a").end()
	d := NewDecoder(bytes.NewReader(data), &DecodeOptions{Deep: true})
	var err error
	for err == nil {
		_, err = d.Next()
	}
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("got %v", err)
	}
	if _, err2 := d.Next(); err2 != err {
		t.Errorf("error not sticky: %v then %v", err, err2)
	}
	if _, err := decodeBytes(data, nil); err != nil {
		t.Errorf("shallow decode rejected a duplicate: %v", err)
	}
}

func TestChecksumDisabled(t *testing.T) {
	data := append(newRB(9).raw(0).str("k").str("v").raw(OpEOF).b, make([]byte, 8)...)
	var warned error
	d := NewDecoder(bytes.NewReader(data), &DecodeOptions{Warn: func(err error) { warned = err }})
	var err error
	for err == nil {
		_, err = d.Next()
	}
	if err != io.EOF || !errors.Is(warned, ErrChecksumDisabled) {
		t.Fatalf("err %v warned %v", err, warned)
	}
}

// After an RDB preamble, the AOF reader must find its commands in the same
// *bufio.Reader: the decoder must not read one byte past the CRC.
func TestPreambleLeavesRest(t *testing.T) {
	for _, size := range []int{16, 4096} {
		data := newRB(9).raw(0).str("k").str(strings.Repeat("v", 100)).end()
		br := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(data), strings.NewReader("*1\r\n$4\r\nPING\r\n")), size)
		d := NewDecoder(br, nil)
		var err error
		for err == nil {
			_, err = d.Next()
		}
		if err != io.EOF {
			t.Fatal(err)
		}
		rest, _ := io.ReadAll(br)
		if string(rest) != "*1\r\n$4\r\nPING\r\n" || d.Offset() != int64(len(data)) {
			t.Errorf("size %d: rest %q, offset %d of %d", size, rest, d.Offset(), len(data))
		}
	}
}

// Every proper prefix of a valid file fails with io.ErrUnexpectedEOF.
func TestTruncatedEverywhere(t *testing.T) {
	data, err := os.ReadFile(decCorpusDir + "/7.4.1/types-small/dump.rdb")
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(data) {
		_, err := decodeBytes(data[:n], &DecodeOptions{Deep: true})
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("prefix %d: %v", n, err)
		}
	}
}

func TestElements(t *testing.T) {
	data := newRB(10).raw(18).str("l").len(2).len(2).blob(lp("a", 1)).len(2).blob(lp("b")).
		raw(16).str("h").blob(lp("f", 12, "g", "v")).raw(0).str("s").raw(0xC0, 9).end()
	d := NewDecoder(bytes.NewReader(data), nil)
	var got []string
	for {
		_, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Elements(func(e *Element) error {
			got = append(got, string(e.Member)+"="+string(e.Value))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Value(); err == nil {
			t.Error("Value after Elements succeeded")
		}
	}
	if fmt.Sprint(got) != "[a= 1= b= f=12 g=v 9=]" {
		t.Errorf("got %q", got)
	}
	stop := errors.New("stop")
	d = NewDecoder(bytes.NewReader(data), nil)
	d.Next()
	if err := d.Elements(func(*Element) error { return stop }); err != stop {
		t.Errorf("callback error: %v", err)
	}
}

func TestModuleTypeName(t *testing.T) {
	for _, name := range []string{"AAAAAAAAA", "test___dt", "test__rdb", "MyType-_9"} {
		got, ver := ModuleTypeName(moduleID(name, 1023))
		if got != name || ver != 1023 {
			t.Errorf("%s: got %s/%d", name, got, ver)
		}
	}
}

var updateDecoder = flag.Bool("update-decoder", false, "rewrite testdata/decoder files and goldens")

// decoderCases are the hand-built files of testdata/decoder. Names starting
// with "bad-<cause>-" must fail with that cause; the others must decode to
// their .golden.txt.
func decoderCases() map[string][]byte {
	valkey := &rb{b: []byte("VALKEY080"), ver: 80}
	valkey.raw(OpAux).str("valkey-ver").str("9.0.1").raw(OpSelectDB).len(0).raw(OpResizeDB).len(1).len(0).
		raw(22).str("hash2-hfe").len(3).str("F1").str("V1").u64(2715785640000).
		str("F2").str("V2").u64(2400425640000).str("F3").str("V3").u64(math.MaxUint64)
	return map[string][]byte{
		"valkey9-hash2.rdb": valkey.end(),
		"rdb13-keymeta.rdb": newRB(13).raw(OpExpireTimeMs).u64(9).raw(OpKeyMeta).len(1).raw(0x01, 0xF5, 0xC4, 0x28).
			len(2).len(5).len(0).raw(0).str("k").str("v").end(),
		"rdb13-stream26.rdb": newRB(13).raw(26).str("st").len(0).len(0).len(5).len(1).
			len(0).len(0).len(0).len(0).len(3).len(0).
			len(10).len(100).len(1).str("p").len(1).str("i").len(1).len(2).len(1).len(0).end(),
		"zset-v1-specials.rdb": newRB(6).raw(3).str("z").len(3).str("b").raw(254).
			str("c").raw(255).str("d").raw(3).raw([]byte("1.5")...).end(),
		"bad-corrupt-zset-v1-nan.rdb": newRB(6).raw(3).str("z").len(1).str("a").raw(253).end(),
		"hfe-type24.rdb": newRB(12).raw(24).str("h").u64(1000).len(2).
			len(0).str("a").str("1").len(6).str("b").str("2").end(),
		"quicklist2-plain-empty.rdb": newRB(10).raw(18).str("l").len(3).
			len(1).str("plain").len(2).blob(lp()).len(2).blob(lp("p", 1)).end(),
		"bad-limit-string-2p60.rdb": newRB(9).raw(0).str("k").raw(0x81).
			raw(binary.BigEndian.AppendUint64(nil, 1<<60)...).end(),
		"bad-eof-list-2p32.rdb":               newRB(9).raw(1).str("k").len(1 << 32).str("x").b,
		"bad-corrupt-listpack-header.rdb":     newRB(10).raw(16).str("h").blob([]byte{0xFF, 0xFF, 0xFF, 0x7F, 0, 0, 0xFF}).end(),
		"bad-corrupt-keymeta-then-opcode.rdb": newRB(13).raw(OpKeyMeta).len(0).raw(OpSelectDB).len(0).end(),
		"bad-unsupported-function-pre-ga.rdb": newRB(10).raw(OpFunctionPreGA).end(),
		"bad-checksum-footer.rdb":             append(newRB(9).raw(0).str("k").str("v").raw(OpEOF).b, 1, 2, 3, 4, 5, 6, 7, 8),
	}
}

func TestDecoderTestdata(t *testing.T) {
	dir := filepath.Join("testdata", "decoder")
	if *updateDecoder {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range decoderCases() {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.rdb"))
	if len(files) == 0 {
		t.Fatal("no testdata/decoder files; run with -update-decoder")
	}
	causes := map[string]error{"limit": ErrLimit, "eof": io.ErrUnexpectedEOF, "corrupt": ErrCorrupt,
		"unsupported": ErrUnsupported, "checksum": ErrChecksum}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			out, err := decodeBytes(data, &DecodeOptions{Deep: true})
			if strings.HasPrefix(name, "bad-") {
				want := causes[strings.SplitN(name, "-", 3)[1]]
				if want == nil || !errors.Is(err, want) {
					t.Fatalf("error %v, want %v", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var sb strings.Builder
			for i, e := range out.ents {
				fmt.Fprintf(&sb, "db=%d key=%q type=%d enc=%v expire=%d meta=%d: %s\n",
					e.DB, e.Key, e.Type, e.Encoding, e.ExpireAtMs, len(e.KeyMeta), show(out.vals[i]))
			}
			golden := strings.TrimSuffix(path, ".rdb") + ".golden.txt"
			if *updateDecoder {
				if err := os.WriteFile(golden, []byte(sb.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if sb.String() != string(want) {
				t.Errorf("got\n%s\nwant\n%s", sb.String(), want)
			}
		})
	}
}

// A length that lies (within the limits) costs what the file contains,
// not what it claims.
func TestLyingLengthsAllocateLittle(t *testing.T) {
	cases := map[string][]byte{
		"400 MiB string":      newRB(9).raw(0).str("k").len(400 << 20).raw([]byte("short")...).b,
		"400 MiB listpack":    newRB(10).raw(16).str("h").len(400 << 20).raw(lp("a", "b")...).b,
		"2^32-element list":   newRB(9).raw(1).str("k").len(1 << 32).str("x").b,
		"2^32-node quicklist": newRB(10).raw(18).str("k").len(1 << 32).len(2).blob(lp("a")).b,
		"lzf 400 MiB output":  newRB(9).raw(0).str("k").raw(0xC3).len(10<<20).len(400<<20).raw(1, 2, 3).b,
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := decodeBytes(data, nil)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("error %v, want io.ErrUnexpectedEOF", err)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 4<<20 {
				t.Errorf("allocated %d bytes", n)
			}
		})
	}
}
