package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/persistkit/persistkit/internal/clitest"
)

// This test mirrors the project's corpus scoring (corpus_eval.py) on the
// copy of the corpus in fixtures/corpus: digest of every AOF against
// digest.txt, check of every corrupt variant (exit 3), and --fix on a copy
// against the sha256 of the real redis-check-aof --fix result.

const corpusDir = "../../fixtures/corpus"

// aofTarget is what corpus_eval hands to aoftool for an aof-* directory.
func aofTarget(dir string) string {
	if st, err := os.Stat(filepath.Join(dir, "appendonlydir")); err == nil && st.IsDir() {
		return filepath.Join(dir, "appendonlydir")
	}
	if _, err := os.Stat(filepath.Join(dir, "appendonly.aof")); err == nil {
		return filepath.Join(dir, "appendonly.aof")
	}
	return ""
}

// digestTarget is one AOF with its oracle digest and flags.
type digestTarget struct {
	path, want string
	args       []string
}

// corpusAOFs lists every AOF of the corpus that a real server loaded.
func corpusAOFs(t *testing.T) []digestTarget {
	t.Helper()
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skip("no corpus")
	}
	var out []digestTarget
	filepath.WalkDir(corpusDir, func(dir string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if strings.Contains(dir, "/corrupt") {
			return filepath.SkipDir
		}
		base := filepath.Base(dir)
		if strings.HasPrefix(base, "aof-") {
			tgt := aofTarget(dir)
			want := clitest.OracleDigest(filepath.Join(dir, "digest.txt"))
			truth, err := clitest.LoadTruth(filepath.Join(dir, "truth.json"))
			if tgt != "" && want != "" && err == nil {
				out = append(out, digestTarget{tgt, want, truth.Args()})
			}
		}
		if strings.HasPrefix(base, "oracle-") {
			// redis-assets: <dir>/oracle-<ver>/<file>/digest.txt
			files, _ := os.ReadDir(dir)
			for _, f := range files {
				if !strings.HasSuffix(f.Name(), ".aof") {
					continue
				}
				od := filepath.Join(dir, f.Name())
				want := clitest.OracleDigest(filepath.Join(od, "digest.txt"))
				if want == "" {
					continue
				}
				args := []string{"--redis-version", "7.4"}
				if tr, err := clitest.LoadTruth(filepath.Join(od, "truth.json")); err == nil {
					args = tr.Args()
					if tr.RedisVersion() == "" {
						args = append(args, "--redis-version", "7.4")
					}
				}
				out = append(out, digestTarget{filepath.Join(filepath.Dir(dir), f.Name()), want, args})
			}
		}
		return nil
	})
	return out
}

var hex40 = regexp.MustCompile(`\b[0-9a-f]{40}\b`)

func TestCorpusDigest(t *testing.T) {
	targets := corpusAOFs(t)
	if len(targets) < 23 {
		t.Fatalf("only %d AOF targets", len(targets))
	}
	for _, tg := range targets {
		t.Run(strings.TrimPrefix(tg.path, corpusDir+"/"), func(t *testing.T) {
			out, errs, code := runCLI(t, false, "", append(append([]string{"digest"}, tg.args...), tg.path)...)
			if got := hex40.FindString(out); code != 0 || got != tg.want {
				t.Errorf("exit %d, digest %q, want %s\n%s", code, got, tg.want, errs)
			}
			if strings.Contains(tg.path, "/aof-") {
				// Written by a clean server shutdown: sound.
				if out, _, code := runCLI(t, false, "", "check", tg.path); code != 0 {
					t.Errorf("check: exit %d\n%s", code, out)
				}
			}
		})
	}
}

type corruptResult struct {
	File        string `json:"file"`
	Kind        string `json:"kind"`
	CheckExit   *int   `json:"check_exit"`
	FixExit     int    `json:"fix_exit"`
	FixedSHA256 string `json:"fixed_sha256"`
	FixedFile   string `json:"fixed_file"`
	Timestamp   int64  `json:"timestamp"`
}

