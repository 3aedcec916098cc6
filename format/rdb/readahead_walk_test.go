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

// memberSet against a map, across many values and grows, small values
// after large ones (whose slots must not look taken).
func TestMemberSetAcrossValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var s memberSet
	for v := range 400 {
		s.reset()
		if v%7 == 0 {
			s.reserve(uint64(rng.IntN(5000)))
		}
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

// lzfOverlapPlain is the byte-by-byte expansion of an overlapping LZF
// back-reference that lzfDecompressTo replaced with dist-sized copies.
func lzfOverlapPlain(out []byte, ref, total int) []byte {
	for i := range total {
		out = append(out, out[ref+i])
	}
	return out
}

// LZF back-references closer than their length, every distance and length
// the format allows near the start, against the byte-by-byte expansion;
// compressed repetitive text must round-trip.
func TestLZFOverlapCopy(t *testing.T) {
	for dist := 1; dist <= 32; dist++ { // one literal run holds at most 32 bytes
		for total := 3; total <= 264; total += 1 + total/16 {
			if dist >= total {
				continue
			}
			prefix := []byte(strings.Repeat("abcdefghijklmnopqrstuvwxyz0123456789ABCD", 1)[:dist])
			// Literal run of the prefix, then one back-reference of
			// length total at distance dist.
			in := append([]byte{byte(dist - 1)}, prefix...)
			n := total - 2
			off := dist - 1
			if n < 7 {
				in = append(in, byte(n<<5|off>>8), byte(off))
			} else {
				in = append(in, byte(7<<5|off>>8), byte(n-7), byte(off))
			}
			want := lzfOverlapPlain(bytes.Clone(prefix), 0, total)
			got, err := lzfDecompress(in, dist+total)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("dist %d total %d: %q %v, want %q", dist, total, got, err, want)
			}
		}
	}
	text := []byte(strings.Repeat("lorem ipsum dolor sit amet ", 200) + strings.Repeat("a", 1000) + "xyzxyzxyzxyzxyz")
	got, err := lzfDecompress(lzfCompress(text), len(text))
	if err != nil || !bytes.Equal(got, text) {
		t.Fatalf("round trip: %v", err)
	}
}
