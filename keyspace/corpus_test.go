package keyspace

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const corpusDir = "../fixtures/corpus"

// corpusTruth is the part of truth.json the digest test needs.
type corpusTruth struct {
	Server struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"server"`
	DBs map[string][]struct {
		PTTL              *int64 `json:"pttl"`
		PExpireTime       *int64 `json:"pexpiretime"`
		PExpireTimeApprox *int64 `json:"pexpiretime_approx"`
	} `json:"dbs"`
}

func readTruth(t *testing.T, path string) *corpusTruth {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tr corpusTruth
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &tr
}

// loadNow is corpus_eval.py's load_now: when the oracle server loaded the
// file, from any key with a TTL (pexpiretime - pttl); 0 when unknown.
func (tr *corpusTruth) loadNow() int64 {
	for _, keys := range tr.DBs {
		for _, k := range keys {
			if k.PTTL == nil || *k.PTTL < 0 {
				continue
			}
			if k.PExpireTime != nil && *k.PExpireTime > 0 {
				return *k.PExpireTime - *k.PTTL
			}
			if k.PExpireTimeApprox != nil {
				return *k.PExpireTimeApprox - *k.PTTL
			}
		}
	}
	return 0
}

var versionRE = regexp.MustCompile(`^(\d+)\.(\d+)`)

// redisVersion is corpus_eval.py's redis_version: Valkey 8 follows 7.2 and
// 8.0-m01 reports 7.9.
func (tr *corpusTruth) redisVersion() string {
	if tr.Server.Name == "valkey" {
		return "7.2"
	}
	m := versionRE.FindStringSubmatch(tr.Server.Version)
	if m == nil {
		return ""
	}
	if v := m[1] + "." + m[2]; v != "7.9" {
		return v
	}
	return "8.0"
}

// oracleDigest is digest.txt: the DEBUG DIGEST line and per-key digests
// keyed by "db<N> <key>".
type oracleDigest struct {
	total string
	keys  map[string]string
}

func readDigest(t *testing.T, path string) *oracleDigest {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	od := &oracleDigest{keys: map[string]string{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "DEBUG DIGEST "); ok {
			od.total = strings.TrimSpace(rest)
			continue
		}
		sp1, sp2 := strings.IndexByte(line, ' '), strings.LastIndexByte(line, ' ')
		if !strings.HasPrefix(line, "db") || sp1 < 0 || sp2 <= sp1 {
			continue
		}
		key := line[sp1+1 : sp2]
		if b64, ok := strings.CutPrefix(key, "base64:"); ok {
			raw, err := base64.StdEncoding.DecodeString(b64)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			key = string(raw)
		}
		od.keys[line[:sp1]+" "+key] = line[sp2+1:]
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return od
}

// corpusCase is one RDB file with its oracle files.
type corpusCase struct {
	name, rdb, truth, digest string
}

func corpusCases(t *testing.T) []corpusCase {
	var cases []corpusCase
	err := filepath.WalkDir(corpusDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(corpusDir, path)
		if d.IsDir() {
			if d.Name() == "corrupt" {
				return filepath.SkipDir
			}
			return nil
		}
		name := d.Name()
		dir := filepath.Dir(path)
		switch {
		case name == "dump-after-load.rdb":
			// SAVE right after the server loaded the AOF next to it: same
			// keyspace as that AOF's truth.json and digest.txt.
			dg := filepath.Join(dir, "digest.txt")
			if _, err := os.Stat(dg); err == nil {
				cases = append(cases, corpusCase{rel, path, filepath.Join(dir, "truth.json"), dg})
			}
		case strings.HasPrefix(name, "dump") && strings.HasSuffix(name, ".rdb") && name != "dump-after-load.rdb":
			suffix := strings.TrimSuffix(strings.TrimPrefix(name, "dump"), ".rdb")
			dg := filepath.Join(dir, "digest"+suffix+".txt")
			if _, err := os.Stat(dg); err == nil {
				cases = append(cases, corpusCase{rel, path, filepath.Join(dir, "truth.json"), dg})
			}
		case strings.HasSuffix(name, ".rdb"):
			// Redis' own test assets, with verdicts in oracle-<ver>/<file>/.
			od, _ := filepath.Glob(filepath.Join(dir, "oracle-*", name))
			if len(od) > 0 {
				dg := filepath.Join(od[0], "digest.txt")
				if _, err := os.Stat(dg); err == nil {
					cases = append(cases, corpusCase{rel, path, filepath.Join(od[0], "truth.json"), dg})
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return cases
}

// TestCorpusDigest loads every RDB file written by a real server and checks
// DEBUG DIGEST and every key's DIGEST-VALUE against what that server said.
func TestCorpusDigest(t *testing.T) {
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skip("corpus not present")
	}
	cases := corpusCases(t)
	if len(cases) == 0 {
		t.Fatal("no corpus files found")
	}
	passed := 0
	for _, c := range cases {
		ok := t.Run(c.name, func(t *testing.T) {
			tr := readTruth(t, c.truth)
			want := readDigest(t, c.digest)
			opt := DigestOptions{RedisVersion: tr.redisVersion()}
			f, err := os.Open(c.rdb)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			s := New(tr.loadNow())
			if err := LoadRDB(context.Background(), bufio.NewReader(f), s, &LoadOptions{DropExpired: true}); err != nil {
				t.Fatalf("load: %v", err)
			}
			got := s.Digest(opt)
			if hex.EncodeToString(got[:]) != want.total {
				t.Errorf("DEBUG DIGEST = %x, want %s", got, want.total)
			}
			seen := map[string]bool{}
			_ = s.Each(func(db int, key []byte, o *Object) error {
				id := fmt.Sprintf("db%d %s", db, key)
				seen[id] = true
				w, ok := want.keys[id]
				if !ok {
					t.Errorf("%q: extra key (kind %v)", id, o.Kind)
					return nil
				}
				if d := DigestValue(key, o, opt); hex.EncodeToString(d[:]) != w {
					t.Errorf("%q (%v, %v): DIGEST-VALUE %x, want %s", id, o.Kind, o.Encoding, d, w)
				}
				return nil
			})
			for id := range want.keys {
				if !seen[id] {
					t.Errorf("%q: missing key", id)
				}
			}
		})
		if ok {
			passed++
		}
	}
	t.Logf("corpus digest: %d/%d files pass", passed, len(cases))
}

func benchFile(b *testing.B) []byte {
	data, err := os.ReadFile(filepath.Join(corpusDir, "7.4.1", "types-large", "dump.rdb"))
	if err != nil {
		b.Skip("corpus not present")
	}
	return data
}

func BenchmarkLoadRDB(b *testing.B) {
	data := benchFile(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := LoadRDB(context.Background(), bytes.NewReader(data), New(0), nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDigest(b *testing.B) {
	data := benchFile(b)
	s := New(0)
	if err := LoadRDB(context.Background(), bytes.NewReader(data), s, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		s.Digest(DigestOptions{})
	}
}
