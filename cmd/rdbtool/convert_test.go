package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/persistkit/persistkit/keyspace"
)

func replay(t *testing.T, path string) *keyspace.Store {
	t.Helper()
	s := keyspace.New(0)
	res, err := keyspace.ReplayAOF(context.Background(), path, s, &keyspace.ReplayOptions{Strict: true})
	if err != nil {
		t.Fatalf("replay %s: %v", path, err)
	}
	if res.Errors > 0 {
		t.Fatalf("replay %s: %d commands failed, first: %v", path, res.Errors, res.FirstError)
	}
	return s
}

// TestConvertRoundTrip converts corpus files every way and checks that the
// keyspace (DEBUG DIGEST, nothing expired) survives.
func TestConvertRoundTrip(t *testing.T) {
	datasets := []string{"types-small", "types-large", "streams", "hfe", "functions", "multidb", "expiry", "module"}
	for _, ver := range []string{"6.2.16", "7.0.15-debian", "7.4.1"} {
		for _, ds := range datasets {
			src := filepath.Join(corpusDir, ver, ds, "dump.rdb")
			if _, err := os.Stat(src); err != nil {
				continue
			}
			t.Run(ver+"/"+ds, func(t *testing.T) {
				want := loadFile(t, src).Digest(keyspace.DigestOptions{})
				dir := t.TempDir()
				check := func(what string, s *keyspace.Store) {
					t.Helper()
					if got := s.Digest(keyspace.DigestOptions{}); got != want {
						t.Errorf("%s: digest %x, want %x", what, got, want)
						for _, d := range keyspace.Diff(loadFile(t, src), s, 5) {
							t.Log(d)
						}
					}
				}
				run := func(args ...string) {
					t.Helper()
					if _, stderr, code := runCLI(t, false, "", args...); code != 0 {
						t.Fatalf("%v: exit %d: %s", args, code, stderr)
					}
				}

				aof := filepath.Join(dir, "out.aof")
				run("convert", "--to", "aof", "-o", aof, src)
				check("aof", replay(t, aof))

				adir := filepath.Join(dir, "appendonlydir")
				run("convert", "--to", "aof-dir", "-o", adir, src)
				check("aof-dir", replay(t, adir))

				rdb10 := filepath.Join(dir, "v10.rdb")
				run("convert", "--to", "rdb", "--rdb-version", "10", "--lossy", "-q", "-o", rdb10, src)
				if ds != "hfe" { // field TTLs do not exist in RDB 10
					check("rdb 10", loadFile(t, rdb10))
				}

				jsonl := filepath.Join(dir, "dump.jsonl")
				out, _, code := runCLI(t, false, "", "dump", "--keep-expired-fields", src)
				if code != 0 {
					t.Fatal("dump failed")
				}
				os.WriteFile(jsonl, []byte(out), 0o644)
				back := filepath.Join(dir, "back.rdb")
				run("convert", "--from", "jsonl", "--to", "rdb", "-o", back, jsonl)
				check("jsonl", loadFile(t, back))
			})
		}
	}
}
