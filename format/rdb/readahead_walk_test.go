package rdb

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// Differential tests of the decoding fast paths (walkListpack's small
// entries, memberSet's generations) against their plain versions.

// walkListpackPlain is walkListpack through lpEntryAt only, as it was
// before the fast path for small entries.
func walkListpackPlain(blob []byte, fn func(i int, e blobEntry) error) (int, error) {
	const ctx = "listpack header"
	if len(blob) < lpHdrSize+1 {
		return 0, blobErr(0, ctx, "listpack of %d bytes is shorter than its header", len(blob))
	}
	if total := binary.LittleEndian.Uint32(blob); uint64(total) != uint64(len(blob)) {
		return 0, blobErr(0, ctx, "total bytes %d, blob has %d", total, len(blob))
	}
	if blob[len(blob)-1] != lpEOF {
		return 0, blobErr(len(blob)-1, ctx, "missing terminator")
	}
	numele := int(binary.LittleEndian.Uint16(blob[4:]))
	end := len(blob) - 1
	p, n := lpHdrSize, 0
	for p < end {
		e, size, err := lpEntryAt(blob, p, end, n)
		if err != nil {
			return n, err
		}
		if err := fn(n, e); err != nil {
			return n, err
		}
		p += size
		n++
	}
	if p != end {
		return n, blobErr(p, entryContext("listpack", n), "terminator before the end of the listpack")
	}
	if numele != lpNumeleUnknown && numele != n {
		return n, blobErr(4, ctx, "header counts %d elements, found %d", numele, n)
	}
	return n, nil
}

func listpackTrace(walk func([]byte, func(int, blobEntry) error) (int, error), blob []byte) string {
	var sb strings.Builder
	n, err := walk(blob, func(i int, e blobEntry) error {
		fmt.Fprintf(&sb, "%d:%q/%d/%v ", i, e.Str, e.Int, e.IsInt)
		return nil
	})
	fmt.Fprintf(&sb, "-> %d %v", n, err)
	return sb.String()
}

func FuzzListpackFastPath(f *testing.F) {
	f.Add(appendListpack(nil, []blobEntry{lpStr("foo"), lpInt(7), lpInt(-1), lpStr(strings.Repeat("x", 63))}))
	f.Add(appendListpack(nil, []blobEntry{lpStr(strings.Repeat("y", 64)), lpInt(127), lpInt(128), lpStr("")}))
	f.Fuzz(func(t *testing.T, blob []byte) {
		for _, b := range [][]byte{blob, fixListpack(blob)} {
			if b == nil {
				continue
			}
			want, got := listpackTrace(walkListpackPlain, b), listpackTrace(walkListpack, b)
			if want != got {
				t.Fatalf("blob %x:\nplain %s\nfast  %s", b, want, got)
			}
		}
	})
}

// fixListpack repairs the total size and terminator of random bytes.
func fixListpack(blob []byte) []byte {
	if len(blob) < 6 {
		return nil
	}
	fixed := append(bytes.Clone(blob), 0xFF)
	binary.LittleEndian.PutUint32(fixed, uint32(len(fixed)))
	return fixed
}

// Random listpacks of small entries with one byte changed: the fast path
// must find the same entries and the same errors.
func TestListpackFastPathMutations(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 3000 {
		var es []blobEntry
		for range 1 + rng.IntN(12) {
			switch rng.IntN(3) {
			case 0:
				es = append(es, lpInt(int64(rng.IntN(300))-20))
			default:
				es = append(es, lpStr(strings.Repeat("a", rng.IntN(70))))
			}
		}
		blob := appendListpack(nil, es)
		if rng.IntN(4) != 0 {
			blob[lpHdrSize+rng.IntN(len(blob)-lpHdrSize)] = byte(rng.IntN(256))
		}
		want, got := listpackTrace(walkListpackPlain, blob), listpackTrace(walkListpack, blob)
		if want != got {
			t.Fatalf("blob %x:\nplain %s\nfast  %s", blob, want, got)
		}
	}
}

// memberSet against a map, across many values, grows and a wrapping
// generation counter.
func TestMemberSetGenerations(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var s memberSet
	for v := range 400 {
		if v == 200 {
			s.gen = ^uint32(0) - 3 // wrap within the next values' grows
		}
		s.reset()
		ref := map[string]bool{}
		n := rng.IntN(3000)
		if v%3 == 0 {
			n = rng.IntN(20)
		}
		for range n {
			m := fmt.Sprint(rng.IntN(n + 1))
			if got := s.add([]byte(m)); got != ref[m] {
				t.Fatalf("value %d: add(%q) = %v, want %v", v, m, got, ref[m])
			}
			ref[m] = true
		}
	}
}
