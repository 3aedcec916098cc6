//go:build integration

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/persistkit/persistkit/internal/redistest"
)

// TestFixMatchesRedisCheckAOF damages the INCR (and BASE) file of a real
// Redis 7.0 appendonlydir in many ways and requires check and check --fix
// to agree with the installed redis-check-aof: same verdict, same exit
// class, byte-identical files afterwards. check --fix --salvage must leave
// an AOF the real tool accepts.
func TestFixMatchesRedisCheckAOF(t *testing.T) {
	bin := redistest.Require(t)
	tool := filepath.Join(filepath.Dir(bin), "redis-check-aof")
	if _, err := os.Stat(tool); err != nil {
		if tool, err = exec.LookPath("redis-check-aof"); err != nil {
			t.Skip("no redis-check-aof")
		}
	}
	src := filepath.Join(corpusDir, "7.0.15-debian/aof/aof-plain/appendonlydir")
	incr, err := os.ReadFile(filepath.Join(src, "appendonly.aof.2.incr.aof"))
	if err != nil {
		t.Skip("no corpus")
	}
	type variant struct {
		name, file string
		data       []byte
	}
	var vs []variant
	for cut := 1; cut < len(incr); cut += 23 {
		vs = append(vs, variant{"cut-" + strconv.Itoa(cut), "appendonly.aof.2.incr.aof", incr[:cut]})
	}
	for _, tail := range []string{"garbage", "*2\r\n$5\r\nMULTI", "*1\r\n$5\r\nMULTI\r\n*1\r\n$4\r\nPING\r\n", "*1\r\n$4\r\nEXEC\r\n",
		"*1\r\n$5\r\nMULTI\r\n*1\r\n$5\r\nMULTI\r\n", "#TS:12\r\n", "*x\r\n", "$3\r\nabc\r\n", "*1\r\n$-1\r\n", "*1\r\n$3\r\nabcde\r\n"} {
		vs = append(vs, variant{"tail-" + strconv.Quote(tail), "appendonly.aof.2.incr.aof", append(append([]byte{}, incr...), tail...)})
	}
	base, _ := os.ReadFile(filepath.Join(src, "appendonly.aof.2.base.aof"))
	vs = append(vs, variant{"base-cut", "appendonly.aof.2.base.aof", base[:len(base)/2]})
	flip := append([]byte{}, incr...)
	flip[len(flip)/2] = 'X'
	vs = append(vs, variant{"incr-flip", "appendonly.aof.2.incr.aof", flip})

	for _, v := range vs {
		t.Run(v.name, func(t *testing.T) {
			mk := func() string {
				dir := filepath.Join(t.TempDir(), "appendonlydir")
				copyTree(t, src, dir)
				if err := os.WriteFile(filepath.Join(dir, v.file), v.data, 0o644); err != nil {
					t.Fatal(err)
				}
				return dir
			}
			real, ours := mk(), mk()
			manifest := filepath.Join(real, "appendonly.aof.manifest")
			realCheck := exec.Command(tool, manifest).Run() == nil
			_, _, code := runCLI(t, false, "", "check", ours)
			if realCheck != (code == 0) || (code != 0 && code != 3) {
				t.Errorf("check: redis-check-aof ok=%v, aoftool exit %d", realCheck, code)
			}
			cmd := exec.Command(tool, "--fix", manifest)
			cmd.Stdin = strings.NewReader("y\n")
			out, _ := cmd.CombinedOutput()
			realFix := cmd.ProcessState.ExitCode() == 0
			o, e, code := runCLI(t, false, "", "check", "--fix", "--yes", "--no-backup", ours)
			if realFix != (code == 0) {
				t.Errorf("fix: redis-check-aof ok=%v (%s), aoftool exit %d\n%s%s", realFix, out, code, o, e)
			}
			// Salvage repairs everything, and the real tool agrees.
			salv := mk()
			if o, e, code := runCLI(t, false, "", "check", "--fix", "--salvage", "--yes", "--no-backup", salv); code != 0 {
				t.Errorf("salvage: exit %d\n%s%s", code, o, e)
			}
			if out, err := exec.Command(tool, filepath.Join(salv, "appendonly.aof.manifest")).CombinedOutput(); err != nil {
				t.Errorf("redis-check-aof rejects the salvaged AOF: %v\n%s", err, out)
			}
			for _, name := range []string{"appendonly.aof.2.base.aof", "appendonly.aof.2.incr.aof"} {
				a, _ := os.ReadFile(filepath.Join(real, name))
				b, _ := os.ReadFile(filepath.Join(ours, name))
				if !bytes.Equal(a, b) {
					t.Errorf("%s differs after fix: redis-check-aof %d bytes, aoftool %d bytes", name, len(a), len(b))
				}
			}
		})
	}
}

// TestRewriteLoadsInRedis loads aoftool's rewrite and convert output into
// a real redis-server and compares its DEBUG DIGEST with the input's.
func TestRewriteLoadsInRedis(t *testing.T) {
	redistest.Require(t)
	for _, ds := range []string{"aof/aof-plain", "aof/aof-hybrid", "aof/aof-timestamp", "types-small/aof-plain"} {
		src := filepath.Join(corpusDir, "7.0.15-debian", ds, "appendonlydir")
		if _, err := os.Stat(src); err != nil {
			t.Skip("no corpus")
		}
		want := digestOf(t, "--redis-version", "7.0", src)
		for _, base := range []string{"rdb", "aof"} {
			t.Run(ds+"/"+base, func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "appendonlydir")
				if _, errs, code := runCLI(t, false, "", "rewrite", "-q", "--lossy", "--rdb-version", "10", "--base", base, src, "-o", out); code != 0 {
					t.Fatal(errs)
				}
				srv := redistest.LoadAOFDir(t, out)
				if got, err := srv.Digest(); err != nil || got != want {
					t.Errorf("redis digest %s (%v), want %s", got, err, want)
				}
			})
		}
		t.Run(ds+"/convert", func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "dump.rdb")
			if _, errs, code := runCLI(t, false, "", "convert", "-q", "--lossy", "--rdb-version", "10", src, "-o", out); code != 0 {
				t.Fatal(errs)
			}
			srv := redistest.LoadRDB(t, out)
			if got, err := srv.Digest(); err != nil || got != want {
				t.Errorf("redis digest %s (%v), want %s", got, err, want)
			}
		})
	}
}
