package rdb

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// frameAll frames every record of the RDB data that decodes deeply, as
// the decoder ends it: see TestFrameRecordMatchesDecoder.
func frameAll(t *testing.T, name string, data []byte) (framed, unframed, cuts int) {
	t.Helper()
	dec := NewDecoder(bytes.NewReader(data), &DecodeOptions{Deep: true})
	for {
		rec, err := dec.Next()
		if err != nil {
			return
		}
		start, end := RecordOffset(rec), dec.Offset()
		if _, ok := rec.(*Entry); ok {
			if _, err = dec.Value(); err != nil {
				return // damaged on purpose: framing may refuse it
			}
			end = dec.Offset()
		}
		q := start
		for q >= 0 && q < end {
			next, ok := FrameRecord(data, q, 1<<20)
			if !ok {
				t.Errorf("%s: record at %d (%T): refused at %d", name, start, rec, q)
				break
			}
			q = next
		}
		switch {
		case q < 0:
			unframed++
		case q != end:
			t.Errorf("%s: record at %d (%T): framed to %d, decoder ends it at %d", name, start, rec, q, end)
		default:
			framed++
		}
		if framed%16 == 1 && q == end { // every cut of some records
			for cut := start + 1; cut < end; cut++ {
				cuts++
				if e, ok := FrameRecord(data[:cut], start, 1<<20); ok && e > cut {
					t.Fatalf("%s: record at %d cut at %d: framed to %d", name, start, cut, e)
				}
			}
		}
	}
}

