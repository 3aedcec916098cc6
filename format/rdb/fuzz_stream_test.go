package rdb

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// streamFuzzKinds maps the first byte of a FuzzStream input (mod 3) to the
// RDB version and stream type byte the rest of the input is decoded as.
var streamFuzzKinds = [3]streamFuzzKind{{9, TypeStreamListpacks}, {10, TypeStreamListpacks2}, {11, TypeStreamListpacks3}}

type streamFuzzKind struct {
	ver int
	t   Type
}

// streamFuzzFile wraps a stream value payload into a minimal RDB: header,
// type byte, key "s", the payload, EOF and a zero (disabled) checksum.
func streamFuzzFile(sel byte, payload []byte) []byte {
	k := streamFuzzKinds[int(sel)%len(streamFuzzKinds)]
	b := fmt.Appendf(nil, "REDIS%04d", k.ver)
	b = append(b, byte(k.t), 1, 's')
	b = append(b, payload...)
	b = append(b, OpEOF)
	return append(b, make([]byte, 8)...)
}

// streamFuzzSeeds returns the raw payloads of the stream keys (types 15, 19,
// 21) of the corpus streams and types-small files, each prefixed with the
// selector byte of its type: the bytes between the end of the key and the
// end of the value, as the decoder's offsets delimit them.
func streamFuzzSeeds(tb testing.TB) [][]byte {
	files, _ := filepath.Glob(filepath.Join(decCorpusDir, "*", "streams", "dump.rdb"))
	more, _ := filepath.Glob(filepath.Join(decCorpusDir, "*", "types-small", "dump*.rdb"))
	files = append(files, more...)
	var seeds [][]byte
	seen := map[string]bool{}
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			tb.Fatal(err)
		}
		d := NewDecoder(bytes.NewReader(data), nil)
		for {
			rec, err := d.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				tb.Fatalf("%s: %v", path, err)
			}
			e, ok := rec.(*Entry)
			if !ok || e.Kind != KindStream {
				continue
			}
			sel := slices.IndexFunc(streamFuzzKinds[:], func(k streamFuzzKind) bool { return k.t == e.Type })
			start := d.Offset()
			if _, err := d.Value(); err != nil {
				tb.Fatalf("%s: key %q: %v", path, e.Key, err)
			}
			if sel < 0 {
				continue // type 26: not covered here
			}
			seed := append([]byte{byte(sel)}, data[start:d.Offset()]...)
			if len(seed) <= 64<<10 && !seen[string(seed)] {
				seen[string(seed)] = true
				seeds = append(seeds, seed)
			}
		}
	}
	return seeds
}

// FuzzStream fuzzes stream value decoding (types 15, 19, 21) directly: the
// input is a selector byte and a value payload. Every failure is a typed
// *FormatError inside the file, and every deep-validated stream re-encodes
// for the same version and decodes equal.
func FuzzStream(f *testing.F) {
	for _, s := range streamFuzzSeeds(f) {
		f.Add(s)
	}
	// Empty streams: no nodes, length 0, last ID 0-0, (v2: first ID,
	// max-deleted ID, entries-added), no groups.
	f.Add([]byte{0, 0, 0, 0, 0, 0})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	lim := Limits{MaxStringLen: 1 << 20, MaxElements: 1 << 16}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		file := streamFuzzFile(data[0], data[1:])
		ent, v, err := decodeStreamFile(file, &DecodeOptions{Deep: true, Limits: lim})
		checkFuzzErr(t, err, len(file))
		if err != nil || ent == nil {
			return // failed, or the payload went on past the value with more records
		}
		// What Deep accepts, a shallow decode accepts with the same value.
		_, sv, err := decodeStreamFile(file, &DecodeOptions{Limits: lim})
		if err != nil || sv == nil {
			t.Fatalf("deep accepted, shallow failed: %v", err)
		}
		if a, b := streamText(v), streamText(sv); a != b {
			t.Fatalf("deep and shallow differ:\n%s\n%s", a, b)
		}
		ver := streamFuzzKinds[int(data[0])%len(streamFuzzKinds)].ver
		var buf bytes.Buffer
		enc := NewEncoder(&buf, &EncodeOptions{Version: ver, KeepEncoding: true, NoChecksum: true})
		if err := enc.WriteEntry(ent, v); err != nil {
			t.Fatalf("encode v%d: %v", ver, err)
		}
		if err := enc.Close(); err != nil {
			t.Fatalf("encode v%d: %v", ver, err)
		}
		ent2, v2, err := decodeStreamFile(buf.Bytes(), &DecodeOptions{Deep: true})
		if err != nil || ent2 == nil {
			t.Fatalf("re-decode v%d: %v\nencoded %x", ver, err, buf.Bytes())
		}
		if ent2.Type != ent.Type {
			t.Fatalf("re-encoded as type %d, want %d", ent2.Type, ent.Type)
		}
		if a, b := streamText(v), streamText(v2); a != b {
			t.Fatalf("round trip differs:\n%s\n%s", a, b)
		}
	})
}

// decodeStreamFile decodes a whole file. It returns the stream when the
// file holds exactly one record (SELECTDB aside), a stream key, and nil
// otherwise; err is the
// decoder's.
func decodeStreamFile(file []byte, opt *DecodeOptions) (*Entry, *Stream, error) {
	d := NewDecoder(bytes.NewReader(file), opt)
	var ent *Entry
	var st *Stream
	n := 0
	for {
		rec, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		if _, ok := rec.(*SelectDB); ok {
			continue // the encoder writes SELECTDB 0 before the key
		}
		n++
		e, ok := rec.(*Entry)
		if !ok {
			continue
		}
		v, err := d.Value()
		if err != nil {
			return nil, nil, err
		}
		if s, ok := v.(*Stream); ok && ent == nil {
			ent, st = e, s
		}
	}
	if n != 1 {
		return nil, nil, nil
	}
	return ent, st, nil
}

// streamText renders a stream canonically: groups and consumers by name,
// PELs by ID (the encoder writes them sorted), nil and empty slices alike.
func streamText(s *Stream) string {
	n := *s
	n.Groups = slices.Clone(s.Groups)
	slices.SortStableFunc(n.Groups, func(a, b StreamGroup) int { return bytes.Compare(a.Name, b.Name) })
	for i := range n.Groups {
		g := &n.Groups[i]
		g.PEL = slices.Clone(g.PEL)
		slices.SortStableFunc(g.PEL, func(a, b StreamPending) int { return idCmp(a.ID, b.ID) })
		g.Consumers = slices.Clone(g.Consumers)
		slices.SortStableFunc(g.Consumers, func(a, b StreamConsumer) int { return bytes.Compare(a.Name, b.Name) })
		for j := range g.Consumers {
			c := &g.Consumers[j]
			c.PEL = slices.Clone(c.PEL)
			slices.SortFunc(c.PEL, func(a, b StreamID) int {
				return cmp.Or(cmp.Compare(a.Ms, b.Ms), cmp.Compare(a.Seq, b.Seq))
			})
		}
	}
	return fmt.Sprintf("%+v", n)
}
