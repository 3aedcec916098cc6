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

// Safety tests for a real aoftool process: killed (SIGKILL, SIGINT) at
// random points or refused file space (RLIMIT_FSIZE: EFBIG). The input
// never changes (except check --fix, which must leave FILE or FILE.bak
// whole), outputs are complete or absent, failures exit 1 (130 on SIGINT).

// safetyAOF is a plain AOF of n commands (a few MB for n=100k), so that
// commands take long enough to be killed mid-write.
func safetyAOF(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		switch i % 4 {
		case 0:
			k, v := fmt.Sprintf("key:%d", i), strings.Repeat("v", i%50)
			fmt.Fprintf(&b, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(k), k, len(v), v)
		case 1:
			k, v := fmt.Sprintf("list:%d", i%1000), fmt.Sprint(i)
			fmt.Fprintf(&b, "*3\r\n$5\r\nRPUSH\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(k), k, len(v), v)
		case 2:
			k, f := fmt.Sprintf("hash:%d", i%500), fmt.Sprintf("f%d", i)
			fmt.Fprintf(&b, "*4\r\n$4\r\nHSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$1\r\nx\r\n", len(k), k, len(f), f)
		default:
			k := fmt.Sprintf("key:%dn", i-3)
			fmt.Fprintf(&b, "*2\r\n$4\r\nINCR\r\n$%d\r\n%s\r\n", len(k), k)
		}
	}
	return b.Bytes()
}

func TestProcessSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills aoftool processes")
	}
	bin := clitest.BuildTool(t, t.TempDir(), "aoftool")
	srcDir := t.TempDir()
	src := filepath.Join(srcDir, "appendonly.aof")
	good := safetyAOF(20_000)
	if err := os.WriteFile(src, good, 0o444); err != nil {
		t.Fatal(err)
	}
	srcSum := sha256.Sum256(good)
	// The same with a torn last command, for check --fix.
	bad := append(bytes.Clone(good), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nab"...)
	// Default: 2 kill rounds for two jobs (keeps -race runs short on a
	// loaded machine); PERSISTKIT_SWEEP=full: 40 rounds of every job.
	full := os.Getenv("PERSISTKIT_SWEEP") == "full"
	rounds := 2
	if full {
		rounds = 40
	}
	rng := rand.New(rand.NewPCG(2, uint64(time.Now().UnixNano())))
	// Rewrite writes a timestamped name into its manifest; the clock is
	// fixed with --now, so outputs are comparable byte for byte.
	jobs := []struct {
		name string
		args func(out string) []string
	}{
		{"convert", func(out string) []string { return []string{"convert", "--now", "1700000000000", "-o", out, src} }},
		{"rewrite", func(out string) []string { return []string{"rewrite", "--now", "1700000000000", "-o", out, src} }},
		{"rewrite-single", func(out string) []string {
			return []string{"rewrite", "--single-file", "--base", "aof", "--now", "1700000000000", "-o", out, src}
		}},
	}
	refs := map[string][]byte{}
	durs := map[string]time.Duration{}
	for _, j := range jobs {
		out := filepath.Join(t.TempDir(), "out")
		start := time.Now()
		if b, err := exec.Command(bin, j.args(out)...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", j.name, err, b)
		}
		durs[j.name] = time.Since(start)
		refs[j.name] = clitest.Output(t, out)
	}
	// RDB output carries the wall-clock ctime AUX field, so a complete
	// output is recognised by passing check with the digest of the input
	// rather than byte for byte (single-file AOF rewrites: both).
	wantDigest, err := exec.Command(bin, "digest", src).Output()
	if err != nil {
		t.Fatal(err)
	}
	complete := func(name, out string) bool {
		if name == "rewrite-single" && !bytes.Equal(clitest.Output(t, out), refs[name]) {
			return false
		}
		if err := exec.Command(bin, "-q", "check", out).Run(); err != nil {
			return false
		}
		got, err := exec.Command(bin, "digest", out).Output()
		return err == nil && bytes.Equal(got, wantDigest)
	}
	checkInput := func(t *testing.T) {
		t.Helper()
		if clitest.FileSum(t, src) != srcSum {
			t.Fatal("the input changed")
		}
	}
	for _, j := range jobs {
		killJob := full || j.name != "rewrite-single"
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
				checkInput(t)
				if _, err := os.Stat(out); err == nil {
					if !complete(j.name, out) {
						t.Fatalf("round %d (killed after %v): incomplete output under the final name", r, delay)
					}
				}
				for _, l := range clitest.Leftovers(t, dir, "out") {
					if !strings.HasPrefix(l, ".out") {
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
				delay := 30*time.Millisecond + time.Duration(rng.Int64N(int64(durs[j.name])))
				time.Sleep(delay)
				cmd.Process.Signal(os.Interrupt)
				err := cmd.Wait()
				checkInput(t)
				code := cmd.ProcessState.ExitCode()
				if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGINT {
					// Default action: before cli.Run's handler or after it.
					if _, err := os.Stat(out); err == nil {
						code = 0
					} else {
						code = 130
					}
				}
				switch code {
				case 0:
					if !complete(j.name, out) {
						t.Fatalf("round %d: exit 0 with an incomplete output", r)
					}
					continue
				case 130:
				default:
					t.Fatalf("round %d (SIGINT after %v): %v, exit %d: %s", r, delay, err, code, stderr.String())
				}
				if l := clitest.Leftovers(t, dir); len(l) != 0 {
					t.Errorf("round %d: interrupted run left %v", r, l)
				}
			}
		})
		t.Run("efbig-"+j.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			args := append([]string{"-c", `ulimit -f 64 && exec "$0" "$@"`, bin}, j.args(out)...)
			cmd := exec.Command("bash", args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			checkInput(t)
			if code := cmd.ProcessState.ExitCode(); code != 1 {
				t.Fatalf("exit %d (%v), want 1: %s", code, err, stderr.String())
			}
			if !strings.Contains(stderr.String(), "aoftool: error:") || !strings.Contains(stderr.String(), "file too large") {
				t.Errorf("stderr does not explain: %s", stderr.String())
			}
			if l := clitest.Leftovers(t, dir); len(l) != 0 {
				t.Errorf("failed run left %v", l)
			}
		})
	}

	// check --fix replaces FILE atomically and keeps FILE.bak: killed at
	// any point, FILE is the original or the fixed file, and once it is
	// the fixed one FILE.bak holds the original.
	t.Run("sigkill-check-fix", func(t *testing.T) {
		var fixed []byte
		var dur time.Duration
		for r := range rounds + 1 {
			dir := t.TempDir()
			file := filepath.Join(dir, "appendonly.aof")
			if err := os.WriteFile(file, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bin, "check", "--fix", "--yes", file)
			start := time.Now()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if r > 0 {
				time.Sleep(time.Duration(rng.Int64N(int64(dur) * 3 / 2)))
				cmd.Process.Kill()
			}
			cmd.Wait()
			cur, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("round %d: FILE gone: %v", r, err)
			}
			bak, bakErr := os.ReadFile(file + ".bak")
			if r == 0 {
				dur = time.Since(start)
				if code := cmd.ProcessState.ExitCode(); code != 0 {
					t.Fatalf("check --fix: exit %d", code)
				}
				fixed = cur
				if !bytes.Equal(fixed, good) || !bytes.Equal(bak, bad) {
					t.Fatalf("check --fix: %d bytes, want %d; .bak %d bytes (%v)", len(fixed), len(good), len(bak), bakErr)
				}
				continue
			}
			switch {
			case bytes.Equal(cur, bad):
				if bakErr == nil && !bytes.Equal(bak, bad) {
					t.Fatalf("round %d: partial FILE.bak (%d bytes)", r, len(bak))
				}
			case bytes.Equal(cur, fixed):
				if !bytes.Equal(bak, bad) {
					t.Fatalf("round %d: FILE fixed but FILE.bak is not the original (%v)", r, bakErr)
				}
			default:
				t.Fatalf("round %d: FILE is neither original nor fixed (%d bytes)", r, len(cur))
			}
			for _, l := range clitest.Leftovers(t, dir, "appendonly.aof", "appendonly.aof.bak") {
				if !strings.HasPrefix(l, ".appendonly.aof") {
					t.Errorf("round %d: unexpected file %q", r, l)
				}
			}
		}
	})

	t.Run("efbig-check-fix", func(t *testing.T) {
		dir := t.TempDir()
		file := filepath.Join(dir, "appendonly.aof")
		if err := os.WriteFile(file, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("bash", "-c", `ulimit -f 64 && exec "$0" "$@"`, bin, "check", "--fix", "--yes", file)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		cmd.Run()
		if code := cmd.ProcessState.ExitCode(); code != 1 {
			t.Fatalf("exit %d, want 1: %s", code, stderr.String())
		}
		if cur, _ := os.ReadFile(file); !bytes.Equal(cur, bad) {
			t.Error("failed check --fix changed FILE")
		}
		if l := clitest.Leftovers(t, dir, "appendonly.aof"); len(l) != 0 {
			t.Errorf("failed check --fix left %v", l)
		}
	})
}
