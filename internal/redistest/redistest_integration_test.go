//go:build integration

package redistest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// corpus is the ground-truth corpus, relative to this package.
const corpus = "../../fixtures/corpus"

// TestLoadRDBDigest loads a real Redis 7.0 file into a real server and
// checks that the server's DEBUG DIGEST equals the one recorded with the
// corpus: the helper, our RESP client and the fixture agree.
func TestLoadRDBDigest(t *testing.T) {
	dir := filepath.Join(corpus, "7.0.15-debian", "types-small")
	want, err := ParseDigestFile(filepath.Join(dir, "digest.txt"))
	if err != nil {
		t.Fatal(err)
	}
	s := LoadRDB(t, filepath.Join(dir, "dump.rdb"))
	if v := s.Version(); v < "7.0" {
		t.Skipf("redis %s cannot load an RDB v10 file", v)
	}
	got, err := s.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("DEBUG DIGEST = %s, want %s (digest.txt)", got, want)
	}
	r, err := s.Do("DBSIZE")
	if err != nil {
		t.Fatal(err)
	}
	if r.Int != 38 {
		t.Errorf("DBSIZE = %d, want 38", r.Int)
	}
}

// TestLoadAOFDirDigest does the same for a multi-part AOF directory.
func TestLoadAOFDirDigest(t *testing.T) {
	for _, kind := range []string{"aof-plain", "aof-hybrid"} {
		t.Run(kind, func(t *testing.T) {
			dir := filepath.Join(corpus, "7.0.15-debian", "types-small", kind)
			want, err := ParseDigestFile(filepath.Join(dir, "digest.txt"))
			if err != nil {
				t.Fatal(err)
			}
			s := LoadAOFDir(t, filepath.Join(dir, "appendonlydir"))
			got, err := s.Digest()
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("DEBUG DIGEST = %s, want %s (digest.txt)", got, want)
			}
		})
	}
}

// TestSaveAndRewrite writes data, then checks that SAVE and BGREWRITEAOF
// leave the files other tests decode, and that a reload digests the same.
func TestSaveAndRewrite(t *testing.T) {
	s := Start(t, &Options{Args: []string{"--appendonly", "yes", "--appenddirname", "appendonlydir"}})
	for _, cmd := range [][]string{
		{"SET", "s", "v"},
		{"RPUSH", "l", "a", "b", "c"},
		{"HSET", "h", "f", "1"},
		{"ZADD", "z", "1.5", "m"},
		{"SADD", "set", "1", "2"},
	} {
		if _, err := s.Do(cmd...); err != nil {
			t.Fatalf("%v: %v", cmd, err)
		}
	}
	if _, err := s.DoBytes([]byte("SET"), []byte("bin\x00\xff"), []byte("\r\n")); err != nil {
		t.Fatal(err)
	}
	want, err := s.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if want == "0000000000000000000000000000000000000000" {
		t.Fatal("digest of a non-empty server is all zeros")
	}

	path := s.Save()
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Fatalf("SAVE wrote no file at %s: %v", path, err)
	}
	s.RewriteAOF()
	if _, err := os.Stat(filepath.Join(s.Dir(), "appendonlydir")); err != nil {
		t.Fatal(err)
	}

	if got := digestOf(t, LoadRDB(t, path)); got != want {
		t.Errorf("reloaded RDB digest = %s, want %s", got, want)
	}
	if got := digestOf(t, LoadAOFDir(t, filepath.Join(s.Dir(), "appendonlydir"))); got != want {
		t.Errorf("reloaded AOF digest = %s, want %s", got, want)
	}

	r, err := s.Do("NOSUCHCOMMAND")
	var re *ReplyError
	if err == nil || r.Type != '-' {
		t.Errorf("unknown command: reply %+v, err %v; want an error reply", r, err)
	} else if !errors.As(err, &re) {
		t.Errorf("unknown command: err %T, want *ReplyError", err)
	}
}

func digestOf(t *testing.T, s *Server) string {
	t.Helper()
	d, err := s.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}
