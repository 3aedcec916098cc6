package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/persistkit/persistkit/internal/clitest"
)

// Safety tests: damaged input through check --fix, and a real rdbtool
// process killed (SIGKILL, SIGINT) at random points or running out of
// file size (RLIMIT_FSIZE, EFBIG). Invariants: the input never changes, the
// final output name holds nothing or a complete file, and failures exit 1
// (130 for SIGINT) leaving any previous output intact.

// TestFixOutputPassesCheck damages a real file ~60 ways (cuts and byte
// flips at seeded offsets); whenever check --fix writes an output, that
// output passes check, and the damaged input is left as it was.
func TestFixOutputPassesCheck(t *testing.T) {
	orig, err := os.ReadFile(filepath.Join(corpusDir, "7.4.1", "types-small", "dump.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	n := 60
	if os.Getenv("PERSISTKIT_SWEEP") == "full" && !testing.Short() {
		n = 2 * len(orig)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	dir := t.TempDir()
	produced := 0
	for i := range n {
		var data []byte
		var what string
		if i%2 == 0 {
			at := rng.IntN(len(orig))
			data, what = orig[:at], fmt.Sprintf("cut at %d", at)
		} else {
			at, m := rng.IntN(len(orig)), byte(1+rng.IntN(255))
			data = bytes.Clone(orig)
			data[at] ^= m
			what = fmt.Sprintf("flip %#x at %d", m, at)
		}
		in := filepath.Join(dir, "in.rdb")
		out := filepath.Join(dir, "out.rdb")
		os.Remove(out)
		if err := os.WriteFile(in, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, stderr, code := runCLI(t, false, "", "check", "--fix", "-o", out, in)
		if got, _ := os.ReadFile(in); !bytes.Equal(got, data) {
			t.Fatalf("%s: check --fix changed its input", what)
		}
		if _, err := os.Stat(out); err != nil {
			if code == 0 {
				t.Fatalf("%s: exit 0 but no output: %s", what, stderr)
			}
			continue
		}
		if code != 0 {
			t.Fatalf("%s: exit %d but an output exists: %s", what, code, stderr)
		}
		produced++
		if _, stderr, code := runCLI(t, false, "", "-q", "check", out); code != 0 {
			t.Fatalf("%s: fixed output fails check (exit %d): %s", what, code, stderr)
		}
	}
	if produced < n/2 {
		t.Errorf("check --fix produced only %d outputs for %d damaged files", produced, n)
	}
	if ents, _ := os.ReadDir(dir); len(ents) > 2 {
		t.Errorf("left behind: %v", ents)
	}
}

// TestProcessSafety runs the real binary: killed at random points, hit by
// Ctrl-C, and refused file space.
func TestProcessSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills rdbtool processes")
	}
	bin := clitest.BuildTool(t, t.TempDir(), "rdbtool")
	src := filepath.Join(corpusDir, "7.4.1", "types-large", "dump.rdb")
	srcSum := clitest.FileSum(t, src)
	orig, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	// A damaged copy for check --fix: one flipped byte in the middle.
	bad := bytes.Clone(orig)
	bad[len(bad)/2] ^= 0xFF
	badPath := filepath.Join(t.TempDir(), "bad.rdb")
	if err := os.WriteFile(badPath, bad, 0o444); err != nil {
		t.Fatal(err)
	}
	badSum := sha256.Sum256(bad)
	// Default: 2 kill rounds for two jobs (keeps -race runs short on a
	// loaded machine); PERSISTKIT_SWEEP=full: 40 rounds of every job.
	full := os.Getenv("PERSISTKIT_SWEEP") == "full"
	rounds := 2
	if full {
		rounds = 40
	}
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))

	type job struct {
		name string
		args func(out string) []string
		dir  bool // output is a directory
	}
	jobs := []job{
		{"convert-rdb", func(out string) []string {
			return []string{"convert", "--to", "rdb", "--rdb-version", "9", "-o", out, src}
		}, false},
		{"convert-aof", func(out string) []string { return []string{"convert", "--to", "aof", "-o", out, src} }, false},
		{"convert-aof-dir", func(out string) []string { return []string{"convert", "--to", "aof-dir", "-o", out, src} }, true},
		{"check-fix", func(out string) []string { return []string{"check", "--fix", "-o", out, badPath} }, false},
	}
	// Reference outputs from uninterrupted runs, and how long they take.
	refs := map[string][]byte{}
	durs := map[string]time.Duration{}
	for _, j := range jobs {
		dir := t.TempDir()
		out := filepath.Join(dir, "out")
		start := time.Now()
		if b, err := exec.Command(bin, j.args(out)...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", j.name, err, b)
		}
		durs[j.name] = time.Since(start)
		refs[j.name] = clitest.Output(t, out)
	}
	checkInputs := func(t *testing.T) {
		t.Helper()
		if clitest.FileSum(t, src) != srcSum || clitest.FileSum(t, badPath) != badSum {
			t.Fatal("an input file changed")
		}
	}

	for _, j := range jobs {
		killJob := full || j.name == "convert-rdb" || j.name == "check-fix"
		t.Run("sigkill-"+j.name, func(t *testing.T) {
			if !killJob {
				t.Skip("PERSISTKIT_SWEEP=full")
			}
			for r := range rounds {
				dir := t.TempDir()
				out := filepath.Join(dir, "out")
				cmd := exec.Command(bin, j.args(out)...)
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				delay := time.Duration(rng.Int64N(int64(durs[j.name]) * 6 / 5))
				time.Sleep(delay)
				cmd.Process.Kill()
				cmd.Wait()
				checkInputs(t)
				if _, err := os.Stat(out); err == nil {
					if got := clitest.Output(t, out); !bytes.Equal(got, refs[j.name]) {
						t.Fatalf("round %d (killed after %v): output under the final name is incomplete (%d of %d bytes)",
							r, delay, len(got), len(refs[j.name]))
					}
				}
				// SIGKILL may leave a temp file; it is hidden, never the final name.
				for _, l := range clitest.Leftovers(t, dir, "out") {
					if !strings.HasPrefix(l, ".out.tmp-") {
						t.Errorf("round %d: unexpected file %q", r, l)
					}
				}
			}
		})
		t.Run("sigint-"+j.name, func(t *testing.T) {
			if !killJob {
				t.Skip("PERSISTKIT_SWEEP=full")
			}
			for r := range rounds {
				dir := t.TempDir()
				out := filepath.Join(dir, "out")
				cmd := exec.Command(bin, j.args(out)...)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				// Leave the runtime time to install its signal handler:
				// before that, SIGINT kills the process outright.
				delay := 30*time.Millisecond + time.Duration(rng.Int64N(int64(durs[j.name])))
				time.Sleep(delay)
				cmd.Process.Signal(os.Interrupt)
				err := cmd.Wait()
				checkInputs(t)
				code := cmd.ProcessState.ExitCode()
				if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGINT {
					// Killed by the default action: SIGINT came before
					// cli.Run installed its handler or after it removed it
					// on the way out. Then nothing or everything is there.
					if _, err := os.Stat(out); err == nil {
						code = 0
					} else {
						code = 130
					}
				}
				switch code {
				case 0:
					if got := clitest.Output(t, out); !bytes.Equal(got, refs[j.name]) {
						t.Fatalf("round %d: exit 0 with an incomplete output", r)
					}
					continue
				case 130:
				default:
					t.Fatalf("round %d (SIGINT after %v): %v, exit %d, want 0 or 130: %s", r, delay, err, code, stderr.String())
				}
				if _, err := os.Stat(out); err == nil {
					t.Errorf("round %d: interrupted run left %s", r, out)
				}
				if l := clitest.Leftovers(t, dir); len(l) != 0 {
					t.Errorf("round %d: interrupted run left %v", r, l)
				}
			}
		})
		t.Run("efbig-"+j.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			prev := []byte("previous output\n")
			if !j.dir {
				if err := os.WriteFile(out, prev, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			// RLIMIT_FSIZE of 64 KiB: writes past it fail with EFBIG (Go
			// ignores SIGXFSZ), like a full disk part-way through.
			args := append([]string{"-c", `ulimit -f 64 && exec "$0" "$@"`, bin}, j.args(out)...)
			cmd := exec.Command("bash", args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			checkInputs(t)
			if code := cmd.ProcessState.ExitCode(); code != 1 {
				t.Fatalf("exit %d (%v), want 1: %s", code, err, stderr.String())
			}
			if !strings.Contains(stderr.String(), "rdbtool: error:") || !strings.Contains(stderr.String(), "file too large") {
				t.Errorf("stderr does not explain: %s", stderr.String())
			}
			if j.dir {
				if _, err := os.Stat(out); err == nil {
					t.Errorf("failed run created %s", out)
				}
			} else if got, _ := os.ReadFile(out); !bytes.Equal(got, prev) {
				t.Errorf("failed run changed the previous output to %d bytes", len(got))
			}
			if l := clitest.Leftovers(t, dir, "out"); len(l) != 0 {
				t.Errorf("failed run left %v", l)
			}
		})
	}

	t.Run("unwritable-target", func(t *testing.T) {
		dir := t.TempDir()
		notDir := filepath.Join(dir, "file")
		os.WriteFile(notDir, nil, 0o644)
		for _, j := range jobs {
			out := filepath.Join(notDir, "out") // parent is a regular file: ENOTDIR, even as root
			cmd := exec.Command(bin, j.args(out)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			cmd.Run()
			if code := cmd.ProcessState.ExitCode(); code != 1 {
				t.Errorf("%s: exit %d, want 1: %s", j.name, code, stderr.String())
			}
			if !strings.Contains(stderr.String(), "not a directory") {
				t.Errorf("%s: stderr does not explain: %s", j.name, stderr.String())
			}
		}
		checkInputs(t)
	})

	t.Run("sigkill-in-place", func(t *testing.T) {
		var fixed []byte
		for r := range rounds + 1 {
			dir := t.TempDir()
			file := filepath.Join(dir, "dump.rdb")
			if err := os.WriteFile(file, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bin, "check", "--fix", "--in-place", file)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if r > 0 {
				time.Sleep(time.Duration(rng.Int64N(int64(durs["check-fix"]) * 3 / 2)))
				cmd.Process.Kill()
			}
			werr := cmd.Wait()
			cur, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("round %d: FILE gone: %v", r, err)
			}
			bak, bakErr := os.ReadFile(file + ".bak")
			if r == 0 {
				if werr != nil {
					t.Fatalf("uninterrupted --in-place: %v", werr)
				}
				fixed = cur
				if !bytes.Equal(bak, bad) {
					t.Fatal("FILE.bak is not the original")
				}
				continue
			}
			switch {
			case bytes.Equal(cur, bad):
				// Not replaced yet; a backup, if any, is complete.
				if bakErr == nil && !bytes.Equal(bak, bad) {
					t.Fatalf("round %d: partial FILE.bak (%d bytes)", r, len(bak))
				}
			case bytes.Equal(cur, fixed):
				// Replaced: the original must survive as FILE.bak.
				if !bytes.Equal(bak, bad) {
					t.Fatalf("round %d: FILE replaced but FILE.bak is not the original (%v)", r, bakErr)
				}
			default:
				t.Fatalf("round %d: FILE is neither the original nor the fixed file (%d bytes)", r, len(cur))
			}
			for _, l := range clitest.Leftovers(t, dir, "dump.rdb", "dump.rdb.bak") {
				if !strings.HasPrefix(l, ".dump.rdb.") {
					t.Errorf("round %d: unexpected file %q", r, l)
				}
			}
		}
	})

	t.Run("efbig-in-place", func(t *testing.T) {
		dir := t.TempDir()
		file := filepath.Join(dir, "dump.rdb")
		if err := os.WriteFile(file, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("bash", "-c", `ulimit -f 64 && exec "$0" "$@"`, bin, "check", "--fix", "--in-place", file)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		cmd.Run()
		if code := cmd.ProcessState.ExitCode(); code != 1 {
			t.Fatalf("exit %d, want 1: %s", code, stderr.String())
		}
		if cur, _ := os.ReadFile(file); !bytes.Equal(cur, bad) {
			t.Error("failed --in-place changed FILE")
		}
		if l := clitest.Leftovers(t, dir, "dump.rdb"); len(l) != 0 {
			t.Errorf("failed --in-place left %v", l)
		}
	})
}
