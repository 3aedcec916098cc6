package keyspace

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/persistkit/persistkit/format/rdb"
)

// ksRec is one key of a simulated file.
type ksRec struct {
	db    uint64
	key   string
	probe bool
}

// ksRun adds recs to a KeySet at offsets 100, 200, ... and returns what it
// reported and the set (closed).
// The set is run with Finish on 1, 2 and 3 goroutines, which must report
// the same; the set returned is the one with the highest peak.
func ksRun(t testing.TB, recs []ksRec, budget int, hash func(uint64, []byte) uint64, keyAt bool) ([]Duplicate, *KeySet) {
	t.Helper()
	dups, s := ksRunOn(t, recs, budget, hash, keyAt, 0)
	for _, w := range []int{2, 3} {
		d, sw := ksRunOn(t, recs, budget, hash, keyAt, w)
		if fmt.Sprint(d) != fmt.Sprint(dups) {
			t.Errorf("Finish on %d goroutines reports differently:\n%+v\nwant\n%+v", w, d[:min(len(d), 5)], dups[:min(len(dups), 5)])
		}
		if sw.peak > s.peak {
			s = sw
		}
	}
	return dups, s
}

func ksRunOn(t testing.TB, recs []ksRec, budget int, hash func(uint64, []byte) uint64, keyAt bool, workers int) ([]Duplicate, *KeySet) {
	t.Helper()
	byOff := map[int64]string{}
	var dups []Duplicate
	opt := &KeySetOptions{
		MemoryBudget:  budget,
		TempDir:       t.TempDir(),
		FinishWorkers: workers,
		Duplicate: func(d *Duplicate) error {
			dd := *d
			dd.Key = slices.Clone(d.Key)
			dups = append(dups, dd)
			return nil
		},
	}
	if keyAt {
		opt.KeyAt = func(off int64, buf []byte) ([]byte, error) {
			k, ok := byOff[off]
			if !ok {
				return nil, fmt.Errorf("no record at %d", off)
			}
			return append(buf, k...), nil
		}
	}
	s := NewKeySet(opt)
	s.hash = hash
	for i, r := range recs {
		off := int64(i+1) * 100
		byOff[off] = r.key
		var err error
		if r.probe {
			err = s.Probe(r.db, []byte(r.key), off)
		} else {
			err = s.Add(r.db, []byte(r.key), off)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Finish(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dups, s
}

// ksWant is the exact answer: every occurrence after the first added one,
// with the first's offset.
func ksWant(recs []ksRec) []Duplicate {
	type id struct {
		db  uint64
		key string
	}
	first := map[id]int64{}
	var want []Duplicate
	for i, r := range recs {
		off := int64(i+1) * 100
		k := id{r.db, r.key}
		if f, ok := first[k]; ok {
			want = append(want, Duplicate{DB: r.db, Key: []byte(r.key), First: f, Offset: off})
		} else if !r.probe {
			first[k] = off
		}
	}
	return want
}

func ksCheck(t *testing.T, got, want []Duplicate) {
	t.Helper()
	slices.SortFunc(got, func(a, b Duplicate) int { return cmp.Compare(a.Offset, b.Offset) })
	if len(got) != len(want) {
		t.Fatalf("got %d duplicates, want %d\ngot  %+v\nwant %+v", len(got), len(want), got[:min(len(got), 5)], want[:min(len(want), 5)])
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.DB != w.DB || string(g.Key) != string(w.Key) || g.First != w.First || g.Offset != w.Offset || g.Unconfirmed {
			t.Errorf("duplicate %d: got %+v (key %q), want %+v (key %q)", i, g, g.Key, w, w.Key)
		}
	}
}

func ksKeys(n int, prefix string) []ksRec {
	recs := make([]ksRec, n)
	for i := range recs {
		recs[i] = ksRec{key: fmt.Sprintf("%s%07d", prefix, i)}
	}
	return recs
}

// ksSmall is a budget small enough that a few thousand keys spill: the
// in-memory table stops at 2048 slots (1536 keys).
const ksSmall = 64 << 10

func TestKeySet(t *testing.T) {
	const n = 20000 // spills at ksSmall
	base := ksKeys(n, "key:")
	with := func(recs []ksRec, extra ...ksRec) []ksRec {
		return append(slices.Clone(recs), extra...)
	}
	insert := func(recs []ksRec, at int, r ksRec) []ksRec {
		return slices.Insert(slices.Clone(recs), at, r)
	}
	cases := []struct {
		name string
		recs []ksRec
	}{
		{"no dups", base},
		{"dup in memory phase", insert(base, 100, base[3])},
		{"dup before and after the switch", with(base, base[5], base[1000])},
		{"dup after the switch", with(base, base[n-2], base[n-1])},
		{"same key many times", with(base, base[7], base[7], base[7], base[n-1], base[n-1])},
		{"same key in two dbs", with(base, ksRec{db: 1, key: base[9].key}, ksRec{db: 1, key: base[n-1].key})},
		{"db 1 dup", with(base, ksRec{db: 1, key: "x"}, ksRec{db: 1, key: "x"})},
		{"probe", with(base, ksRec{key: base[11].key, probe: true}, ksRec{key: "p", probe: true}, ksRec{key: "p"})},
		{"empty key", with(base, ksRec{key: ""}, ksRec{key: ""})},
		{"every key twice", with(base, base...)}, // duplicates in every partition
	}
	for _, tc := range cases {
		for _, budget := range []int{ksSmall, 0} {
			t.Run(fmt.Sprintf("%s/budget=%d", tc.name, budget), func(t *testing.T) {
				got, s := ksRun(t, tc.recs, budget, nil, true)
				ksCheck(t, got, ksWant(tc.recs))
				if budget == ksSmall && !s.spilled {
					t.Error("did not spill")
				}
				if budget == 0 && s.spilled {
					t.Error("spilled")
				}
				b := budget
				if b == 0 {
					b = DefaultKeySetBudget
				}
				if s.peak > b {
					t.Errorf("peak memory %d > budget %d", s.peak, b)
				}
				if budget == ksSmall {
					if _, s := ksRunOn(t, tc.recs, budget, nil, true, 2); s.finishOn != 2 {
						t.Errorf("Finish on %d goroutines, want 2", s.finishOn)
					}
				}
			})
		}
	}
}

// TestKeySetDeferred checks which duplicates are reported at once.
func TestKeySetDeferred(t *testing.T) {
	recs := ksKeys(5000, "k")
	recs = slices.Insert(recs, 10, recs[2])          // both before the switch: at once
	recs = append(recs, recs[3], ksRec{key: "late"}) // first before, second after: Finish
	recs = append(recs, ksRec{key: "late"})          // both after: Finish
	got, s := ksRun(t, recs, ksSmall, nil, true)
	ksCheck(t, got, ksWant(recs))
	if !s.spilled {
		t.Fatal("did not spill")
	}
	if len(got) != 3 || got[0].Deferred || !got[1].Deferred || !got[2].Deferred {
		t.Errorf("Deferred flags: %+v", got)
	}
}

// TestKeySetCollisions forces 64-bit hash collisions: different keys must
// never be reported, equal ones still are.
func TestKeySetCollisions(t *testing.T) {
	hashes := map[string]func(uint64, []byte) uint64{
		// Every key the same hash: one long probe chain, and at Finish a
		// partition that cannot be split (it grows past the budget).
		"constant": func(db uint64, key []byte) uint64 { return 0x1234 },
		// 8 distinct hashes.
		"3 bits": func(db uint64, key []byte) uint64 { return uint64(len(key)+int(db)) & 7 << 56 },
		// 16-bit hashes with the top two bytes zero: partition 0 only,
		// split twice at Finish.
		"16 bits": func(db uint64, key []byte) uint64 {
			h := fnv.New64a()
			h.Write(key)
			return h.Sum64() & 0xFFFF
		},
	}
	for name, hash := range hashes {
		n := 3000
		if name == "16 bits" {
			n = 20000
		}
		recs := ksKeys(n, "c")
		recs = slices.Insert(recs, 50, recs[1])
		recs = append(recs, recs[2], recs[n-1], ksRec{db: 2, key: recs[4].key})
		for _, budget := range []int{ksSmall, 0} {
			t.Run(fmt.Sprintf("%s/budget=%d", name, budget), func(t *testing.T) {
				got, _ := ksRun(t, recs, budget, hash, true)
				ksCheck(t, got, ksWant(recs))
			})
		}
	}
}

// TestKeySetSplit checks a partition split by the next hash byte, and that
// the budget holds through it.
func TestKeySetSplit(t *testing.T) {
	recs := ksKeys(30000, "s")
	recs = append(recs, recs[0], recs[29999], recs[15000])
	hash := func(db uint64, key []byte) uint64 {
		h := fnv.New64a()
		h.Write(key)
		return h.Sum64() >> 8 // top byte 0: every record in partition 0
	}
	got, s := ksRun(t, recs, ksSmall, hash, true)
	ksCheck(t, got, ksWant(recs))
	if s.peak > ksSmall {
		t.Errorf("peak memory %d > budget %d", s.peak, ksSmall)
	}
	// A partition that needs splitting: Finish stays on one goroutine.
	if _, s := ksRunOn(t, recs, ksSmall, hash, true, 2); s.finishOn != 0 {
		t.Errorf("Finish on %d goroutines, want the serial path", s.finishOn)
	}
}

func TestKeySetUnconfirmed(t *testing.T) {
	recs := ksKeys(5000, "u")
	recs = slices.Insert(recs, 20, recs[0])
	recs = append(recs, recs[1])
	got, _ := ksRun(t, recs, ksSmall, nil, false)
	if len(got) != 2 {
		t.Fatalf("got %+v", got)
	}
	if !got[0].Unconfirmed || string(got[0].Key) != recs[0].key || got[0].Deferred {
		t.Errorf("in-memory duplicate: %+v", got[0])
	}
	if !got[1].Unconfirmed || got[1].Key != nil || !got[1].Deferred || got[1].First != 200 {
		t.Errorf("deferred duplicate: %+v", got[1])
	}
}

// TestKeySetTempFiles checks that spill files go on Finish, on Close without
// Finish, and on errors.
func TestKeySetTempFiles(t *testing.T) {
	stop := errors.New("stop")
	for _, mode := range []string{"finish", "close", "callback error", "keyat error", "keyat error/workers", "finish/workers"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			workers := 0
			if m, ok := strings.CutSuffix(mode, "/workers"); ok {
				mode, workers = m, 3
			}
			opt := &KeySetOptions{MemoryBudget: ksSmall, TempDir: dir, FinishWorkers: workers,
				KeyAt: func(off int64, buf []byte) ([]byte, error) {
					if mode == "keyat error" {
						return nil, stop
					}
					return append(buf, "same"...), nil
				},
				Duplicate: func(d *Duplicate) error {
					if mode == "callback error" {
						return stop
					}
					return nil
				},
			}
			s := NewKeySet(opt)
			for i := range 10000 {
				if err := s.Add(0, binary.BigEndian.AppendUint32(nil, uint32(i)), int64(i)); err != nil {
					t.Fatal(err)
				}
			}
			s.Add(0, binary.BigEndian.AppendUint32(nil, 0), 20000)
			if !s.spilled {
				t.Fatal("did not spill")
			}
			// The spill file is unlinked while open (Linux).
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Fatalf("spill dir: %v", ents)
			}
			var err error
			if mode != "close" {
				err = s.Finish()
				if s.finishOn != workers {
					t.Errorf("Finish on %d goroutines, want %d", s.finishOn, workers)
				}
			}
			switch mode {
			case "finish", "close":
				if err != nil {
					t.Fatal(err)
				}
			default:
				if !errors.Is(err, stop) {
					t.Fatalf("Finish: %v, want %v", err, stop)
				}
				if err2 := s.Add(0, nil, 30000); !errors.Is(err2, stop) {
					t.Errorf("Add after error: %v", err2)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("left behind: %v", ents)
			}
			if err := s.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
		})
	}
}

func TestKeySetReserve(t *testing.T) {
	s := NewKeySet(&KeySetOptions{MemoryBudget: 1 << 20, TempDir: t.TempDir()})
	defer s.Close()
	if err := s.Reserve(10000); err != nil {
		t.Fatal(err)
	}
	if got := len(s.slots); got != 16384 || s.spilled {
		t.Errorf("table of %d slots for 10000 keys (spilled %v)", got, s.spilled)
	}
	// More than the budget holds: spill at once.
	if err := s.Reserve(1 << 30); err != nil {
		t.Fatal(err)
	}
	if !s.spilled || s.peak > 1<<20 {
		t.Errorf("spilled %v, peak %d", s.spilled, s.peak)
	}
}

// TestKeySetReserveSpill adds keys after a Reserve that spilled at once.
func TestKeySetReserveSpill(t *testing.T) {
	recs := ksKeys(3000, "r")
	recs = append(recs, recs[0], recs[2999], ksRec{db: 3, key: recs[1].key})
	var dups []Duplicate
	s := NewKeySet(&KeySetOptions{MemoryBudget: ksSmall, TempDir: t.TempDir(),
		KeyAt: func(off int64, buf []byte) ([]byte, error) { return append(buf, recs[off/100-1].key...), nil },
		Duplicate: func(d *Duplicate) error {
			dd := *d
			dd.Key = slices.Clone(d.Key)
			dups = append(dups, dd)
			return nil
		}})
	defer s.Close()
	if err := s.Reserve(uint64(len(recs))); err != nil {
		t.Fatal(err)
	}
	for i, r := range recs {
		if err := s.Add(r.db, []byte(r.key), int64(i+1)*100); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Finish(); err != nil {
		t.Fatal(err)
	}
	ksCheck(t, dups, ksWant(recs))
	if !s.spilled {
		t.Error("did not spill")
	}
}

// BenchmarkKeySet adds distinct 20-byte keys; ns/key is the cost of the
// duplicate test per key, Finish included.
func BenchmarkKeySet(b *testing.B) {
	for _, bc := range []struct {
		name   string
		keys   int
		budget int
	}{
		{"memory-1M", 1 << 20, 64 << 20},
		{"spill-1M", 1 << 20, 4 << 20},
	} {
		b.Run(bc.name, func(b *testing.B) {
			keys := make([][]byte, bc.keys)
			for i := range keys {
				keys[i] = fmt.Appendf(nil, "key:%016d", i)
			}
			b.ReportAllocs()
			for b.Loop() {
				s := NewKeySet(&KeySetOptions{MemoryBudget: bc.budget, TempDir: b.TempDir(),
					KeyAt: func(off int64, buf []byte) ([]byte, error) { return keys[off], nil }})
				s.Reserve(uint64(len(keys)))
				for i, k := range keys {
					s.Add(0, k, int64(i))
				}
				if err := s.Finish(); err != nil {
					b.Fatal(err)
				}
				s.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(bc.keys), "ns/key")
		})
	}
}

// TestRDBKeyReader reads every key of encoded files again by offset.
func TestRDBKeyReader(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  *rdb.EncodeOptions
		aux  []rdb.Record
	}{
		{"redis 7.2", &rdb.EncodeOptions{Version: 11}, nil},
		{"valkey 8", &rdb.EncodeOptions{Version: 11, Flavour: rdb.FlavourValkey},
			[]rdb.Record{&rdb.Aux{Key: []byte("valkey-ver"), Value: []byte("8.0.1")}}},
		{"valkey 9", &rdb.EncodeOptions{Version: 80, Flavour: rdb.FlavourValkey}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			enc := rdb.NewEncoder(&buf, tc.opt)
			for _, r := range tc.aux {
				if err := enc.Write(r); err != nil {
					t.Fatal(err)
				}
			}
			for i := range 50 {
				ent := &rdb.Entry{DB: uint64(i % 3), Key: fmt.Appendf(nil, "key-%d", i), ExpireAtMs: rdb.NoExpire, LRUIdleSec: -1, LFUFreq: -1}
				if i%2 == 0 {
					ent.ExpireAtMs = 4102444800000
				}
				var v rdb.Value = &rdb.String{Data: []byte("v")}
				if i%5 == 0 {
					v = &rdb.Hash{Fields: []rdb.HashField{{Field: []byte("f"), Value: []byte("x")}}}
				}
				if err := enc.WriteEntry(ent, v); err != nil {
					t.Fatal(err)
				}
			}
			if err := enc.Close(); err != nil {
				t.Fatal(err)
			}
			data := buf.Bytes()
			dec := rdb.NewDecoder(bytes.NewReader(data), nil)
			var kr *RDBKeyReader
			n := 0
			for {
				rec, err := dec.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				e, ok := rec.(*rdb.Entry)
				if !ok {
					continue
				}
				if kr == nil {
					fl, _ := dec.Flavour()
					kr = NewRDBKeyReader(bytes.NewReader(data), fl)
				}
				got, err := kr.EntryAt(e.Offset)
				if err != nil {
					t.Fatalf("EntryAt(%d): %v", e.Offset, err)
				}
				if !bytes.Equal(got.Key, e.Key) || got.Type != e.Type || got.ExpireAtMs != e.ExpireAtMs {
					t.Errorf("EntryAt(%d) = %q type %d, want %q type %d", e.Offset, got.Key, got.Type, e.Key, e.Type)
				}
				n++
			}
			if n != 50 {
				t.Errorf("%d keys", n)
			}
			if _, err := kr.KeyAt(0, nil); err == nil {
				t.Error("KeyAt(0) of the header: no error")
			}
		})
	}
}
