package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/persistkit/persistkit/internal/cli"
	"github.com/persistkit/persistkit/internal/clitest"
)

// runCLI runs aoftool in-process on buffers.
func runCLI(t testing.TB, tty bool, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	env := cli.Test(strings.NewReader(stdin), &out, &errb, tty)
	code = cli.Run(context.Background(), newRootCmd(env), args)
	return out.String(), errb.String(), code
}

// TestTranscripts checks testdata/*.txt (-update rewrites them).
func TestTranscripts(t *testing.T) { clitest.Transcripts(t, runCLI) }

func itoa(n int) string { return strconv.Itoa(n) }

// TestUnknownCommandIsInvalidInput: a command no Redis knows (a damaged
// name) makes the replaying commands exit 3, naming the file once, the
// command's offset, and the damaged name quoted; a command the engine
// knows but cannot replay stays exit 1.
func TestUnknownCommandIsInvalidInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, aof string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(aof), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	set := "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
	damaged := write("damaged.aof", set+"*2\r\n$4\r\nG\xd3T\x01\r\n$1\r\nk\r\n")
	for _, args := range [][]string{{"digest", damaged}, {"convert", "-o", filepath.Join(dir, "out.rdb"), damaged}} {
		_, stderr, code := runCLI(t, false, "", args...)
		want := damaged + `: offset 27: "G\xd3T\x01": unknown command`
		if code != 3 || !strings.Contains(stderr, want) || strings.Count(stderr, damaged) != 1 {
			t.Errorf("%s: exit %d, stderr %q; want 3 and %q", args[0], code, stderr, want)
		}
	}
	unsupported := write("xreadgroup.aof", set+"*7\r\n$10\r\nXREADGROUP\r\n$5\r\nGROUP\r\n$1\r\ng\r\n$1\r\nc\r\n$7\r\nSTREAMS\r\n$1\r\nx\r\n$1\r\n>\r\n")
	if _, stderr, code := runCLI(t, false, "", "digest", unsupported); code != 1 || !strings.Contains(stderr, "unsupported command") {
		t.Errorf("XREADGROUP: exit %d, stderr %q; want 1 and unsupported command", code, stderr)
	}
}
