//go:build unix

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/persistkit/persistkit/internal/clitest"
)

// TestPipedInput reads AOFs from standard input and from a FIFO: every
// command gives what it gives for the file, names the input as given, and
// leaves nothing in $TMPDIR; what would change the input, two standard
// inputs and a piped manifest are usage errors.
func TestPipedInput(t *testing.T) {
	dir := filepath.Join(corpusDir, "7.4.1", "aof")
	plain := filepath.Join(dir, "aof-plain", "appendonlydir", "appendonly.aof.2.incr.aof")
	hybridBase := filepath.Join(dir, "aof-hybrid", "appendonlydir", "appendonly.aof.2.base.rdb")
	manifest := filepath.Join(dir, "aof-plain", "appendonlydir", "appendonly.aof.manifest")
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	leftovers := func() {
		t.Helper()
		if ents, _ := os.ReadDir(tmp); len(ents) > 0 {
			t.Errorf("%d files left in TMPDIR, first %s", len(ents), ents[0].Name())
		}
	}

	for _, file := range []string{plain, hybridBase} {
		for _, args := range [][]string{{"digest"}, {"dump"}, {"check"}, {"--json", "check"}} {
			want, wantErr, wantCode := runCLI(t, false, "", append(args, file)...)
			got, gotErr, code := runCLI(t, false, read(file), append(args, "-")...)
			want = strings.ReplaceAll(want, file, "-")
			if got != want || code != wantCode {
				t.Errorf("%v - of %s: exit %d (want %d)\n%s\nwant:\n%s", args, filepath.Base(file), code, wantCode, got, want)
			}
			if gotErr != strings.ReplaceAll(wantErr, file, "-") {
				t.Errorf("%v -: stderr %q, want %q", args, gotErr, wantErr)
			}
			leftovers()
		}
	}

	// convert writes the same RDB as from the file.
	out := filepath.Join(t.TempDir(), "a.rdb")
	outPipe := filepath.Join(t.TempDir(), "b.rdb")
	if _, e, code := runCLI(t, false, "", "convert", plain, "-o", out); code != 0 {
		t.Fatalf("convert file: %d %s", code, e)
	}
	if _, e, code := runCLI(t, false, read(plain), "convert", "-", "-o", outPipe); code != 0 {
		t.Fatalf("convert -: %d %s", code, e)
	}
	if !bytes.Equal([]byte(read(out)), []byte(read(outPipe))) {
		t.Error("convert - wrote another RDB than convert FILE")
	}

	// A FIFO, as <(zcat ...) gives.
	fifo := clitest.FIFO(t, []byte(read(plain)))
	want, _, wantCode := runCLI(t, false, "", "verify", plain, hybridBase)
	got, gotErr, code := runCLI(t, false, "", "verify", fifo, hybridBase)
	if code != wantCode || got != strings.ReplaceAll(want, plain, fifo) {
		t.Errorf("verify FIFO: exit %d %s\n%s\nwant\n%s", code, gotErr, got, want)
	}
	leftovers()

	// Damage: the error names "-", not the temp file.
	cut := read(plain)[:1000]
	got, gotErr, code = runCLI(t, false, cut, "check", "-")
	if code != 3 || !strings.Contains(got, "AOF - is not valid") || strings.Contains(got+gotErr, tmp) {
		t.Errorf("damaged check -: exit %d\n%s%s", code, got, gotErr)
	}
	if !strings.Contains(gotErr, "cannot be fixed in place") {
		t.Errorf("damaged check -: hint %q", gotErr)
	}
	_, gotErr, code = runCLI(t, false, "*2\r\n$3\r\nGET\r\nxx", "dump", "-")
	if code != 3 || !strings.HasPrefix(gotErr, "aoftool: error: -: ") || strings.Contains(gotErr, tmp) {
		t.Errorf("bad dump -: exit %d %q", code, gotErr)
	}
	leftovers()

	for _, c := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{read(plain), []string{"check", "--fix", "-"}, "--fix changes the AOF file in place"},
		{cut, []string{"check", "--truncate-to-timestamp", "5", "-"}, "--truncate-to-timestamp changes"},
		{"", []string{"verify", "-", "-"}, "standard input (-) can be given once"},
		{read(manifest), []string{"check", "-"}, "holds a manifest"},
	} {
		_, gotErr, code := runCLI(t, false, c.stdin, c.args...)
		if code != 2 || !strings.Contains(gotErr, c.want) {
			t.Errorf("%v: exit %d %q, want 2 and %q", c.args, code, gotErr, c.want)
		}
	}
	leftovers()
}
