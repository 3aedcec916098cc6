package keyspace

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// truthString returns a string key's bytes from a corpus truth.json.
func truthString(t *testing.T, path, key string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skip("corpus not present")
	}
	var tr struct {
		DBs map[string][]struct {
			Key   json.RawMessage `json:"key"`
			Value json.RawMessage `json:"value"`
		} `json:"dbs"`
	}
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatal(err)
	}
	for _, keys := range tr.DBs {
		for _, k := range keys {
			var name string
			if json.Unmarshal(k.Key, &name) != nil || name != key {
				continue
			}
			var sv string
			if json.Unmarshal(k.Value, &sv) == nil {
				return []byte(sv)
			}
			var bv struct {
				Base64 string `json:"base64"`
			}
			if err := json.Unmarshal(k.Value, &bv); err != nil {
				t.Fatal(err)
			}
			raw, err := base64.StdEncoding.DecodeString(bv.Base64)
			if err != nil {
				t.Fatal(err)
			}
			return raw
		}
	}
	t.Fatalf("%s: no key %q", path, key)
	return nil
}

// TestHLLMatchesRedis rebuilds the corpus HyperLogLogs with PFADD exactly as
// populate.py did and requires Redis' bytes: sparse opcodes, the promotion
// to dense and the invalidated cache flag.
func TestHLLMatchesRedis(t *testing.T) {
	s := New(0)
	sparse := [][]byte{[]byte("PFADD"), []byte("hll:sparse")}
	for i := range 30 {
		sparse = append(sparse, fmt.Appendf(nil, "e%d", i))
	}
	if err := s.Apply(sparse); err != nil {
		t.Fatal(err)
	}
	for j := 0; j < 5000; j += 500 {
		cmd := [][]byte{[]byte("PFADD"), []byte("HLL:dense")}
		for i := j; i < j+500; i++ {
			cmd = append(cmd, fmt.Appendf(nil, "el%d", i))
		}
		if err := s.Apply(cmd); err != nil {
			t.Fatal(err)
		}
	}
	for key, file := range map[string]string{"hll:sparse": "types-small", "HLL:dense": "types-large"} {
		want := truthString(t, filepath.Join(corpusDir, "7.4.1", file, "truth.json"), key)
		if got := s.DBs[0].Keys[key].Str; !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes %x..., want %d bytes %x...", key, len(got), got[:min(40, len(got))], len(want), want[:min(40, len(want))])
		}
	}
}

func TestHLLCount(t *testing.T) {
	s := New(0)
	mustApply(t, s, "PFADD h a b c d e", "PFCOUNT h")
	h := s.DBs[0].Keys["h"].Str
	if h[15]&0x80 != 0 || h[8] != 5 {
		t.Errorf("PFCOUNT must cache 5 with a valid flag, header %x", h[:16])
	}
	mustApply(t, s, "PFADD h a")
	if h := s.DBs[0].Keys["h"].Str; h[15]&0x80 != 0 {
		t.Errorf("PFADD without change must keep the cache valid")
	}
	mustApply(t, s, "PFADD h zz", "PFMERGE m h nokey", "PFDEBUG TODENSE m")
	m := s.DBs[0].Keys["m"].Str
	if len(m) != hllDenseSize || m[4] != hllDense {
		t.Errorf("TODENSE: %d bytes, encoding %d", len(m), m[4])
	}
	regs, _ := hllRegisterValues(s.DBs[0].Keys["h"].Str)
	regsM, _ := hllRegisterValues(m)
	if !bytes.Equal(regs, regsM) {
		t.Errorf("PFMERGE registers differ")
	}
}
