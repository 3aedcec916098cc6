package rdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"
	"time"
)

// hostileMemBudget is the most a hostile input may make the decoder
// allocate in total (TotalAlloc delta, which over-counts peak usage).
const hostileMemBudget = 64 << 20

// measureAlloc returns the bytes allocated by fn (all goroutines; the
// tests using it are not parallel) and how long it took.
func measureAlloc(fn func()) (uint64, time.Duration) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	fn()
	el := time.Since(start)
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, el
}

// lzfLiteral encodes p as LZF literal runs (no back-references).
func lzfLiteral(p []byte) []byte {
	var out []byte
	for len(p) > 0 {
		n := min(len(p), 32)
		out = append(out, byte(n-1))
		out = append(out, p[:n]...)
		p = p[n:]
	}
	return out
}

// lzfString appends an LZF-encoded string (0xC3 clen ulen data).
func (r *rb) lzf(clen, ulen uint64, data []byte) *rb {
	return r.raw(0xC3).len(clen).len(ulen).raw(data...)
}

// TestHostileLengths feeds files whose lengths and counts lie. Each must
// fail with a typed *FormatError (with the expected cause, at an offset
// inside the input), quickly, and without allocating more than
// hostileMemBudget — whatever the claimed size.
func TestHostileLengths(t *testing.T) {
	// A listpack whose total-bytes header claims far more than the blob.
	lpBig := lp("a", "b")
	binary.LittleEndian.PutUint32(lpBig[0:], 0xFFFFFFFF)
	// A listpack whose total-bytes header claims less than the blob.
	lpShort := lp("a", "b", "c")
	binary.LittleEndian.PutUint32(lpShort[0:], 7)
	// A listpack claiming 60000 elements with only two.
	lpCount := lp("a", "b")
	binary.LittleEndian.PutUint16(lpCount[4:], 60000)
	// A ziplist whose zlbytes and zltail point past the blob.
	zl := appendZiplist(nil, []blobEntry{{Str: []byte("a")}, {Str: []byte("b")}})
	zlBig := bytes.Clone(zl)
	binary.LittleEndian.PutUint32(zlBig[0:], 0x7FFFFFFF)
	zlTail := bytes.Clone(zl)
	binary.LittleEndian.PutUint32(zlTail[4:], 0x7FFFFFF0)
	// An intset claiming 2^32-1 eight-byte members in 24 bytes.
	is := appendIntset(nil, []int64{1 << 40, 2 << 40})
	binary.LittleEndian.PutUint32(is[4:], 0xFFFFFFFF)
	// An LZF stream that expands to 40 bytes while declaring 10.
	lzfOver := lzfLiteral(bytes.Repeat([]byte("x"), 40))

	type tc struct {
		name  string
		data  []byte
		want  error
		limit Limits
		// inner: the lie is inside a blob or LZF payload, which a skipping
		// (non-Deep) Next does not look into, so skipping may succeed.
		inner bool
	}
	cases := []tc{
		{name: "string-2^60", data: newRB(11).raw(0).str("k").len(1 << 60).raw([]byte("abc")...).b, want: ErrLimit},
		{name: "string-2^64-1", data: newRB(11).raw(0).str("k").len(1<<64 - 1).raw([]byte("abc")...).b, want: ErrLimit},
		{name: "string-just-over-limit", data: newRB(11).raw(0).str("k").len(512<<20 + 1).raw([]byte("abc")...).b, want: ErrLimit},
		{name: "string-500MiB-claimed-10-bytes", data: newRB(11).raw(0).str("k").len(500 << 20).raw([]byte("0123456789")...).b, want: io.ErrUnexpectedEOF},
		{name: "key-500MiB-claimed", data: newRB(11).raw(0).len(500 << 20).raw([]byte("0123456789")...).b, want: io.ErrUnexpectedEOF},
		{name: "aux-2^60", data: newRB(11).raw(OpAux).len(1 << 60).b, want: ErrLimit},
		{name: "list-2^32-elements", data: newRB(6).raw(byte(TypeList)).str("l").len(1 << 32).str("a").str("b").b, want: io.ErrUnexpectedEOF},
		{name: "list-2^32+1-elements", data: newRB(6).raw(byte(TypeList)).str("l").len(1<<32 + 1).str("a").b, want: ErrLimit},
		{name: "list-2^64-1-elements", data: newRB(6).raw(byte(TypeList)).str("l").len(1<<64 - 1).str("a").b, want: ErrLimit},
		{name: "set-2^32-members", data: newRB(9).raw(byte(TypeSet)).str("s").len(1 << 32).str("a").b, want: io.ErrUnexpectedEOF},
		{name: "hash-2^32-fields", data: newRB(9).raw(byte(TypeHash)).str("h").len(1 << 32).str("f").str("v").b, want: io.ErrUnexpectedEOF},
		{name: "zset2-2^32-members", data: newRB(9).raw(byte(TypeZSet2)).str("z").len(1 << 32).str("m").u64(0).b, want: io.ErrUnexpectedEOF},
		{name: "quicklist2-2^32-nodes", data: newRB(10).raw(byte(TypeListQuicklist2)).str("q").len(1 << 32).len(2).blob(lp("a")).b, want: io.ErrUnexpectedEOF},
		{name: "quicklist-2^32-nodes", data: newRB(9).raw(byte(TypeListQuicklist)).str("q").len(1 << 32).blob(zl).b, want: io.ErrUnexpectedEOF},
		{name: "stream-2^32-nodes", data: newRB(10).raw(byte(TypeStreamListpacks2)).str("x").len(1 << 32).b, want: io.ErrUnexpectedEOF},
		{name: "small-limits-list", data: newRB(6).raw(byte(TypeList)).str("l").len(1001).str("a").b, want: ErrLimit, limit: Limits{MaxElements: 1000}},
		{name: "small-limits-string", data: newRB(6).raw(0).str("k").len(1025).b, want: ErrLimit, limit: Limits{MaxStringLen: 1024}},
		{name: "listpack-total-bytes-huge", inner: true, data: newRB(10).raw(byte(TypeHashListpack)).str("h").blob(lpBig).end(), want: ErrCorrupt},
		{name: "listpack-total-bytes-short", inner: true, data: newRB(10).raw(byte(TypeSetListpack)).str("s").blob(lpShort).end(), want: ErrCorrupt},
		{name: "listpack-in-quicklist-lies", inner: true, data: newRB(10).raw(byte(TypeListQuicklist2)).str("q").len(1).len(2).blob(lpBig).end(), want: ErrCorrupt},
		{name: "listpack-blob-500MiB-claimed", data: newRB(10).raw(byte(TypeHashListpack)).str("h").len(500 << 20).raw(lpBig...).b, want: io.ErrUnexpectedEOF},
		{name: "ziplist-zlbytes-huge", inner: true, data: newRB(9).raw(byte(TypeListZiplist)).str("z").blob(zlBig).end(), want: ErrCorrupt},
		{name: "ziplist-zltail-huge", inner: true, data: newRB(9).raw(byte(TypeListZiplist)).str("z").blob(zlTail).end(), want: ErrCorrupt},
		{name: "intset-count-huge", inner: true, data: newRB(9).raw(byte(TypeSetIntset)).str("i").blob(is).end(), want: ErrCorrupt},
		{name: "lzf-expands-past-declared", inner: true, data: newRB(9).raw(0).str("k").lzf(uint64(len(lzfOver)), 10, lzfOver).end(), want: ErrCorrupt},
		{name: "lzf-declared-500MiB-from-10-bytes", inner: true, data: newRB(9).raw(0).str("k").lzf(10, 500<<20, lzfLiteral([]byte("012345678"))).end(), want: ErrCorrupt},
		{name: "lzf-declared-2^60", inner: true, data: newRB(9).raw(0).str("k").lzf(10, 1<<60, lzfLiteral([]byte("012345678"))).end(), want: ErrLimit},
		{name: "lzf-compressed-2^60", data: newRB(9).raw(0).str("k").lzf(1<<60, 10, nil).end(), want: ErrLimit},
		{name: "lzf-compressed-500MiB-claimed", data: newRB(9).raw(0).str("k").lzf(500<<20, 500<<20, lzfLiteral([]byte("012345678"))).b, want: io.ErrUnexpectedEOF},
		{name: "lzf-key-expands-past-declared", data: newRB(9).raw(0).lzf(uint64(len(lzfOver)), 39, lzfOver).str("v").end(), want: ErrCorrupt},
		{name: "module-aux-2^60", data: newRB(9).raw(OpModuleAux).len(moduleID("hostile-1", 1)).len(1 << 60).b, want: nil},
		{name: "function-2^60", data: newRB(10).raw(OpFunction2).len(1 << 60).b, want: ErrLimit},
		{name: "resizedb-2^64-1", data: newRB(9).raw(OpResizeDB).len(1<<64 - 1).len(1<<64 - 1).end(), want: nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, mode := range []string{"values", "deep", "skip"} {
				opt := &DecodeOptions{Limits: c.limit, Deep: mode == "deep"}
				var err error
				alloc, el := measureAlloc(func() {
					if mode == "skip" {
						d := NewDecoder(bytes.NewReader(c.data), opt)
						for err == nil {
							_, err = d.Next()
						}
					} else {
						_, err = decodeBytes(c.data, opt)
					}
				})
				if err == io.EOF {
					err = nil
				}
				if err == nil {
					if c.want != nil && !(mode == "skip" && c.inner) {
						t.Fatalf("%s: decoded without error, want %v", mode, c.want)
					}
					continue
				}
				var fe *FormatError
				if !errors.As(err, &fe) {
					t.Fatalf("%s: untyped error %T %v", mode, err, err)
				}
				if fe.Offset < 0 || fe.Offset > int64(len(c.data)) {
					t.Errorf("%s: offset %d outside the %d-byte input: %v", mode, fe.Offset, len(c.data), err)
				}
				// A limit or a lie must be caught as such; for the cases
				// without a fixed cause, any sentinel will do.
				if c.want != nil && !errors.Is(err, c.want) {
					t.Errorf("%s: got %v, want cause %v", mode, err, c.want)
				}
				if alloc > hostileMemBudget {
					t.Errorf("%s: allocated %d MiB (budget %d MiB): %v", mode, alloc>>20, hostileMemBudget>>20, err)
				}
				if el > 10*time.Second {
					t.Errorf("%s: took %v", mode, el)
				}
			}
		})
	}
}

