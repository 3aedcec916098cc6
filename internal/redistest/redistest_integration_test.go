//go:build integration

package redistest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

// TestGenFixtures runs scripts/gen-fixtures.sh and checks that the fixture it
// makes has exactly the digests recorded in the corpus for Debian's 7.0.15.
func TestGenFixtures(t *testing.T) {
	Require(t)
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Skip("redis-cli not found (apt-get install redis-tools)")
	}
	out, err := exec.Command(Binary(), "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), " v=7.0.") {
		t.Skipf("gen-fixtures.sh targets Redis 7.0; have %s", out)
	}
	dir := t.TempDir()
	cmd := exec.Command("bash", "../../scripts/gen-fixtures.sh", dir)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gen-fixtures.sh: %v\n%s", err, b)
	}
	got, err := os.ReadFile(filepath.Join(dir, "digest.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(corpus, "7.0.15-debian", "types-small", "digest.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("digest.txt differs from the corpus:\n got:\n%s\nwant:\n%s", got, want)
	}
	// The RDB must load and digest the same in a real server.
	if d := digestOf(t, LoadRDB(t, filepath.Join(dir, "dump.rdb"))); !strings.Contains(string(want), d) {
		t.Errorf("reloaded generated RDB: digest %s not in corpus digest.txt", d)
	}
}
