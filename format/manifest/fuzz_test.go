package manifest

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// FuzzManifest: no panics, typed errors, and every accepted manifest that
// Validate accepts marshals to bytes that parse back to the same manifest.
// Parse may accept names Validate refuses (a quoted "'" that Redis would
// write unquoted, or a record that grows past 1024 bytes once quoted).
func FuzzManifest(f *testing.F) {
	for _, p := range corpusManifests(f) {
		if d, err := os.ReadFile(p); err == nil {
			f.Add(d)
		}
	}
	for _, s := range []string{"", "#c\n", "file \"a b\" seq 1 type i\n", "file 'x\\'y' seq -1 type b\n",
		"file x seq 1 type i\nfile y seq 1 type i\n", "FILE x SEQ 2 TYPE h extra 1\r\n", "file \"\\x41\\x\" seq 1 type i\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(bytes.NewReader(data))
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line < 1 {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if err := m.Validate(); err != nil {
			if !errors.Is(err, ErrName) && !errors.Is(err, ErrLineTooLong) {
				t.Fatalf("parsed manifest fails Validate: %v", err)
			}
			return
		}
		if len(m.Files) == 0 {
			return // only comments: nothing to marshal
		}
		out := m.Marshal()
		back, err := Parse(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("re-parse of %q: %v", out, err)
		}
		if !bytes.Equal(back.Marshal(), out) {
			t.Fatalf("round trip differs: %q vs %q", back.Marshal(), out)
		}
	})
}
