package resp

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// oracleLines keeps the lines of a check-aof transcript that come from the
// RESP scanner.
func oracleLines(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimPrefix(l, "Continue? [y/N]: ")
		if strings.HasPrefix(l, "0x") || strings.HasPrefix(l, "AOF analyzed:") ||
			strings.HasSuffix(l, " format error") || strings.HasPrefix(l, "Truncate nothing in AOF") ||
			strings.Contains(l, "to timestamp") && strings.HasPrefix(l, "Successfully truncated") ||
			strings.Contains(l, "not sane") {
			out = append(out, l)
		}
	}
	return out
}

type checkRun struct {
	lines   []string
	lastCut string // file that --fix would truncate, if any
	cutAt   int64
}

// runLikeTool reproduces redis-check-aof's per-file driver for the
// transcript's command line, using Check for every RESP part.
func runLikeTool(t *testing.T, dir, cmdline string, legacy bool) checkRun {
	t.Helper()
	f := strings.Fields(strings.TrimPrefix(cmdline, "$ "))
	if f[0] == "echo" {
		f = f[3:]
	}
	var ts int64
	if f[1] == "--truncate-to-timestamp" {
		ts, _ = strconv.ParseInt(f[2], 10, 64)
	}
	arg := f[len(f)-1]
	type part struct{ path, name, shown string }
	var parts []part
	if strings.HasSuffix(arg, ".manifest") {
		m, err := os.ReadFile(filepath.Join(dir, arg))
		if err != nil {
			t.Fatal(err)
		}
		var base, incr []part
		for _, l := range strings.Split(string(m), "\n") {
			w := strings.Fields(l)
			if len(w) == 6 {
				p := part{filepath.Join(dir, filepath.Dir(arg), w[1]), filepath.Join(filepath.Dir(arg), w[1]), w[1]}
				switch w[5] {
				case "b":
					base = append(base, p)
				case "i":
					incr = append(incr, p)
				}
			}
		}
		parts = append(base, incr...)
	} else {
		parts = []part{{filepath.Join(dir, arg), arg, arg}}
	}
	var run checkRun
	line := int64(1)
	for i, p := range parts {
		data, err := os.ReadFile(p.path)
		if err != nil {
			t.Fatal(err)
		}
		if len(data) == 0 {
			continue
		}
		start := 0
		if len(data) >= 8 && bytes.HasPrefix(data, []byte("REDIS")) {
			if start = rdbEnd(data); start < 0 {
				run.lines = append(run.lines, "RDB preamble of AOF file is not sane, aborting.")
				return run
			}
		}
		res, err := Check(bytes.NewReader(data[start:]), &CheckOptions{
			StartOffset: int64(start), StartLine: line, Name: p.name, Legacy: legacy, TruncateToTimestamp: ts,
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Size != int64(len(data)) {
			t.Fatalf("size %d, want %d", res.Size, len(data))
		}
		line = res.OkUpToLine
		if res.TruncateAt >= 0 {
			run.lines = append(run.lines, fmt.Sprintf("Successfully truncated AOF %s to timestamp %d", p.shown, ts))
			run.lastCut, run.cutAt = p.path, res.TruncateAt
			return run
		}
		if m := res.MessageLine(); m != "" {
			run.lines = append(run.lines, m)
		}
		if res.FormatError && !legacy {
			run.lines = append(run.lines, fmt.Sprintf("AOF %s format error", p.shown))
		}
		if ts != 0 && res.Diff == 0 {
			run.lines = append(run.lines, fmt.Sprintf("Truncate nothing in AOF %s to timestamp %d", p.shown, ts))
			continue
		}
		run.lines = append(run.lines, res.AnalyzedLine(p.shown, legacy))
		if res.Diff > 0 {
			if i == len(parts)-1 {
				run.lastCut, run.cutAt = p.path, res.OkUpTo
			}
			return run
		}
	}
	return run
}

// TestCheckOracle replays every redis-check-aof transcript in the corpus
// and compares the scanner's lines (message, "AOF analyzed", format error,
// timestamp truncation) with what the real tool printed.
func TestCheckOracle(t *testing.T) {
	txts, err := filepath.Glob(corpusDir + "/*/*/*/check-aof*.txt")
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob(corpusDir + "/*/*/*/*/check-aof*.txt")
	txts = append(txts, more...)
	more, _ = filepath.Glob(corpusDir + "/*/*/check-aof*.txt")
	txts = append(txts, more...)
	if len(txts) < 80 {
		t.Fatalf("only %d transcripts", len(txts))
	}
	for _, txt := range txts {
		t.Run(strings.TrimPrefix(txt, corpusDir+"/"), func(t *testing.T) {
			raw, err := os.ReadFile(txt)
			if err != nil {
				t.Fatal(err)
			}
			text := string(raw)
			cmdline, _, _ := strings.Cut(text, "\n")
			dir := filepath.Dir(txt)
			switch {
			case strings.Contains(dir, "redis-assets"):
				dir = filepath.Join(corpusDir, "redis-assets")
			case strings.HasSuffix(txt, "check-aof-after-fix.txt"):
				dir = filepath.Join(dir, "fixed")
			case strings.Contains(dir, "/corrupt/aof/truncate-to-timestamp"):
				// transcript of the cut itself; its input is the original
				dir = filepath.Join(corpusDir, "7.4.1/aof/aof-timestamp")
			case strings.Contains(dir, "/corrupt/"):
				dir = filepath.Join(dir, "input")
			}
			legacy := strings.Contains(txt, "6.2.")
			got := runLikeTool(t, dir, cmdline, legacy)
			want := oracleLines(text)
			if strings.Join(got.lines, "\n") != strings.Join(want, "\n") {
				t.Errorf("%s\ngot:\n  %s\nwant:\n  %s", cmdline, strings.Join(got.lines, "\n  "), strings.Join(want, "\n  "))
			}
		})
	}
}

type corruptResult struct {
	File        string `json:"file"`
	Kind        string `json:"kind"`
	FixExit     int    `json:"fix_exit"`
	FixedSize   int64  `json:"fixed_size"`
	FixedSHA256 string `json:"fixed_sha256"`
	Timestamp   int64  `json:"timestamp"`
}

// TestCheckFixCorpus truncates a copy of every corrupt AOF at the offset
// Check reports and compares with the real tool's --fix output.
func TestCheckFixCorpus(t *testing.T) {
	n := 0
	for _, ver := range []string{"6.2.16", "7.4.1"} {
		raw, err := os.ReadFile(filepath.Join(corpusDir, ver, "corrupt/results.json"))
		if err != nil {
			t.Fatal(err)
		}
		var results []corruptResult
		if err := json.Unmarshal(raw, &results); err != nil {
			t.Fatal(err)
		}
		for _, r := range results {
			if !strings.HasPrefix(r.File, "corrupt/aof/") && r.Kind != "truncate-to-timestamp" {
				continue
			}
			t.Run(ver+"/"+r.File, func(t *testing.T) {
				path := filepath.Join(corpusDir, ver, r.File)
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				start := 0
				if bytes.HasPrefix(data, []byte("REDIS")) {
					start = rdbEnd(data)
				}
				if start < 0 {
					if r.FixExit != 1 {
						t.Fatal("unreadable preamble but the tool fixed it")
					}
					return // the tool refuses: RDB damage is never fixed
				}
				opt := &CheckOptions{StartOffset: int64(start), Legacy: ver == "6.2.16", TruncateToTimestamp: r.Timestamp}
				res, err := Check(bytes.NewReader(data[start:]), opt)
				if err != nil {
					t.Fatal(err)
				}
				cut := res.OkUpTo
				if r.Timestamp != 0 {
					cut = res.TruncateAt
				}
				if cut != r.FixedSize {
					t.Fatalf("cut at %d, tool fixed to %d bytes (result %+v)", cut, r.FixedSize, res)
				}
				sum := sha256.Sum256(data[:cut])
				if hex.EncodeToString(sum[:]) != r.FixedSHA256 {
					t.Fatalf("fixed sha256 differs")
				}
				n++
			})
		}
	}
	if n < 7 {
		t.Errorf("only %d fixed variants compared", n)
	}
}
