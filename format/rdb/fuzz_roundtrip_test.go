package rdb

import (
	"errors"
	"os"
	"testing"
)

// FuzzRoundTrip: whatever the decoder accepts (deep validation on) the
// encoder writes again for the same version, or refuses with
// ErrUnsupported, and the output decodes to the same logical keyspace.
func FuzzRoundTrip(f *testing.F) {
	for _, p := range corpusRDBs(f) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if len(data) <= 64<<10 {
			f.Add(data)
		}
	}
	lim := Limits{MaxStringLen: 1 << 20, MaxElements: 1 << 16}
	f.Fuzz(func(t *testing.T, data []byte) {
		// A zero footer means "checksum disabled": without it nearly every
		// mutation would stop at the CRC check.
		if len(data) > 17 {
			data = append([]byte(nil), data...)
			clear(data[len(data)-8:])
		}
		src, err := decodeAll(data, &DecodeOptions{Deep: true, Limits: lim})
		if err != nil {
			return
		}
		opt := &EncodeOptions{Version: max(src.version, 6), Flavour: src.flavour, KeepEncoding: true}
		out, err := encodeAll(src, opt)
		if errors.Is(err, ErrUnsupported) {
			return
		}
		if err != nil {
			t.Fatalf("encode v%d: %v", opt.Version, err)
		}
		got, err := decodeAll(out, &DecodeOptions{Deep: true})
		if err != nil {
			t.Fatalf("re-decode v%d: %v\nencoded %x", opt.Version, err, out)
		}
		caps := targetCaps{version: opt.Version, valkey: src.flavour == FlavourValkey}
		if w, g := logical(src, caps), logical(got, caps); w != g {
			t.Fatalf("round trip differs:\n%s", firstDiff(w, g))
		}
	})
}
