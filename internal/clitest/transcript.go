// Package clitest runs the CLI transcript tests of rdbtool and aoftool:
// each testdata/*.txt holds a command line, its stdin and the expected
// stdout, stderr and exit code. `go test -run TestTranscripts -update`
// rewrites the expected output.
package clitest

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the transcripts' expected output")

// RunFunc runs a tool in-process on buffers.
type RunFunc func(t testing.TB, tty bool, stdin string, args ...string) (stdout, stderr string, code int)

// transcript is one CLI test case in testdata/*.txt:
//
//	# comment
//	args: dump --format keys FILE
//	tty: true
//	exit: 0
//	-- stdin --
//	-- stdout --
//	...
//	-- stderr --
//	...
type transcript struct {
	header   []string
	args     []string
	tty      bool
	exit     string
	sections map[string]string
}

func parseTranscript(data string) *transcript {
	tr := &transcript{sections: map[string]string{}}
	cur := ""
	var buf strings.Builder
	flush := func() {
		if cur != "" {
			tr.sections[cur] = buf.String()
		}
		buf.Reset()
	}
	for _, line := range strings.SplitAfter(data, "\n") {
		trim := strings.TrimRight(line, "\n")
		if strings.HasPrefix(trim, "-- ") && strings.HasSuffix(trim, " --") && len(trim) > 6 {
			flush()
			cur = trim[3 : len(trim)-3]
			continue
		}
		if cur != "" {
			buf.WriteString(line)
			continue
		}
		if trim == "" {
			continue
		}
		tr.header = append(tr.header, trim)
		switch {
		case strings.HasPrefix(trim, "args:"):
			tr.args = strings.Fields(strings.TrimPrefix(trim, "args:"))
		case strings.HasPrefix(trim, "tty:"):
			tr.tty = strings.TrimSpace(strings.TrimPrefix(trim, "tty:")) == "true"
		case strings.HasPrefix(trim, "exit:"):
			tr.exit = strings.TrimSpace(strings.TrimPrefix(trim, "exit:"))
		}
	}
	flush()
	return tr
}

func (tr *transcript) format(stdout, stderr string, code int) string {
	var b strings.Builder
	for _, h := range tr.header {
		if strings.HasPrefix(h, "exit:") {
			continue
		}
		b.WriteString(h + "\n")
	}
	b.WriteString("exit: " + strconv.Itoa(code) + "\n")
	if s, ok := tr.sections["stdin"]; ok {
		b.WriteString("-- stdin --\n" + s)
	}
	b.WriteString("-- stdout --\n" + stdout)
	b.WriteString("-- stderr --\n" + stderr)
	return b.String()
}

// Transcripts runs every testdata/*.txt of the current directory through
// run as a subtest and compares the transcript it produces with the file.
func Transcripts(t *testing.T, run RunFunc) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			tr := parseTranscript(string(data))
			stdout, stderr, code := run(t, tr.tty, tr.sections["stdin"], tr.args...)
			got := tr.format(stdout, stderr, code)
			if *update {
				if err := os.WriteFile(f, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != string(data) {
				t.Errorf("transcript mismatch (go test -run TestTranscripts -update to accept)\n--- want\n%s\n--- got\n%s", data, got)
			}
		})
	}
}
