package rdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sweepFull runs every offset and every flip mask; the default is a dense
// sample that keeps -race runs short.
func sweepFull() bool { return os.Getenv("PERSISTKIT_SWEEP") == "full" && !testing.Short() }

// sweepFiles are the small real-server fixtures the sweep damages.
func sweepFiles(t *testing.T) []string {
	files, err := filepath.Glob(filepath.Join(decCorpusDir, "*", "types-small", "dump*.rdb"))
	if err != nil || len(files) < 4 {
		t.Fatalf("types-small fixtures: %v %v", files, err)
	}
	more, _ := filepath.Glob(filepath.Join(decCorpusDir, "*", "streams", "dump.rdb"))
	for _, f := range more {
		if fi, err := os.Stat(f); err == nil && fi.Size() <= 16<<10 {
			files = append(files, f)
		}
	}
	return files
}

// sweepDecode decodes data fully in three modes (values, deep, skipping),
// each under a deadline, and returns the errors. Every error must be a
// *FormatError with an offset inside data and a sentinel cause.
func sweepDecode(t *testing.T, data []byte, what string) (shallow, deep, skip error) {
	t.Helper()
	opt := &DecodeOptions{Limits: Limits{MaxStringLen: 1 << 20, MaxElements: 1 << 16}}
	deepOpt := *opt
	deepOpt.Deep = true
	done := make(chan [3]error, 1)
	go func() {
		var errs [3]error
		_, errs[0] = decodeBytes(data, opt)
		_, errs[1] = decodeBytes(data, &deepOpt)
		d := NewDecoder(bytes.NewReader(data), opt)
		for {
			if _, err := d.Next(); err != nil {
				if err != io.EOF {
					errs[2] = err
				}
				break
			}
		}
		done <- errs
	}()
	var errs [3]error
	select {
	case errs = <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: decoder hung", what)
	}
	for _, err := range errs {
		if err == nil {
			continue
		}
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Fatalf("%s: untyped error %T %v", what, err, err)
		}
		if fe.Offset < 0 || fe.Offset > int64(len(data)) {
			t.Fatalf("%s: offset %d outside the %d-byte input: %v", what, fe.Offset, len(data), err)
		}
		if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrLimit) &&
			!errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrChecksum) {
			t.Fatalf("%s: error without a sentinel cause: %v", what, err)
		}
	}
	if errs[1] == nil && errs[0] != nil {
		t.Fatalf("%s: deep decode accepted what shallow decode refused: %v", what, errs[0])
	}
	return errs[0], errs[1], errs[2]
}

// TestCorruptionSweep truncates real-server RDB files at every offset and
// flips bytes throughout them. No panic, no hang, typed errors inside the
// input; a truncated file never decodes; with a CRC stored, no flip goes
// unnoticed.
func TestCorruptionSweep(t *testing.T) {
	full := sweepFull()
	for _, path := range sweepFiles(t) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(path, decCorpusDir+"/")
		t.Run(name, func(t *testing.T) {
			if s, d, k := sweepDecode(t, data, "intact"); s != nil || d != nil || k != nil {
				t.Fatalf("intact file: %v / %v / %v", s, d, k)
			}
			ver := 0
			if len(data) >= 9 {
				for _, c := range data[5:9] {
					ver = ver*10 + int(c-'0')
				}
			}
			crcOn := ver >= 5 && binary.LittleEndian.Uint64(data[len(data)-8:]) != 0
			step := 1
			if !full && len(data) > 256 {
				step = len(data)/256 + 1
			}

			// Truncation: every proper prefix fails in all modes, at an
			// offset no further than the cut.
			for n := 0; n < len(data); n += step {
				s, d, k := sweepDecode(t, data[:n], "cut")
				for i, err := range []error{s, d, k} {
					if err == nil {
						t.Fatalf("cut at %d: mode %d decoded a truncated file", n, i)
					}
				}
			}

			// Byte flips: with a CRC stored, every flip fails; without,
			// flips may land in don't-care bytes, but errors stay typed.
			flip := bytes.Clone(data)
			masks := []byte{0xFF, 0x01, 0x80, 0x10}
			for i := 0; i < len(data); i += step {
				ms := masks
				if !full {
					ms = masks[i%len(masks) : i%len(masks)+1]
				}
				for _, m := range ms {
					flip[i] ^= m
					s, d, k := sweepDecode(t, flip, "flip")
					if crcOn && (s == nil || d == nil) {
						t.Fatalf("flip %#x at %d: decoded without error although the CRC is on", m, i)
					}
					// Skipping keeps hashing every byte, so it sees the
					// mismatch as well (unless a length now points past
					// the end, which fails differently).
					if crcOn && k == nil {
						t.Fatalf("flip %#x at %d: skipping decode succeeded although the CRC is on", m, i)
					}
					flip[i] ^= m
				}
			}
		})
	}
}

// TestCorruptionSweepDump damages DUMP payloads (RESTORE input) encoded
// from the fixture values: every flip and every cut must fail, typed.
func TestCorruptionSweepDump(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(decCorpusDir, "7.4.1", "types-small", "dump.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	dec, err := decodeBytes(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	full := sweepFull()
	for vi, v := range dec.vals {
		p, err := EncodeDump(v, 11)
		if err != nil {
			continue
		}
		step := 1
		if !full && len(p) > 64 {
			step = len(p)/64 + 1
		}
		check := func(b []byte, what string, i int) {
			_, err := DecodeDump(b)
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("value %d %s at %d: got %v, want *FormatError", vi, what, i, err)
			}
			if fe.Offset < 0 || fe.Offset > int64(len(b)) {
				t.Fatalf("value %d %s at %d: offset %d outside %d bytes", vi, what, i, fe.Offset, len(b))
			}
		}
		for n := 0; n < len(p); n += step {
			check(p[:n], "cut", n)
		}
		for i := 0; i < len(p); i += step {
			p[i] ^= 0x5A
			check(p, "flip", i)
			p[i] ^= 0x5A
		}
	}
}
