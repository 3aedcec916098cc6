package attest

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"testing"
)

func TestCanonicalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"b":1,"a":[true,false,null],"c":"x"}`, `{"a":[true,false,null],"b":1,"c":"x"}`},
		{" { \"a\" : -12 } ", `{"a":-12}`},
		{`"\u00e9\/\u0001\n"`, "\"é/\\u0001\\n\""},
		{`{"Z":0,"a":0,"é":0}`, `{"Z":0,"a":0,"é":0}`},
	} {
		got, err := Canonicalize([]byte(tc.in))
		if err != nil || string(got) != tc.want {
			t.Errorf("Canonicalize(%s) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

func TestCanonicalizeRejects(t *testing.T) {
	for name, in := range map[string]string{
		"float":        `{"a":1.5}`,
		"exponent":     `{"a":1e3}`,
		"big":          `{"a":99999999999999999999}`,
		"duplicate":    `{"a":1,"a":1}`,
		"invalid utf8": "{\"a\":\"\xff\"}",
		"trailing":     `{} {}`,
	} {
		if _, err := Canonicalize([]byte(in)); !errors.Is(err, ErrNonCanonical) {
			t.Errorf("%s: err = %v, want ErrNonCanonical", name, err)
		}
	}
	if _, err := Canonicalize([]byte(`{"a":`)); err == nil {
		t.Error("truncated JSON accepted")
	}
}

// FuzzCanonicalize: canonical output is valid JSON, canonical itself, and
// accepted back unchanged; no input panics.
func FuzzCanonicalize(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[true,null]}`, `"\u0001é"`, `{"a":{"b":{"c":-1}}}`, `[1.5]`, `{"a":1,"a":2}`} {
		f.Add([]byte(s))
	}
	if data, err := os.ReadFile("testdata/attestation.json"); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := Canonicalize(data)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON %q", out)
		}
		again, err := Canonicalize(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %q -> %q (%v)", out, again, err)
		}
	})
}