// TestFrameRecordMatchesDecoder: where FrameRecord finds a record's end
// without decoding, it is where the decoder ends it, for every record that
// decodes deeply in every corpus RDB and Redis test asset (an entry's
// prefix opcodes framed one by one up to its key), so that a resync's
// filter never refuses a real record start. Cut short anywhere inside, the
// record is refused or left unframed, never framed past the data.
func TestFrameRecordMatchesDecoder(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*", "*", "*.rdb"))
	assets, _ := filepath.Glob(filepath.Join(corpusDir, "redis-assets", "*.rdb"))
	framed, cuts := 0, 0
	for _, f := range append(files, assets...) {
		if st, err := os.Stat(f); err != nil || st.IsDir() {
			continue // the oracle's expectation directories are named like files
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n, _, c := frameAll(t, f, data)
		framed, cuts = framed+n, cuts+c
	}
	if framed < 1000 || cuts == 0 {
		t.Errorf("%d records framed, %d cuts: the corpus should hold more", framed, cuts)
	}
}

// TestFrameRecordStreams: streams of every type (15, 19, 21 and RDB 13's
// 26 with its IDMP tail), with consumer groups, pending entries and
// consumers, frame to the decoder's end; RDB 13's KEY_META is left
// unframed.
func TestFrameRecordStreams(t *testing.T) {
	st := &Stream{Length: 2, LastID: StreamID{7, 1}, FirstID: StreamID{5, 1}, EntriesAdded: 3, HasV2Meta: true,
		Entries: []StreamEntry{
			{ID: StreamID{5, 1}, Fields: []StreamField{{[]byte("f"), []byte("v")}}},
			{ID: StreamID{7, 1}, Fields: []StreamField{{[]byte("f"), []byte("w")}, {[]byte("g"), []byte("1")}}},
		},
		Groups: []StreamGroup{{Name: []byte("g1"), LastID: StreamID{7, 1}, EntriesRead: 2,
			PEL: []StreamPending{{ID: StreamID{5, 1}, DeliveryTimeMs: 1700000000000, DeliveryCount: 2, Consumer: []byte("alice")},
				{ID: StreamID{7, 1}, DeliveryTimeMs: 1700000000001, DeliveryCount: 1, Consumer: []byte("bob")}},
			Consumers: []StreamConsumer{{Name: []byte("alice"), SeenTimeMs: 5, ActiveTimeMs: 6, PEL: []StreamID{{5, 1}}},
				{Name: []byte("bob"), SeenTimeMs: 7, ActiveTimeMs: 8, PEL: []StreamID{{7, 1}}}}},
			{Name: []byte("g2"), LastID: StreamID{0, 0}, EntriesRead: EntriesReadUnknown}},
	}
	idmp := appendLen(appendLen(nil, 100), 1000) // duration, max entries
	idmp = appendRDBString(appendLen(idmp, 1), []byte("p1"), false)
	idmp = appendRDBString(appendLen(idmp, 1), []byte("iid-1"), false)
	idmp = appendLen(appendLen(idmp, 5), 1) // stream ID 5-1
	idmp = appendLen(appendLen(idmp, 1), 0) // iids added, duplicates
	for _, version := range []int{9, 10, 11, 13} {
		s := *st
		var buf bytes.Buffer
		// Lossy: RDB 9 has no v2 metadata.
		e := NewEncoder(&buf, &EncodeOptions{Version: version, Lossy: true})
		if version == 13 {
			s.IDMP = idmp
			ent := noTTL(0, "k")
			ent.KeyMeta = []KeyMeta{{ClassSpec: 0x28C4F501, Raw: []byte{2, 7, 0}}}
			if err := e.WriteEntry(ent, &String{Data: []byte("v")}); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.WriteEntry(noTTL(0, "s"), &s); err != nil {
			t.Fatal(err)
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		framed, unframed, _ := frameAll(t, "RDB "+strconv.Itoa(version), buf.Bytes())
		if wantUnframed := map[bool]int{true: 1}[version == 13]; framed < 2 || unframed != wantUnframed {
			t.Errorf("RDB %d: %d records framed, %d not (want 2 or more and %d)", version, framed, unframed, wantUnframed)
		}
	}
}

// TestFrameRecordKeyLimit: a key longer than maxKey (as stored) refuses
// the record, one at the limit does not.
func TestFrameRecordKeyLimit(t *testing.T) {
	rec := append([]byte{byte(TypeString)}, appendLen(nil, 5)...)
	rec = append(rec, "hello"...)
	rec = append(appendLen(rec, 1), 'v')
	if end, ok := FrameRecord(rec, 0, 6); !ok || end != int64(len(rec)) {
		t.Errorf("key of 6 bytes stored, limit 6: end %d ok %v, want %d true", end, ok, len(rec))
	}
	if _, ok := FrameRecord(rec, 0, 5); ok {
		t.Error("key of 6 bytes stored, limit 5: framed")
	}
}

// TestFrameRecordBlobHeaders: a blob value whose header its walk would
// refuse (a wrong terminator, a wrong total, a bad intset width) makes
// FrameRecord refuse the record; the well-formed blob frames to its end.
func TestFrameRecordBlobHeaders(t *testing.T) {
	entries := []blobEntry{{Str: []byte("a")}, {Int: 7, IsInt: true}}
	blobs := map[Type][]byte{
		TypeHashZipmap:   appendZipmap(nil, [][]byte{[]byte("f"), []byte("v")}),
		TypeListZiplist:  appendZiplist(nil, entries),
		TypeSetIntset:    appendIntset(nil, []int64{1, 2}),
		TypeSetListpack:  appendListpack(nil, entries),
		TypeZSetListpack: appendListpack(nil, entries),
	}
	for typ, blob := range blobs {
		record := func(b []byte) []byte {
			rec := append([]byte{byte(typ)}, 1, 'k')
			return append(appendLen(rec, uint64(len(b))), b...)
		}
		good := record(blob)
		if end, ok := FrameRecord(good, 0, 16); !ok || end != int64(len(good)) {
			t.Errorf("type %d: well-formed blob: end %d ok %v, want %d true", typ, end, ok, len(good))
		}
		bad := bytes.Clone(blob)
		bad[len(bad)-1] ^= 0x01 // the terminator, or an intset's last element byte
		if typ == TypeSetIntset {
			bad[0] = 3 // width 3
		}
		if _, ok := FrameRecord(record(bad), 0, 16); ok {
			t.Errorf("type %d: blob with a broken header framed", typ)
		}
	}
}

// FuzzFrameRecord: at every position of an input's first 4 KiB,
// FrameRecord returns without panicking and an end after the position,
// inside the data; and every record a deep decode of the input accepts,
// it frames to the decoder's end (frameAll).
func FuzzFrameRecord(f *testing.F) {
	addSmallRDBs(f)
	f.Add(newRB(10).raw(18).str("l").len(2).len(1).str("plain").len(2).blob(lp("p", 1)).end())
	f.Fuzz(func(t *testing.T, data []byte) {
		// The first 4 KiB only: framing at every position is quadratic
		// in the worst case (a collection declared at each byte walks
		// to the end), which would stall the fuzzer on large inputs.
		for p := range int64(min(len(data), 4<<10)) {
			end, ok := FrameRecord(data, p, 1<<20)
			if ok && end >= 0 && (end <= p || end > int64(len(data))) {
				t.Fatalf("record at %d framed to %d (data %d bytes)", p, end, len(data))
			}
		}
		frameAll(t, "input", data)
	})
}
