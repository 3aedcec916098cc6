package manifest

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const corpusDir = "../../fixtures/corpus"

func TestParse(t *testing.T) {
	long := "file " + strings.Repeat("a", 1000) + " seq 1 type i"
	tests := []struct {
		name    string
		in      string
		want    []File
		err     error
		errLine int
	}{
		{name: "redis", in: "file a.2.base.rdb seq 2 type b\nfile a.2.incr.aof seq 2 type i\n",
			want: []File{{"a.2.base.rdb", 2, 'b'}, {"a.2.incr.aof", 2, 'i'}}},
		{name: "empty", in: "", err: ErrEmpty, errLine: 1},
		{name: "only comments", in: "# hello\n", want: nil},
		{name: "comment and record", in: "#c\nfile x seq 1 type i\n", want: []File{{"x", 1, 'i'}}},
		{name: "no trailing newline", in: "file x seq 1 type i", err: ErrLineTooLong, errLine: 1},
		{name: "blank line", in: "file x seq 1 type i\n\n", err: ErrInvalidFormat, errLine: 2},
		{name: "spaces only", in: " \t\r\n", err: ErrInvalidFormat, errLine: 1},
		{name: "crlf", in: "file x seq 1 type i\r\n", want: []File{{"x", 1, 'i'}}},
		{name: "leading blanks", in: "  \tfile x seq 1 type i  \n", want: []File{{"x", 1, 'i'}}},
		{name: "case-insensitive keys", in: "FILE x Seq 1 TYPE i\n", want: []File{{"x", 1, 'i'}}},
		{name: "unknown keys ignored", in: "file x seq 1 type i future yes\n", want: []File{{"x", 1, 'i'}}},
		{name: "repeated key last wins", in: "file x seq 1 type i file y\n", want: []File{{"y", 1, 'i'}}},
		{name: "repeated key last wins even", in: "file x seq 1 type i file y seq 3\n", want: []File{{"y", 3, 'i'}}},
		{name: "too few tokens", in: "file x seq 1\n", err: ErrInvalidFormat, errLine: 1},
		{name: "odd tokens", in: "file x seq 1 type i z\n", err: ErrInvalidFormat, errLine: 1},
		{name: "quoted name", in: "file \"a b\\\"c\\x41\\n\" seq 1 type i\n", want: []File{{"a b\"cA\n", 1, 'i'}}},
		{name: "single quoted", in: "file 'a\\'b' seq 1 type i\n", want: []File{{"a'b", 1, 'i'}}},
		{name: "quote mid token", in: "file ab\"c d\" seq 1 type i\n", want: []File{{"abc d", 1, 'i'}}},
		{name: "unterminated quote", in: "file \"ab seq 1 type i\n", err: ErrInvalidFormat, errLine: 1},
		{name: "closing quote glued", in: "file \"ab\"c seq 1 type i\n", err: ErrInvalidFormat, errLine: 1},
		{name: "nul in quoted name truncates", in: "file \"ab\\x00cd\" seq 1 type i\n", want: []File{{"ab", 1, 'i'}}},
		{name: "path slash", in: "file a/b seq 1 type i\n", err: ErrPath, errLine: 1},
		{name: "path backslash", in: "file \"a\\\\b\" seq 1 type i\n", err: ErrPath, errLine: 1},
		{name: "empty name", in: "file \"\" seq 1 type i\n", err: ErrInvalidFormat, errLine: 1},
		{name: "seq 0", in: "file x seq 0 type i\n", err: ErrInvalidFormat, errLine: 1},
		{name: "seq abc", in: "file x seq abc type i\n", err: ErrInvalidFormat, errLine: 1},
		{name: "seq junk after digits", in: "file x seq 12abc type i\n", want: []File{{"x", 12, 'i'}}},
		{name: "negative base seq", in: "file x seq -3 type b\n", want: []File{{"x", -3, 'b'}}},
		{name: "negative incr seq", in: "file x seq -3 type i\n", err: ErrNonMonotonic, errLine: 1},
		{name: "type first char", in: "file x seq 1 type incr\n", want: []File{{"x", 1, 'i'}}},
		{name: "type uppercase", in: "file x seq 1 type B\n", err: ErrUnknownType, errLine: 1},
		{name: "type empty", in: "file x seq 1 type ''\n", err: ErrInvalidFormat, errLine: 1},
		{name: "two bases", in: "file x seq 1 type b\nfile y seq 2 type b\n", err: ErrDuplicateBase, errLine: 2},
		{name: "non-monotonic", in: "file x seq 2 type i\nfile y seq 2 type i\n", err: ErrNonMonotonic, errLine: 2},
		{name: "history only", in: "file x seq 1 type h\n", want: []File{{"x", 1, 'h'}}},
		{name: "incr before base", in: "file y seq 1 type i\nfile x seq 1 type b\n", want: []File{{"y", 1, 'i'}, {"x", 1, 'b'}}},
		{name: "1023 bytes + newline", in: long + strings.Repeat(" ", 1023-len(long)) + "\n", want: []File{{strings.Repeat("a", 1000), 1, 'i'}}},
		{name: "1024 bytes + newline", in: long + strings.Repeat(" ", 1024-len(long)) + "\n", err: ErrLineTooLong, errLine: 1},
		{name: "long comment spills", in: "#" + strings.Repeat("x", 1023) + "file x seq 1 type i\n", want: []File{{"x", 1, 'i'}}},
		{name: "nul before newline", in: "file x seq 1 type i\x00\n", err: ErrLineTooLong, errLine: 1},
		{name: "vertical tab is part of a token", in: "file a\vb seq 1 type i\n", want: []File{{"a\vb", 1, 'i'}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse(strings.NewReader(tc.in))
			if tc.err != nil {
				var pe *ParseError
				if !errors.Is(err, tc.err) || !errors.As(err, &pe) || pe.Line != tc.errLine {
					t.Fatalf("err = %v, want %v at line %d", err, tc.err, tc.errLine)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(m.Files, tc.want) {
				t.Fatalf("got %q, want %q", m.Files, tc.want)
			}
		})
	}
}

func TestParseSizeCap(t *testing.T) {
	in := strings.Repeat("file x seq 1 type h\n", 100)
	if _, err := ParseSize(strings.NewReader(in), 100); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v", err)
	}
	if _, err := ParseSize(strings.NewReader(in), int64(len(in))); err != nil {
		t.Fatal(err)
	}
}

func TestMarshal(t *testing.T) {
	tests := []struct {
		name string
		m    Manifest
		want string
	}{
		{"redis order", Manifest{[]File{{"i1", 3, 'i'}, {"h", 1, 'h'}, {"b", 2, 'b'}, {"i2", 4, 'i'}}},
			"file b seq 2 type b\nfile h seq 1 type h\nfile i1 seq 3 type i\nfile i2 seq 4 type i\n"},
		{"space", Manifest{[]File{{"a b", 1, 'i'}}}, "file \"a b\" seq 1 type i\n"},
		{"escapes", Manifest{[]File{{"q\"\n\r\t\a\b\x01\x7f\xff", 1, 'i'}}}, `file "q\"\n\r\t\a\b\x01\x7f\xff" seq 1 type i` + "\n"},
		{"vertical tab", Manifest{[]File{{"a\vb", 1, 'i'}}}, `file "a\x0bb" seq 1 type i` + "\n"},
		{"plain printable", Manifest{[]File{{"a-b.aof", -2, 'b'}}}, "file a-b.aof seq -2 type b\n"},
		// Redis quotes neither of these, and its own parser then rejects
		// them (path, unterminated quote): Validate refuses such names.
		{"backslash", Manifest{[]File{{`a\b`, 1, 'i'}}}, `file "a\\b" seq 1 type i` + "\n"},
		{"single quote", Manifest{[]File{{"a'b", 1, 'i'}}}, "file a'b seq 1 type i\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := string(tc.m.Marshal())
			if got != tc.want {
				t.Fatalf("got %q\nwant %q", got, tc.want)
			}
			if tc.m.Validate() != nil {
				return
			}
			back, err := Parse(strings.NewReader(got))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(back.Marshal(), []byte(got)) {
				t.Fatalf("round trip differs: %q", back.Marshal())
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		files []File
		err   error
		line  int
	}{
		{"ok", []File{{"b", 1, 'b'}, {"h", 1, 'h'}, {"i", 1, 'i'}, {"j", 2, 'i'}}, nil, 0},
		{"empty manifest ok", nil, nil, 0},
		{"two bases", []File{{"b", 1, 'b'}, {"c", 2, 'b'}}, ErrDuplicateBase, 2},
		{"incr not increasing", []File{{"i", 2, 'i'}, {"j", 1, 'i'}}, ErrNonMonotonic, 2},
		{"incr seq negative", []File{{"i", -1, 'i'}}, ErrNonMonotonic, 1},
		{"unknown type", []File{{"i", 1, 'x'}}, ErrUnknownType, 1},
		{"seq 0", []File{{"i", 0, 'h'}}, ErrInvalidFormat, 1},
		{"empty name", []File{{"", 1, 'i'}}, ErrName, 1},
		{"nul name", []File{{"a\x00b", 1, 'i'}}, ErrName, 1},
		{"single quote", []File{{"it's", 1, 'i'}}, ErrName, 1},
		{"path", []File{{"../a", 1, 'i'}}, ErrPath, 1},
		{"backslash", []File{{`a\b`, 1, 'i'}}, ErrPath, 1},
		{"line too long", []File{{strings.Repeat("n", 1010), 1, 'i'}}, ErrLineTooLong, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &Manifest{Files: tc.files}
			err := m.Validate()
			if tc.err == nil {
				if err != nil {
					t.Fatal(err)
				}
				// A valid manifest parses back to the same records (in Redis order).
				if len(tc.files) > 0 {
					back, err := Parse(bytes.NewReader(m.Marshal()))
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(back.Marshal(), m.Marshal()) {
						t.Fatal("round trip differs")
					}
				}
				return
			}
			var pe *ParseError
			if !errors.Is(err, tc.err) || !errors.As(err, &pe) || pe.Line != tc.line {
				t.Fatalf("err = %v, want %v at %d", err, tc.err, tc.line)
			}
		})
	}
}

func corpusManifests(t testing.TB) []string {
	var out []string
	filepath.WalkDir(corpusDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".manifest") {
			out = append(out, p)
		}
		return nil
	})
	if len(out) < 20 {
		t.Fatalf("only %d manifests", len(out))
	}
	return out
}

func TestCorpusManifests(t *testing.T) {
	for _, p := range corpusManifests(t) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Parse(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if err := m.Validate(); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		if got := m.Marshal(); !bytes.Equal(got, data) {
			t.Errorf("%s: marshal differs:\n%q\n%q", p, got, data)
		}
		if m.Base() == nil || len(m.Incrs()) != 1 {
			t.Errorf("%s: want a base and one incr, got %v", p, m.Files)
		}
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	m := &Manifest{Files: []File{{"a.1.base.rdb", 1, 'b'}, {"a.1.incr.aof", 1, 'i'}}}
	if err := WriteFile(dir, "a.manifest", m); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "a.manifest"))
	if err != nil || !bytes.Equal(got, m.Marshal()) {
		t.Fatalf("%q %v", got, err)
	}
	bad := &Manifest{Files: []File{{"x", 1, 'b'}, {"y", 1, 'b'}}}
	if err := WriteFile(dir, "a.manifest", bad); !errors.Is(err, ErrDuplicateBase) {
		t.Fatalf("err = %v", err)
	}
	des, _ := os.ReadDir(dir)
	if len(des) != 1 {
		t.Fatalf("leftover files: %v", des)
	}
}
