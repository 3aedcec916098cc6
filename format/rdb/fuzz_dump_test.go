package rdb

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// dumpPayload appends a DUMP footer (version, CRC-64) to body, so that
// mutations reach the value decoder instead of stopping at the CRC.
func dumpPayload(body []byte, ver uint16) []byte {
	b := binary.LittleEndian.AppendUint16(append([]byte(nil), body...), ver)
	return binary.LittleEndian.AppendUint64(b, CRC64(0, b))
}

// FuzzDecodeDump feeds RESTORE payloads to DecodeDump and DecodeDumpEntry:
// no panic, every error a *FormatError inside the payload, Deep accepting
// nothing shallow refuses, and every accepted value re-encoded as a DUMP
// payload of the same version decodes to the same value. The fuzzer
// mutates the body; the footer is recomputed (the first byte picks the
// version) except when that byte is 0xFF, which keeps the input verbatim.
func FuzzDecodeDump(f *testing.F) {
	data, err := os.ReadFile(filepath.Join(decCorpusDir, "7.4.1", "types-small", "dump.rdb"))
	if err != nil {
		f.Fatal(err)
	}
	dec, err := decodeBytes(data, nil)
	if err != nil {
		f.Fatal(err)
	}
	for i, v := range dec.vals {
		for _, ver := range []int{9, 11, 12} {
			if p, err := EncodeDumpWith(v, dec.ents[i].Encoding, &EncodeOptions{Version: ver, KeepEncoding: true}); err == nil {
				f.Add(append([]byte{byte(ver)}, p[:len(p)-dumpFooterLen]...))
			}
		}
	}
	f.Add([]byte{11, byte(TypeString), 3, 'a', 'b', 'c'})
	f.Add(append([]byte{0xFF}, dumpPayload([]byte{0, 1, 'x'}, 11)...))
	lim := Limits{MaxStringLen: 1 << 20, MaxElements: 1 << 16}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		var p []byte
		ver := int(in[0])
		if in[0] == 0xFF {
			p = in[1:]
		} else {
			if ver == 14 {
				ver = valkeyVersion
			}
			p = dumpPayload(in[1:], uint16(ver))
		}
		check := func(err error) {
			if err == nil {
				return
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("untyped error %T %v", err, err)
			}
			if fe.Offset < 0 || fe.Offset > int64(len(p)) {
				t.Fatalf("offset %d outside the %d-byte payload: %v", fe.Offset, len(p), err)
			}
		}
		_, serr := DecodeDump(p)
		check(serr)
		ent, v, derr := DecodeDumpEntry(p, &DecodeOptions{Deep: true, Limits: lim})
		check(derr)
		if derr != nil {
			return
		}
		if serr != nil {
			t.Fatalf("deep accepted, shallow refused: %v", serr)
		}
		pver := int(binary.LittleEndian.Uint16(p[len(p)-dumpFooterLen:]))
		if pver < 6 || (pver > maxRedisVersion && pver != valkeyVersion) {
			return // the encoder writes 6..13 and 80 only
		}
		opt := &EncodeOptions{Version: pver, KeepEncoding: true}
		if pver == valkeyVersion {
			opt.Flavour = FlavourValkey
		}
		out, err := EncodeDumpWith(v, ent.Encoding, opt)
		if errors.Is(err, ErrUnsupported) {
			return
		}
		if err != nil {
			t.Fatalf("re-encode v%d: %v", pver, err)
		}
		_, v2, err := DecodeDumpEntry(out, &DecodeOptions{Deep: true})
		if err != nil {
			t.Fatalf("re-decode v%d: %v\npayload %x", pver, err, out)
		}
		caps := targetCaps{version: pver, valkey: pver == valkeyVersion}
		if a, b := canonValue(v, caps), canonValue(v2, caps); a != b {
			t.Fatalf("round trip differs:\n%s", firstDiff(a, b))
		}
	})
}