// TestHostileDumpPayload checks DecodeDump (RESTORE) against lying
// payloads: the checksum is valid, so the lie reaches the decoder.
func TestHostileDumpPayload(t *testing.T) {
	payload := func(body []byte) []byte {
		b := binary.LittleEndian.AppendUint16(bytes.Clone(body), 11)
		return binary.LittleEndian.AppendUint64(b, CRC64(0, b))
	}
	lpBig := lp("a", "b")
	binary.LittleEndian.PutUint32(lpBig[0:], 0xFFFFFFFF)
	lzfOver := lzfLiteral(bytes.Repeat([]byte("y"), 64))
	for name, body := range map[string][]byte{
		"string-2^60":        (&rb{}).raw(0).len(1 << 60).raw([]byte("abc")...).b,
		"string-500MiB":      (&rb{}).raw(0).len(500 << 20).raw([]byte("abc")...).b,
		"list-2^32":          (&rb{}).raw(byte(TypeList)).len(1 << 32).str("a").b,
		"listpack-lies":      (&rb{}).raw(byte(TypeHashListpack)).blob(lpBig).b,
		"lzf-over":           (&rb{}).raw(0).lzf(uint64(len(lzfOver)), 8, lzfOver).b,
		"quicklist2-2^32":    (&rb{}).raw(byte(TypeListQuicklist2)).len(1 << 32).len(2).blob(lp("a")).b,
		"stream-nodes-2^32":  (&rb{}).raw(byte(TypeStreamListpacks3)).len(1 << 32).b,
		"trailing-garbage":   (&rb{}).raw(0).str("v").raw(1, 2, 3).b,
		"type-out-of-range":  (&rb{}).raw(200).str("v").b,
		"empty-before-crc":   nil,
		"only-type-byte":     {0},
		"zset-2^32-no-bytes": (&rb{}).raw(byte(TypeZSet2)).len(1 << 32).b,
	} {
		t.Run(name, func(t *testing.T) {
			p := payload(body)
			var err error
			alloc, _ := measureAlloc(func() { _, err = DecodeDump(p) })
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want *FormatError", err)
			}
			if fe.Offset < 0 || fe.Offset > int64(len(p)) {
				t.Errorf("offset %d outside %d bytes: %v", fe.Offset, len(p), err)
			}
			if alloc > hostileMemBudget {
				t.Errorf("allocated %d MiB: %v", alloc>>20, err)
			}
		})
	}
}
