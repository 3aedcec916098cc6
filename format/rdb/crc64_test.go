package rdb

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc64"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// crc64Bitwise is the textbook LSB-first CRC, the reference for the tables.
func crc64Bitwise(crc uint64, p []byte) uint64 {
	for _, b := range p {
		crc ^= uint64(b)
		for range 8 {
			if crc&1 == 1 {
				crc = crc>>1 ^ crc64Poly
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

func TestCRC64CheckValue(t *testing.T) {
	const want uint64 = 0xe9c6d914c4b8d9ca
	in := []byte("123456789")
	if got := CRC64(0, in); got != want {
		t.Errorf("CRC64(123456789) = %#x, want %#x", got, want)
	}
	if got := crc64Bitwise(0, in); got != want {
		t.Errorf("bitwise reference = %#x, want %#x", got, want)
	}
	// The stdlib with init/xorout undone (spec rdb.md §10) must agree.
	tab := crc64.MakeTable(crc64Poly)
	if got := ^crc64.Update(^uint64(0), tab, in); got != want {
		t.Errorf("stdlib = %#x, want %#x", got, want)
	}
	if got := CRC64(0, nil); got != 0 {
		t.Errorf("CRC64(empty) = %#x, want 0", got)
	}
}

func TestCRC64MatchesBitwise(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 200)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	for n := 0; n <= 100; n++ {
		for _, start := range []int{0, 1, 3, 7} {
			p := buf[start : start+n]
			seed := r.Uint64()
			if got, want := CRC64(seed, p), crc64Bitwise(seed, p); got != want {
				t.Fatalf("len %d start %d seed %#x: got %#x, want %#x", n, start, seed, got, want)
			}
		}
	}
}

func TestCRC64Incremental(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	buf := make([]byte, 5000)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	whole := CRC64(0, buf)
	for _, cut := range []int{0, 1, 7, 8, 9, 4095, 4999, 5000} {
		if got := CRC64(CRC64(0, buf[:cut]), buf[cut:]); got != whole {
			t.Errorf("split at %d: %#x, want %#x", cut, got, whole)
		}
	}
}

func BenchmarkCRC64(b *testing.B) {
	for _, size := range []int{64, 4 << 10, 1 << 20} {
		buf := make([]byte, size)
		for i := range buf {
			buf[i] = byte(i * 31)
		}
		b.Run(byteSizeName(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			var crc uint64
			for b.Loop() {
				crc = CRC64(crc, buf)
			}
		})
	}
}

func byteSizeName(n int) string {
	switch {
	case n >= 1<<20:
		return itoa(n>>20) + "MiB"
	case n >= 1<<10:
		return itoa(n>>10) + "KiB"
	}
	return itoa(n) + "B"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// TestCRC64Corpus checks the CRC against real Redis output: the trailer of
// every RDB file (written with rdbchecksum yes) and every DUMP payload
// recorded in truth.json (value, RDB version, then the CRC-64 of all
// preceding bytes, little-endian).
func TestCRC64Corpus(t *testing.T) {
	root := filepath.Join("..", "..", "fixtures", "corpus")
	files, dumps := 0, 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := d.Name()
		switch {
		case strings.HasSuffix(name, ".rdb") && !strings.Contains(path, "corrupt") && !strings.Contains(name, "nochecksum"):
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			ver, _ := strconv.Atoi(string(b[5:9]))
			if ver < 5 || len(b) < 17 {
				return nil // no checksum before RDB 5
			}
			stored := binary.LittleEndian.Uint64(b[len(b)-8:])
			if got := CRC64(0, b[:len(b)-8]); got != stored && stored != 0 {
				t.Errorf("%s: CRC64 %#x, file says %#x", path, got, stored)
			}
			files++
		case name == "truth.json":
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			var truth struct {
				DBs map[string][]struct {
					Key  json.RawMessage `json:"key"`
					Dump []byte          `json:"dump"` // base64 in the file
				} `json:"dbs"`
			}
			if err := json.Unmarshal(b, &truth); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			for _, keys := range truth.DBs {
				for _, k := range keys {
					p := k.Dump
					if len(p) < 10 {
						continue
					}
					want := binary.LittleEndian.Uint64(p[len(p)-8:])
					if got := CRC64(0, p[:len(p)-8]); got != want {
						t.Errorf("%s key %q: DUMP CRC64 %#x, payload says %#x", path, k.Key, got, want)
					}
					dumps++
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("verified %d RDB files and %d DUMP payloads", files, dumps)
	if files == 0 || dumps == 0 {
		t.Error("corpus not found")
	}
}

// The carry-less multiplication path (amd64 with PCLMULQDQ) against the
// tables: every length up to 4096 and every alignment of the start, from
// random crcs, and chains of calls split at random points.
func TestCRC64CLMULMatchesTable(t *testing.T) {
	t.Logf("carry-less multiplication: %v", hasCLMUL)
	r := rand.New(rand.NewPCG(5, 6))
	buf := make([]byte, 4096+16)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	for n := 0; n <= 4096; n++ {
		for align := range 16 {
			if quick() && align != n%16 {
				continue
			}
			p := buf[align : align+n]
			seed := r.Uint64()
			if got, want := CRC64(seed, p), crc64Table(seed, p); got != want {
				t.Fatalf("len %d align %d seed %#x: got %#x, want %#x", n, align, seed, got, want)
			}
		}
	}
	// Against the bitwise reference too, not only the tables.
	for _, n := range []int{64, 128, 129, 143, 144, 191, 192, 255, 256, 1000, 4096} {
		if got, want := CRC64(7, buf[3:3+n]), crc64Bitwise(7, buf[3:3+n]); got != want {
			t.Errorf("len %d: got %#x, bitwise %#x", n, got, want)
		}
	}
	big := make([]byte, 3<<20+5)
	for i := range big {
		big[i] = byte(r.Uint32())
	}
	whole := crc64Table(0, big)
	for range 50 {
		crc, p := uint64(0), big
		for len(p) > 0 {
			k := min(len(p), r.IntN(1<<r.IntN(21)+1))
			crc, p = CRC64(crc, p[:k]), p[k:]
		}
		if crc != whole {
			t.Fatalf("chained: %#x, want %#x", crc, whole)
		}
	}
	if !hasCLMUL {
		t.Skip("no PCLMULQDQ: only the tables were tested")
	}
}

func BenchmarkCRC64Table(b *testing.B) {
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i * 31)
	}
	b.SetBytes(int64(len(buf)))
	var crc uint64
	for b.Loop() {
		crc = crc64Table(crc, buf)
	}
}
