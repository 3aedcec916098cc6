package attest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"unicode/utf8"
)

// ErrNonCanonical is wrapped by every error about input that is valid JSON
// but not in canonical form, or not JSON of the restricted kind we sign.
var ErrNonCanonical = errors.New("non-canonical encoding")

// The canonical form, the only bytes ever signed or accepted:
//
//   - UTF-8 JSON with no insignificant whitespace;
//   - object members sorted by key in byte order, no duplicate keys;
//   - numbers are integers in int64 range, shortest form ("0", "-12"; no
//     "-0", "+1", leading zeros, fractions or exponents);
//   - strings escape only '"' as \", '\' as \\, and control characters
//     below U+0020 as \b \t \n \f \r or else \u00XX (lower-case hex);
//     everything else, including "/" and non-ASCII, is written literally.
//
// Values are modelled as map[string]any, []any, string, int64, bool and nil.

// parseValue parses data strictly: it must be one JSON value of the
// restricted kind (integers only, no duplicate keys, valid UTF-8). It does
// not check canonical form; compare [marshalCanonical] of the result with
// data for that.
func parseValue(data []byte) (any, error) {
	// encoding/json silently replaces invalid UTF-8 with U+FFFD, which
	// would make two different files parse alike.
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: invalid UTF-8", ErrNonCanonical)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := parseNext(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the JSON value", ErrNonCanonical)
	}
	return v, nil
}

// maxDepth bounds nesting; attestations are three levels deep.
const maxDepth = 16

func parseNext(dec *json.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: nested too deeply", ErrNonCanonical)
	}
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			m := map[string]any{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, fmt.Errorf("invalid JSON: %w", err)
				}
				k := kt.(string) // the decoder guarantees string keys
				if _, dup := m[k]; dup {
					return nil, fmt.Errorf("%w: duplicate key %q", ErrNonCanonical, k)
				}
				v, err := parseNext(dec, depth+1)
				if err != nil {
					return nil, err
				}
				m[k] = v
			}
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("invalid JSON: %w", err)
			}
			return m, nil
		case '[':
			a := []any{}
			for dec.More() {
				v, err := parseNext(dec, depth+1)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("invalid JSON: %w", err)
			}
			return a, nil
		}
		return nil, fmt.Errorf("invalid JSON: unexpected %v", t)
	case json.Number:
		n, err := strconv.ParseInt(string(t), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: number %s is not an int64 integer", ErrNonCanonical, t)
		}
		return n, nil
	case string, bool, nil:
		return t, nil
	}
	return nil, fmt.Errorf("invalid JSON: unexpected token %v", tok)
}

// marshalCanonical appends the canonical form of v.
func marshalCanonical(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case string:
		if !utf8.ValidString(v) {
			return nil, fmt.Errorf("%w: invalid UTF-8 in string", ErrNonCanonical)
		}
		return appendCanonicalString(b, v), nil
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = marshalCanonical(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys) // byte order
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			if !utf8.ValidString(k) {
				return nil, fmt.Errorf("%w: invalid UTF-8 in key", ErrNonCanonical)
			}
			b = appendCanonicalString(b, k)
			b = append(b, ':')
			var err error
			if b, err = marshalCanonical(b, v[k]); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	}
	return nil, fmt.Errorf("attest: cannot encode %T canonically", v)
}

func appendCanonicalString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// Canonicalize parses data strictly and returns its canonical form; it is
// what "re-serialise" means in the documentation.
func Canonicalize(data []byte) ([]byte, error) {
	v, err := parseValue(data)
	if err != nil {
		return nil, err
	}
	return marshalCanonical(nil, v)
}