func readResults(t *testing.T, ver string) []corruptResult {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(corpusDir, ver, "corrupt/results.json"))
	if err != nil {
		t.Skip("no corpus")
	}
	var rs []corruptResult
	if err := json.Unmarshal(raw, &rs); err != nil {
		t.Fatal(err)
	}
	return rs
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// copyTree copies a small directory tree (or file) for tests that modify it.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(to, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

var inputRE = regexp.MustCompile(`^(.*/input/)(appendonlydir/)?`)

func TestCorpusCheckAndFix(t *testing.T) {
	nCheck, nFix := 0, 0
	for _, ver := range []string{"6.2.16", "7.4.1"} {
		for _, r := range readResults(t, ver) {
			if !strings.HasPrefix(r.File, "corrupt/aof/") {
				continue
			}
			t.Run(ver+"/"+r.File, func(t *testing.T) {
				f := filepath.Join(corpusDir, ver, r.File)
				m := inputRE.FindStringSubmatch(f)
				tgt := f
				if m != nil && m[2] != "" {
					tgt = m[1] + "appendonlydir"
				}
				_, _, code := runCLI(t, false, "", "check", tgt)
				if code != 3 {
					t.Errorf("check exit %d, want 3", code)
				}
				nCheck++
				src := m[1]
				dst := t.TempDir()
				copyTree(t, src, dst)
				rel, _ := filepath.Rel(src, tgt)
				out, errs, code := runCLI(t, false, "", "check", "--fix", "--yes", "--no-backup", filepath.Join(dst, rel))
				fixed := filepath.Join(dst, strings.TrimPrefix(f, src))
				if r.FixExit != 0 {
					if code != 3 {
						t.Errorf("fix exit %d, want 3 (refused)\n%s%s", code, out, errs)
					}
					if got := sha256File(t, fixed); got != sha256File(t, f) {
						t.Errorf("refused fix changed the file")
					}
					if !strings.Contains(errs, "--salvage") {
						t.Errorf("no --salvage hint:\n%s", errs)
					}
					return
				}
				if code != 0 || sha256File(t, fixed) != r.FixedSHA256 {
					t.Errorf("fix exit %d, sha256 differs from redis-check-aof --fix\n%s%s", code, out, errs)
				}
				if _, _, code := runCLI(t, false, "", "check", filepath.Join(dst, rel)); code != 0 {
					t.Errorf("check after fix: exit %d", code)
				}
				nFix++
			})
		}
	}
	if nCheck < 9 || nFix < 7 {
		t.Errorf("checked %d, fixed %d corrupt variants; want 9 and 7", nCheck, nFix)
	}
}

func TestCorpusTruncateToTimestamp(t *testing.T) {
	for _, r := range readResults(t, "7.4.1") {
		if r.Kind != "truncate-to-timestamp" {
			continue
		}
		src := filepath.Join(corpusDir, "7.4.1/aof/aof-timestamp/appendonlydir")
		dst := filepath.Join(t.TempDir(), "appendonlydir")
		copyTree(t, src, dst)
		out, errs, code := runCLI(t, false, "", "check", "--truncate-to-timestamp", strconv.FormatInt(r.Timestamp, 10), dst)
		if code != 0 {
			t.Fatalf("exit %d\n%s%s", code, out, errs)
		}
		if got := sha256File(t, filepath.Join(dst, filepath.Base(r.File))); got != r.FixedSHA256 {
			t.Errorf("cut file differs from redis-check-aof's")
		}
		if !strings.Contains(out, "Successfully truncated AOF appendonly.aof.2.incr.aof to timestamp "+strconv.FormatInt(r.Timestamp, 10)) {
			t.Errorf("output:\n%s", out)
		}
		if _, err := os.Stat(filepath.Join(dst, filepath.Base(r.File)+".bak")); err != nil {
			t.Errorf("no backup: %v", err)
		}
		// Nothing after the cut is later than T any more: a second run cuts nothing.
		out, _, code = runCLI(t, false, "", "check", "--truncate-to-timestamp", strconv.FormatInt(r.Timestamp, 10), "--no-backup", dst)
		if code != 0 || !strings.Contains(out, "Truncate nothing in AOF appendonly.aof.2.incr.aof") {
			t.Errorf("second run: exit %d\n%s", code, out)
		}
		return
	}
	t.Fatal("no truncate-to-timestamp variant in results.json")
}
